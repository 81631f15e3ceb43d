"""Kanban boards: a list's records as cards in a column per value of a choice field (per state
of a status field, in the states' order), with the list's quick search; dragging a card to
another column sets the record's value (a status only along its allowed transitions: the
service refuses any other move, and the toast says which states are allowed)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from cardfile.core.exceptions import CardfileError, NotFound, PermissionDenied
from cardfile.metamodel.access import Access, access_for
from cardfile.metamodel.models import Field
from cardfile.metamodel.records import record_update
from cardfile.metamodel.records.exceptions import RecordConflict, RecordValidationError
from cardfile.metamodel.records.filtering import record_list
from cardfile.metamodel.schema.dynamic import EntitySchema, SchemaRegistry
from cardfile.web.ui.display import Badge, Titles, choice_badge, choices_of, screen_entity

from .cells import Row, build_rows, link_columns
from .common import choice_fields, open_view, read_denied, wants_part
from .filters import query_records
from .state import ListState, read_state

KANBAN_LIMIT = 500
# How many of the list's columns a card shows under its title.
CARD_FIELDS = 3


def _choice_field(schema: EntitySchema, slug: str, access: Access) -> Field:
    f = schema.by_slug.get(slug)
    if f is None or f.type not in ("choice", "status") or f.pk in access.hidden(schema):
        raise Http404(
            _("%(entity)s has no choice field %(field)s.") % {"entity": schema.slug, "field": slug}
        )
    return f


def _card_fields(
    registry: SchemaRegistry, schema: EntitySchema, state: ListState, choice: Field, access: Access
) -> tuple[Field | None, list[Field]]:
    """The title field (None when there is none the user may read) and the fields a card
    shows: the title first, then the first of the list's columns but the board's own field."""
    title = Titles(registry, access).title_field(schema)
    shown = [f for f in state.columns if f.pk not in (choice.pk, getattr(title, "pk", None))]
    return title, ([title] if title is not None else []) + shown[:CARD_FIELDS]


@dataclass
class KanbanColumn:
    """A column of the board: one choice value ("" for records with none) and its cards."""

    value: str
    badge: Badge
    cards: list[Row] = field(default_factory=list)


@login_required
@require_GET
def record_kanban(request: HttpRequest, entity: str, field_slug: str) -> HttpResponse:
    """The board page, or only the board for an htmx request aimed at it (quick search)."""
    registry, schema = screen_entity(entity)
    access = access_for(request.user)
    if not access.can("read", schema):
        return read_denied(request, schema)
    choice = _choice_field(schema, field_slug, access)
    state = read_state(request.GET, schema, access, open_view(request, schema))
    title, fields = _card_fields(registry, schema, state, choice, access)
    # the list's own state (its columns too) goes with the board's links and its moves
    state_items = [(k, v) for k, v in state.items(page=1) if k != "search"]
    state_query = state.query(page=1)
    state.columns = fields
    found = query_records(schema, state, access, request.user)
    queryset, errors = found.queryset, found.errors
    objs = list(queryset[: KANBAN_LIMIT + 1]) if queryset is not None else []
    rows = build_rows(registry, schema, objs[:KANBAN_LIMIT], fields, access)
    columns = [KanbanColumn(value, choice_badge(c)) for value, c in choices_of(choice).items()]
    by_value = {column.value: column for column in columns}
    blank = KanbanColumn("", Badge(_("No value")))
    for row in rows:
        by_value.get(getattr(row.obj, choice.attname) or "", blank).cards.append(row)
    if blank.cards or not (choice.required or choice.type == "status"):
        columns.insert(0, blank)
    can_move = access.can("update", schema) and choice.pk not in access.entity(schema).read_only
    context: dict[str, Any] = {
        "schema": schema,
        "entity_slug": schema.slug,  # the menu marks the entity shown
        "state": state,
        "choice": choice,
        "columns": columns,
        "has_title": title is not None,
        "errors": errors,
        "truncated": len(objs) > KANBAN_LIMIT,
        "limit": KANBAN_LIMIT,
        "can_move": can_move,
        "move_url": reverse("ui:record_kanban_move", args=[entity, choice.slug]),
        "board_url": reverse("ui:record_kanban", args=[entity, choice.slug]),
        "state_items": state_items,
        "list_url": reverse("ui:record_list", args=[entity]) + state_query,
        "state_query": state_query,
        "move_state": urlencode(state_items),
        "new_url": reverse("ui:record_new", args=[entity]),
        "can_create": access.can("create", schema),
        "kanban_fields": choice_fields(schema, access),
    }
    if wants_part(request, "kanban-board"):
        response = render(request, "ui/kanban_board.html", {**context, "oob": True})
    else:
        response = render(request, "ui/kanban.html", context)
    patch_vary_headers(response, ["HX-Request", "HX-Target"])
    return response


def _toast(response: HttpResponse, text: str, level: str) -> HttpResponse:
    response["HX-Trigger"] = json.dumps({"cf:toast": {"text": text, "level": level}})
    return response


@login_required
@require_POST
def record_kanban_move(request: HttpRequest, entity: str, field_slug: str) -> HttpResponse:
    """Move a card: set the choice field of one record to ``value`` based on its ``version``.
    Answers the card (200) or a refusal with its status and a toast saying why."""
    registry, schema = screen_entity(entity)
    access = access_for(request.user)
    if not access.can("read", schema):
        raise Http404(_("There is no entity %(entity)s.") % {"entity": entity})
    choice = _choice_field(schema, field_slug, access)
    raw_id = (request.POST.get("record") or "").strip()
    if not raw_id.isdigit() or int(raw_id) > 2**63 - 1:
        return _toast(HttpResponse(status=400), _("Which record to move is missing."), "danger")
    value = request.POST.get("value") or None
    try:
        record_update(
            entity=entity,
            record_id=int(raw_id),
            data={choice.slug: value},
            version=request.POST.get("version"),
            user=request.user,
        )
    except RecordConflict as error:
        return _toast(HttpResponse(status=409), error.message, "warning")
    except RecordValidationError as error:
        messages = [m for ms in error.errors.values() for m in ms]
        return _toast(HttpResponse(status=400), " ".join(messages), "danger")
    except PermissionDenied as error:
        return _toast(HttpResponse(status=403), error.message, "danger")
    except NotFound as error:
        return _toast(HttpResponse(status=404), error.message, "danger")
    except CardfileError as error:
        return _toast(HttpResponse(status=400), error.message, "danger")
    state = read_state(request.POST, schema, access, None)
    title, fields = _card_fields(registry, schema, state, choice, access)
    queryset = record_list(
        entity, {}, expand=link_columns(registry, schema, fields, access), user=request.user
    ).filter(pk=int(raw_id))
    rows = build_rows(registry, schema, list(queryset), fields, access)
    label = choices_of(choice).get(value or "", {}).get("label") or value or _("No value")
    text = _("Moved to %(value)s.") % {"value": label}
    if not rows:  # the change took the record out of what the user may read
        return _toast(HttpResponse(status=204), text, "success")
    context = {"row": rows[0], "has_title": title is not None, "can_move": True}
    return _toast(render(request, "ui/kanban_card.html", context), text, "success")
