"""The card layout editor: fields dragged between the columns of sections of tabs, each with an
optional ``visible_if`` condition; saved through `card_layout_set`, reset to the default, and a
read-only preview of the card as a role sees it."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cardfile.core.exceptions import CardfileError
from cardfile.metamodel.access import access_for
from cardfile.metamodel.access.definitions import require_configure
from cardfile.metamodel.access.rights import HIDDEN, READ_ONLY
from cardfile.metamodel.access.services import role_get, role_list
from cardfile.metamodel.layouts import card_layout_get, card_layout_reset, card_layout_set
from cardfile.metamodel.schema.dynamic import EntitySchema, get_registry

from .common import FormErrors, config_view, form_errors, render_form
from .formula import sample_records

COLUMN_CHOICES = (1, 2, 3)


def _item_errors(errors: FormErrors, key: str) -> list[str]:
    return [m for k, found in errors.items() if k == key or k.startswith(key + ".") for m in found]


def layout_view_model(
    schema: EntitySchema,
    layout: dict[str, Any],
    errors: FormErrors,
    rules: dict[int, str] | None = None,
) -> list[dict[str, Any]]:
    """``layout`` with field rows, errors by place and (for a preview) each field's rule;
    fields unknown to the schema are left out."""
    fields = {f.pk: f for f in schema.fields}
    rules = rules or {}
    tabs = []
    for t, tab in enumerate(layout.get("tabs") or []):
        sections = []
        for s, section in enumerate(tab.get("sections") or []):
            columns = []
            for c, column in enumerate(section.get("columns") or []):
                items = []
                for i, item in enumerate(column):
                    f = fields.get(item.get("field")) if isinstance(item, dict) else None
                    if f is None:
                        continue
                    key = f"tabs[{t}].sections[{s}].columns[{c}][{i}]"
                    items.append(
                        {
                            "field": f,
                            "visible_if": item.get("visible_if") or "",
                            "errors": _item_errors(errors, key),
                            "rule": rules.get(f.pk),
                        }
                    )
                columns.append(items)
            sections.append(
                {
                    "label": section.get("label") or "",
                    "columns": columns,
                    "errors": _item_errors(errors, f"tabs[{t}].sections[{s}].label")
                    + [
                        m
                        for k, v in errors.items()
                        if k == f"tabs[{t}].sections[{s}].columns"
                        for m in v
                    ],
                }
            )
        tabs.append(
            {
                "label": tab.get("label") or "",
                "sections": sections,
                "errors": _item_errors(errors, f"tabs[{t}].label"),
            }
        )
    return tabs


def _context(request: HttpRequest, schema: EntitySchema, layout: dict[str, Any], errors):
    return {
        "schema": schema,
        "entity": schema.entity,
        "tabs": layout_view_model(schema, layout, errors),
        "column_choices": COLUMN_CHOICES,
        "records": sample_records(request.user, schema),
        "top_errors": [
            m for k, found in errors.items() if k in ("tabs", "non_field_errors") for m in found
        ],
        "is_owner": access_for(request.user).is_owner,
    }


@config_view
def layout_editor(request: HttpRequest, entity: str) -> HttpResponse:
    require_configure(request.user, entity)
    schema = get_registry().entity(entity)
    if request.method != "POST":
        context = _context(request, schema, card_layout_get(schema), FormErrors())
        return render_form(request, "ui/config/layout.html", context)
    try:
        posted = json.loads(request.POST.get("layout", ""))
    except ValueError:
        posted = None
    try:
        card_layout_set(entity=entity, layout=posted, user=request.user)
    except CardfileError as error:
        shown = posted if isinstance(posted, dict) else card_layout_get(schema)
        context = _context(request, schema, shown, FormErrors(*form_errors(error)))
        return render_form(request, "ui/config/layout.html", context, error=error)
    messages.success(request, _("Card layout of %(label)s saved.") % {"label": schema.entity})
    return redirect("ui:config-layout", entity=entity)


@require_POST
@config_view
def layout_reset(request: HttpRequest, entity: str) -> HttpResponse:
    card_layout_reset(entity=entity, user=request.user)
    messages.success(
        request,
        _("The card of %(label)s is back to the default.")
        % {"label": get_registry().entity(entity).entity},
    )
    return redirect("ui:config-layout", entity=entity)


@config_view
def layout_preview(request: HttpRequest, entity: str) -> HttpResponse:
    """The card as a role sees it: hidden fields left out, read-only ones marked. Owners pick
    any role; others see it with their own rights only, the page says why: roles and their
    field rules are for owners to see (the API's roles are owner-only), and another role may
    see fields hidden from the configurer."""
    access = require_configure(request.user, entity)
    schema = get_registry().entity(entity)
    roles = role_list() if access.is_owner else []
    chosen = request.GET.get("role", "")
    rules: dict[int, str] = {}
    role = None
    if access.is_owner and chosen:
        role = role_get(chosen)
        if not role.is_owner:
            rights = next((r for r in role.rights.all() if r.entity_id == schema.entity.pk), None)
            # a role without rights on the entity sees nothing of it
            rules = (
                {int(k): v for k, v in rights.fields.items() if k.isdigit()}
                if rights is not None and rights.can_read
                else {f.pk: HIDDEN for f in schema.fields}
            )
    elif not access.is_owner:
        own = access.entity(schema)
        rules = {pk: HIDDEN for pk in own.hidden} | {pk: READ_ONLY for pk in own.read_only}
    context = {
        "schema": schema,
        "entity": schema.entity,
        "tabs": layout_view_model(schema, card_layout_get(schema), FormErrors(), rules),
        "roles": roles,
        "is_owner": access.is_owner,
        "role": role,
        "chosen": chosen,
        "HIDDEN": HIDDEN,
        "READ_ONLY": READ_ONLY,
    }
    return render_form(request, "ui/config/layout_preview.html", context)


urlpatterns = [
    path("entities/<slug:entity>/layout/", layout_editor, name="config-layout"),
    path("entities/<slug:entity>/layout/reset/", layout_reset, name="config-layout-reset"),
    path(
        "entities/<slug:entity>/layout/preview/",
        layout_preview,
        name="config-layout-preview",
    ),
]
