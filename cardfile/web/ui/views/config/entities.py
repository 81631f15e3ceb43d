"""The configurator's start page and the entities: create, edit, reorder, delete (to the trash)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cardfile.core.exceptions import CardfileError
from cardfile.metamodel.access import access_for
from cardfile.metamodel.access.definitions import (
    refuse_hidden_rules,
    require_configure,
    require_owner,
)
from cardfile.metamodel.fields import get_field_type
from cardfile.metamodel.schema.dynamic import get_registry
from cardfile.metamodel.schema.services import (
    TITLE_TYPES,
    entity_create,
    entity_delete,
    entity_get,
    entity_update,
)

from .common import config_view, configurable, json_list, render_form, toast
from .formula import formula_names

ENTITY_INPUTS = {"slug", "label", "label_plural", "description", "nav_group", "title_field"}


@config_view
def index(request: HttpRequest) -> HttpResponse:
    access = access_for(request.user)
    return render(
        request,
        "ui/config/index.html",
        {"entities": configurable(access), "is_owner": access.is_owner},
    )


def _entity_data(request: HttpRequest, *, creating: bool) -> dict[str, Any]:
    data = {
        key: request.POST.get(key, "").strip()
        for key in ("slug", "label", "label_plural", "description", "nav_group")
    }
    if not creating:
        data["title_field"] = request.POST.get("title_field") or None
    return data


@config_view
def entity_new(request: HttpRequest) -> HttpResponse:
    require_owner(request.user, _("Only owners can create entities."))
    context: dict[str, Any] = {"creating": True, "values": {}}
    if request.method != "POST":
        return render_form(request, "ui/config/entity_form.html", context)
    data = _entity_data(request, creating=True)
    try:
        entity = entity_create(**data, user=request.user)
    except CardfileError as error:
        return render_form(
            request, "ui/config/entity_form.html", {**context, "values": data}, error=error
        )
    messages.success(request, _("Entity %(label)s created.") % {"label": entity.label})
    return redirect("ui:config-entity", entity=entity.slug)


def _validation_rules(request: HttpRequest) -> list[dict[str, Any]]:
    rules = []
    conditions = request.POST.getlist("rule_condition")
    texts = request.POST.getlist("rule_message")
    fields = request.POST.getlist("rule_field")
    for condition, message, field in zip(conditions, texts, fields, strict=False):
        if condition.strip() or message.strip():
            rules.append({"condition": condition, "message": message, "field": field or None})
    return rules


def _entity_context(request: HttpRequest, slug: str) -> dict[str, Any]:
    schema = get_registry().entity(slug)
    entity = entity_get(slug)
    return {
        "schema": schema,
        "entity": entity,
        "title_choices": [f for f in schema.fields if f.type in TITLE_TYPES],
        "fields": schema.fields,
        "field_rows": [(f, get_field_type(f.type).label) for f in schema.fields],
        "formula_names": formula_names(request.user, schema),
        "is_owner": access_for(request.user).is_owner,
    }


@config_view
def entity_detail(request: HttpRequest, entity: str) -> HttpResponse:
    """The entity's settings, its validation rules and its fields."""
    access = require_configure(request.user, entity)
    context = _entity_context(request, entity)
    obj = context["entity"]
    values = {
        "slug": obj.slug,
        "label": obj.label,
        "label_plural": obj.label_plural,
        "description": obj.description,
        "nav_group": obj.nav_group,
        "title_field": obj.title_field.slug if obj.title_field_id else "",
    }
    rules = list(obj.validation_rules or [])
    if request.method != "POST":
        return render_form(
            request, "ui/config/entity.html", {**context, "values": values, "rules": rules}
        )
    data = _entity_data(request, creating=False)
    data["validation_rules"] = _validation_rules(request)
    try:
        refuse_hidden_rules(access, entity, data["validation_rules"])
        updated = entity_update(entity=entity, user=request.user, **data)
    except CardfileError as error:
        return render_form(
            request,
            "ui/config/entity.html",
            {**context, "values": data, "rules": data["validation_rules"]},
            error=error,
        )
    messages.success(request, _("Entity %(label)s saved.") % {"label": updated.label})
    return redirect("ui:config-entity", entity=updated.slug)


@config_view
def entity_remove(request: HttpRequest, entity: str) -> HttpResponse:
    """Confirm, then move the entity (with its records) to the trash."""
    require_configure(request.user, entity)
    obj = entity_get(entity)
    if request.method != "POST":
        return render_form(request, "ui/config/entity_delete.html", {"entity": obj})
    try:
        entity_delete(entity=entity, user=request.user)
    except CardfileError as error:
        return render_form(request, "ui/config/entity_delete.html", {"entity": obj}, error=error)
    messages.success(request, _("%(label)s moved to the trash.") % {"label": obj.label})
    return redirect("ui:config")


@require_POST
@config_view
def entity_reorder(request: HttpRequest) -> HttpResponse:
    """``order``: the entity slugs in their new order (JSON); each moved one gets its place."""
    require_owner(request.user, _("Only owners can reorder entities."))
    schemas = {s.slug: s for s in get_registry().entities()}
    slugs = [s for s in json_list(request.POST.get("order", "")) if s in schemas]
    for position, slug in enumerate(slugs, start=1):
        if schemas[slug].entity.position != position:
            entity_update(entity=slug, position=position, user=request.user)
    return HttpResponse(status=204, headers=toast(_("Order saved.")))


urlpatterns = [
    path("", index, name="config"),
    path("entities/new/", entity_new, name="config-entity-new"),
    path("entities/reorder/", entity_reorder, name="config-entity-reorder"),
    path("entities/<slug:entity>/", entity_detail, name="config-entity"),
    path("entities/<slug:entity>/delete/", entity_remove, name="config-entity-delete"),
]
