"""What every configurator view shares: who may enter, errors as forms show them, rendering."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied as Forbidden
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from cardfile.core.exceptions import CardfileError, InvalidInput
from cardfile.formula_engine import FormulaError
from cardfile.metamodel.access import access_for
from cardfile.metamodel.access.definitions import FormulaProblem
from cardfile.metamodel.access.rights import Access
from cardfile.metamodel.fields.base import FieldOptionsError, FieldValueError
from cardfile.metamodel.schema.dynamic import EntitySchema, get_registry
from cardfile.web.ui.views.common import ui_view

NON_FIELD = "non_field_errors"


def configurable(access: Access) -> list[EntitySchema]:
    """The entities ``access`` may configure, in menu order."""
    return [s for s in get_registry().entities() if access.can_configure(s)]


def config_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed in, with some configure right (else 403); our errors become 403 and 404."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        access = access_for(request.user)
        if not access.can_configure() and not configurable(access):
            raise Forbidden(_("Your roles do not allow you to configure anything."))
        return view(request, *args, **kwargs)

    return ui_view(wrapped)


def owner_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Owners only: roles, users, branches, the audit log, creating entities."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not access_for(request.user).is_owner:
            raise Forbidden(_("Only owners may do this."))
        return view(request, *args, **kwargs)

    return config_view(wrapped)


def form_errors(error: CardfileError) -> tuple[dict[str, list[str]], dict[str, Any] | None]:
    """``(errors by key, formula position or None)`` as the API answers them."""
    if isinstance(error, FormulaProblem):
        return {error.key: [error.error.message]}, error.error.as_dict()
    if isinstance(error, FormulaError):
        return {NON_FIELD: [error.message]}, error.as_dict()
    errors = getattr(error, "errors", None) or error.details.get("errors")
    formula = getattr(error, "formula", None)
    if isinstance(error, InvalidInput | FieldValueError | FieldOptionsError) and errors:
        return dict(errors), formula
    return {NON_FIELD: [error.message]}, formula


class FormErrors(dict):
    """Errors by key; ``of(key)`` and ``under(prefix)`` for the templates, the rest unmatched."""

    def __init__(self, errors: dict[str, list[str]] | None = None, formula: Any = None) -> None:
        super().__init__(errors or {})
        self.formula = formula

    def other(self, known: set[str]) -> list[str]:
        """Messages under keys no input shows, so none is lost."""
        return [
            f"{key}: {message}" if key != NON_FIELD else message
            for key, messages in self.items()
            if key not in known
            for message in messages
        ]


def render_form(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    *,
    error: CardfileError | None = None,
) -> HttpResponse:
    """The page; with ``error`` its form again with the errors, answered 400."""
    if error is None:
        return render(request, template, {"errors": FormErrors(), **context})
    errors, formula = form_errors(error)
    return render(request, template, {"errors": FormErrors(errors, formula), **context}, status=400)


def checkbox(request: HttpRequest, name: str) -> bool:
    return request.POST.get(name) in ("on", "true", "1")


def json_list(raw: str) -> list[Any]:
    try:
        value = json.loads(raw or "[]")
    except ValueError:
        return []
    return value if isinstance(value, list) else []


def toast(text: str) -> dict[str, str]:
    """Headers that make htmx show ``text`` as a success toast (see ``ui/app.js``)."""
    return {"HX-Trigger": json.dumps({"cf:toast": {"text": text, "level": "success"}})}
