"""Link fields on a card: the records to pick from as the user types, and the answer of a
quick create (a new record made in a modal for the link field it was opened from)."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from cardfile.core.exceptions import NotFound, PermissionDenied
from cardfile.metamodel.access import access_for
from cardfile.metamodel.records.filtering import ListParamsError, record_list
from cardfile.metamodel.schema.dynamic import EntitySchema, get_registry
from cardfile.web.ui.display import Titles

from .common import card_view

LINK_OPTIONS = 10


@require_GET
@card_view
def link_options(request: HttpRequest, entity: str, field_slug: str) -> HttpResponse:
    """Records of a link field's target matching what the user typed (top ten)."""
    registry = get_registry()
    schema = registry.entity(entity)
    access = access_for(request.user)
    if not access.can("read", schema):
        raise PermissionDenied(
            _("Your roles do not allow you to read %(entity)s records.") % {"entity": entity}
        )
    f = schema.by_slug.get(field_slug)
    if f is None or f.type not in ("link", "multi_link") or f.pk in access.hidden(schema):
        raise NotFound(_("There is no such link field."))
    target = registry.entity_by_id(f.options["target_id"])
    name = request.GET.get("name", field_slug)[:200]
    query = (
        request.GET.get("q")
        or request.GET.get(f"{name}__label")
        or request.GET.get(f"{name}__search")
        or ""
    ).strip()[:200]
    options: list[dict[str, Any]] = []
    if access.can("read", target):
        params = {"search": query} if query else {}
        try:
            rows = list(record_list(target.slug, params, user=request.user)[:LINK_OPTIONS])
        except ListParamsError:
            rows = []
        titles = Titles(registry, access)
        options = [{"id": obj.pk, "label": titles.title(target, obj)} for obj in rows]
    return render(
        request,
        "ui/_card_link_options.html",
        {
            "options": options,
            "field": f,
            "name": name,
            "multiple": f.type == "multi_link",
            "query": query,
        },
    )


def quick_created(titles: Titles, schema: EntitySchema, obj: Any, link_for: str) -> HttpResponse:
    """The modal's answer: an event carrying the new record for the link field ``link_for``
    (card.js fills that field and closes the modal)."""
    response = HttpResponse(status=204)
    response["HX-Trigger"] = json.dumps(
        {"cf:quick-created": {"id": obj.pk, "label": titles.title(schema, obj), "for": link_for}}
    )
    return response
