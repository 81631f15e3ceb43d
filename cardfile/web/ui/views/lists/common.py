"""What every list screen starts from: the entity behind the URL, the 403 page, the card URLs
and the saved view the query opens."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from cardfile.core.exceptions import NotFound
from cardfile.metamodel.access import Access
from cardfile.metamodel.models import Field, SavedView
from cardfile.metamodel.saved_views import saved_view_get
from cardfile.metamodel.schema.dynamic import EntitySchema, SchemaRegistry, get_registry


def entity_or_404(slug: str) -> tuple[SchemaRegistry, EntitySchema]:
    """The entity of a list screen; unknown ones and line entities (their records live in
    their parent's card) are 404."""
    registry = get_registry()
    try:
        schema = registry.entity(slug)
    except NotFound:
        raise Http404(_("There is no entity %(entity)s.") % {"entity": slug}) from None
    if schema.parent_field is not None:
        raise Http404(_("There is no entity %(entity)s.") % {"entity": slug})
    return registry, schema


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


def card_urls(entity: str) -> tuple[str, str]:
    """The prefix of a record card's URL (``<prefix><id>/``) and the new-record URL: the card
    screens' own names when they are there, else their agreed paths under the list's."""
    base = reverse("ui:record_list", args=[entity])
    try:
        card = reverse("ui:record_card", args=[entity, 0])[: -len("0/")]
    except NoReverseMatch:
        card = base
    try:
        new = reverse("ui:record_new", args=[entity])
    except NoReverseMatch:
        new = base + "new/"
    return card, new


def choice_fields(schema: EntitySchema, access: Access) -> list[Field]:
    """The choice fields the user may read: one kanban board each."""
    hidden = access.hidden(schema)
    return [f for f in schema.fields if f.type == "choice" and f.pk not in hidden]


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
