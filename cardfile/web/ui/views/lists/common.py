"""What every list screen starts from: the 403 page, the board fields, the saved view the query
opens and whether htmx asks for a part of the page (the entity behind the URL is
`cardfile.web.ui.display.screen_entity`)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from cardfile.core.exceptions import NotFound
from cardfile.metamodel.access import Access
from cardfile.metamodel.models import Field, SavedView
from cardfile.metamodel.saved_views import saved_view_get
from cardfile.metamodel.schema.dynamic import EntitySchema


def denied(request: HttpRequest, schema: EntitySchema, message: str) -> HttpResponse:
    """The 403 page of a list screen, saying why."""
    return render(
        request, "ui/list_denied.html", {"schema": schema, "message": message}, status=403
    )


def read_denied(request: HttpRequest, schema: EntitySchema) -> HttpResponse:
    """The 403 page for a user who may not read ``schema``'s records at all."""
    return denied(
        request,
        schema,
        _("Your roles do not allow you to read %(entity)s records.")
        % {"entity": schema.entity.label},
    )


def choice_fields(schema: EntitySchema, access: Access) -> list[Field]:
    """The choice and status fields the user may read: one kanban board each."""
    hidden = access.hidden(schema)
    return [f for f in schema.fields if f.type in ("choice", "status") and f.pk not in hidden]


def open_view(request: HttpRequest, schema: EntitySchema) -> SavedView | None:
    """The saved view ``?view=<id>`` names, if the user may open it (else 404)."""
    raw = (request.GET.get("view") or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) > 2**63 - 1:
        raise Http404(_("There is no such saved view."))
    try:
        return saved_view_get(schema.slug, int(raw), request.user)
    except NotFound as error:
        raise Http404(error.message) from None


def wants_part(request: HttpRequest, element_id: str) -> bool:
    """Whether this is an htmx request for the element ``element_id`` alone (not a history
    restore, which needs the whole page)."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request and htmx.target == element_id
