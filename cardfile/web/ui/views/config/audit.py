"""The audit log (newest first, by object type, paginated), for owners, and the schema's trash.

The trash follows the API: owners see, restore and purge everything; a role that configures an
entity sees, restores and purges that (live) entity's trashed fields only."""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cardfile.core.exceptions import CardfileError
from cardfile.core.models import AuditLog
from cardfile.metamodel.access import access_for
from cardfile.metamodel.access.definitions import require_configure_trashed, require_owner
from cardfile.metamodel.schema.selectors import trash_entities, trash_fields
from cardfile.metamodel.schema.services import (
    entity_purge,
    entity_restore,
    field_purge,
    field_restore,
)

from .common import config_view, configurable, form_errors, owner_view

AUDIT_PAGE_SIZE = 50


@owner_view
def audit_log(request: HttpRequest) -> HttpResponse:
    kinds = list(
        AuditLog.objects.order_by("object_type").values_list("object_type", flat=True).distinct()
    )
    entries = AuditLog.objects.select_related("user").order_by("-at", "-id")
    kind = request.GET.get("type", "")
    if kind:
        entries = entries.filter(object_type=kind)
    page = Paginator(entries, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    for entry in page.object_list:
        entry.before_text = _pretty(entry.before)
        entry.after_text = _pretty(entry.after)
    return render(
        request,
        "ui/config/audit.html",
        {"page": page, "kinds": kinds, "kind": kind, "section": "audit"},
    )


def _pretty(value: object) -> str:
    if value in (None, {}):
        return ""
    return json.dumps(value, ensure_ascii=False, indent=1, sort_keys=True, default=str)


@config_view
def trash(request: HttpRequest) -> HttpResponse:
    access = access_for(request.user)
    if access.is_owner:
        entities, fields = trash_entities(), trash_fields()
    else:
        # the same rule as `require_configure_trashed`: the field's entity is live and theirs
        entities = trash_entities().none()
        fields = trash_fields().filter(
            entity_id__in=[s.entity.pk for s in configurable(access)],
            entity__deleted_at__isnull=True,
        )
    return render(
        request,
        "ui/config/trash.html",
        {"entities": entities, "fields": fields, "all": access.is_owner, "section": "trash"},
    )


@require_POST
@config_view
def trash_action(request: HttpRequest, kind: str, object_id: int, action: str) -> HttpResponse:
    """Restore (under ``slug`` if given) or purge a trashed entity or field."""
    if kind not in ("entity", "field") or action not in ("restore", "purge"):
        raise Http404
    slug = request.POST.get("slug", "").strip() or None
    # who may is checked first: a refusal is a 403, not a message on the page
    if kind == "entity":
        require_owner(request.user, _("Only owners can restore or purge entities."))
    else:
        require_configure_trashed(request.user, object_id)
    try:
        if kind == "entity" and action == "restore":
            entity_restore(entity_id=object_id, slug=slug, user=request.user)
        elif kind == "entity":
            entity_purge(entity_id=object_id, user=request.user)
        elif action == "restore":
            field_restore(field_id=object_id, slug=slug, user=request.user)
        else:
            field_purge(field_id=object_id, user=request.user)
    except CardfileError as error:
        errors, _formula = form_errors(error)
        messages.error(request, " ".join(m for found in errors.values() for m in found))
    else:
        messages.success(request, _("Restored.") if action == "restore" else _("Purged."))
    return redirect("ui:config-trash")


urlpatterns = [
    path("audit/", audit_log, name="config-audit"),
    path("trash/", trash, name="config-trash"),
    path(
        "trash/<str:kind>/<int:object_id>/<str:action>/",
        trash_action,
        name="config-trash-action",
    ),
]
