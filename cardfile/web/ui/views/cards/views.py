"""The card's pages and actions: create, edit (with the conflict panel on a stale version),
a status's move by its button, the live draft (computed values and ``visible_if`` while
typing), delete, trash and restore."""

from __future__ import annotations

import functools
import json
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from cardfile.core.exceptions import CardfileError, NotFound, PermissionDenied
from cardfile.metamodel.access import Access, access_for
from cardfile.metamodel.fields import get_field_type
from cardfile.metamodel.fields.computed import COMPUTED_TYPES
from cardfile.metamodel.formulas.draft import DraftRow, draft_open, runtime_to_internal
from cardfile.metamodel.layouts import card_layout_get
from cardfile.metamodel.models import Field
from cardfile.metamodel.records import (
    RecordConflict,
    RecordProtected,
    RecordValidationError,
    record_create,
    record_delete,
    record_restore,
    record_update,
)
from cardfile.metamodel.records.filtering import record_detail, record_list
from cardfile.metamodel.schema.dynamic import EntitySchema, SchemaRegistry
from cardfile.web.ui.display import Titles, screen_entity
from cardfile.web.ui.forms import FormState, data_from_form, form_from_post

from .build import (
    Card,
    CardBuilder,
    card_visibility,
    draft_of,
    new_defaults,
    new_state,
    stored_state,
)
from .common import card_view, redirect
from .conflict import conflict_rows
from .links import quick_created
from .transitions import card_transitions


def _render_card(request: HttpRequest, card: Card, status: int = 200) -> HttpResponse:
    context = {"card": card, "entity_slug": card.schema.slug}
    if card.obj is not None and card.editable and not card.modal:
        context["transitions"] = card_transitions(card.schema, card.obj, request.user)
    if request.htmx and not request.htmx.boosted and request.method == "POST":
        return render(request, "ui/_card_form.html", context, status=status)
    template = "ui/card_modal.html" if card.modal else "ui/card.html"
    return render(request, template, context, status=status)


@card_view
def record_new(request: HttpRequest, entity: str) -> HttpResponse:
    registry, schema = screen_entity(entity)
    modal = request.GET.get("modal") == "1" or request.POST.get("modal") == "1"
    link_for = (request.GET.get("for") or request.POST.get("for") or "")[:200]
    if request.method != "POST":
        if not access_for(request.user).can("create", schema):
            raise PermissionDenied(
                _("Your roles do not allow you to create %(entity)s records.")
                % {"entity": schema.slug}
            )
        draft = functools.partial(draft_of, request.user, schema, None, new_defaults(schema))
        builder = CardBuilder(
            request, registry, schema, None, new_state(registry, schema), draft=draft, modal=modal
        )
        return _render_card(request, builder.build(modal=modal, link_for=link_for))
    state = form_from_post(registry, schema, request.POST)
    data = data_from_form(registry, schema, state, request.FILES)
    errors = dict(state.errors)
    obj = None
    if not errors:
        try:
            obj = record_create(entity=entity, data=data, user=request.user)
        except RecordValidationError as error:
            errors = error.errors
    if obj is None:
        draft = functools.partial(draft_of, request.user, schema, None, data)
        builder = CardBuilder(
            request, registry, schema, None, state, errors, draft=draft, modal=modal
        )
        return _render_card(request, builder.build(modal=modal, link_for=link_for), status=400)
    titles = Titles(registry, access_for(request.user))
    if modal:
        return quick_created(titles, schema, obj, link_for)
    messages.success(
        request,
        _("%(entity)s %(title)s was created.")
        % {"entity": schema.entity.label, "title": titles.title(schema, obj)},
    )
    return redirect(request, reverse("ui:record_card", args=[entity, obj.pk]))


def _in_trash(request: HttpRequest, entity: str, record_id: int) -> bool:
    trash = record_list(entity, {}, in_trash=True, user=request.user)
    return trash.filter(pk=record_id).exists()


@card_view
def record_card(request: HttpRequest, entity: str, record_id: int) -> HttpResponse:
    registry, schema = screen_entity(entity)
    obj = record_detail(entity, record_id, user=request.user)
    if obj is None and request.method != "POST" and _in_trash(request, entity, record_id):
        return HttpResponseRedirect(reverse("ui:record_trashed", args=[entity, record_id]))
    if obj is None:
        raise NotFound(_("There is no %(entity)s #%(id)s.") % {"entity": entity, "id": record_id})
    if request.method != "POST":
        state = stored_state(registry, schema, obj, access_for(request.user))
        draft = functools.partial(draft_of, request.user, schema, obj, {})
        card = CardBuilder(request, registry, schema, obj, state, draft=draft).build()
        return _render_card(request, card)
    return _record_save(
        request, registry, schema, obj, form_from_post(registry, schema, request.POST)
    )


def _record_save(
    request: HttpRequest, registry: SchemaRegistry, schema: EntitySchema, obj: Any, state: FormState
) -> HttpResponse:
    """The posted card saved; or the form again with its errors (400) or the conflict panel
    (409, with the version to overwrite)."""
    data = data_from_form(registry, schema, state, request.FILES)
    errors = dict(state.errors)
    overwrite = request.POST.get("overwrite_version", "")
    version = overwrite if overwrite.isdigit() else state.version
    conflict = None
    if not errors:
        try:
            record_update(
                entity=schema.slug, record_id=obj.pk, data=data, version=version, user=request.user
            )
        except RecordValidationError as error:
            errors = error.errors
        except RecordConflict as error:
            conflict = error.current
        else:
            messages.success(request, _("Saved."))
            return redirect(request, reverse("ui:record_card", args=[schema.slug, obj.pk]))
    draft = functools.partial(draft_of, request.user, schema, obj, data)
    builder = CardBuilder(request, registry, schema, obj, state, errors, draft=draft)
    if conflict is not None:
        card = builder.build(
            conflict=conflict_rows(builder.titles, schema, data, conflict),
            conflict_version=conflict.get("version"),
        )
        return _render_card(request, card, status=409)
    return _render_card(request, builder.build(), status=400)


@require_POST
@card_view
def record_transition(request: HttpRequest, entity: str, record_id: int) -> HttpResponse:
    """Move one status of the record to the posted state: back to the card with "Saved.", or
    the card again with the service's refusal (400) or the conflict panel (409)."""
    registry, schema = screen_entity(entity)
    obj = record_detail(entity, record_id, user=request.user)
    if obj is None:
        raise NotFound(_("There is no %(entity)s #%(id)s.") % {"entity": entity, "id": record_id})
    f = schema.by_slug.get(request.POST.get("field", ""))
    access = access_for(request.user)
    hidden = frozenset() if access.unrestricted else access.hidden(schema)
    if f is None or f.type != "status" or f.pk in hidden:
        raise NotFound(
            _("%(entity)s has no status field %(field)s.")
            % {"entity": schema.entity.label, "field": request.POST.get("field", "")[:100]}
        )
    target = request.POST.get("to", "")[:200]
    posted = request.POST.get("version", "")
    # no version is as stale as a wrong one: a move is never made blind
    version = int(posted) if posted.isdigit() else 0
    data = {f.slug: target}
    try:
        record_update(
            entity=schema.slug, record_id=obj.pk, data=data, version=version, user=request.user
        )
    except RecordValidationError as error:
        # the service's words above the card too: the field they name may be on another tab
        for problems in error.errors.values():
            for problem in problems:
                messages.error(request, problem)
        card = _transition_builder(request, registry, schema, obj, {}, error.errors).build()
        return _render_card(request, card, status=400)
    except RecordConflict as error:
        # the card as it is now, with the move chosen, so "Overwrite" makes it
        fresh = record_detail(entity, record_id, user=request.user)
        builder = _transition_builder(request, registry, schema, fresh or obj, {f.slug: target})
        card = builder.build(
            conflict=conflict_rows(builder.titles, schema, data, error.current),
            conflict_version=error.current.get("version"),
        )
        return _render_card(request, card, status=409)
    messages.success(request, _("Saved."))
    return redirect(request, reverse("ui:record_card", args=[schema.slug, obj.pk]))


def _transition_builder(
    request: HttpRequest,
    registry: SchemaRegistry,
    schema: EntitySchema,
    obj: Any,
    typed: dict[str, Any],
    errors: dict[str, list[str]] | None = None,
) -> CardBuilder:
    """The stored record's card with ``typed`` over it (a refused move is not made: nothing
    typed; a stale one: the move, so "Overwrite" makes it) and ``errors`` on their fields."""
    state = stored_state(registry, schema, obj, access_for(request.user))
    state.values.update(typed)
    draft = functools.partial(draft_of, request.user, schema, obj, typed)
    return CardBuilder(request, registry, schema, obj, state, errors, draft=draft)


@require_POST
@card_view
def record_draft(request: HttpRequest, entity: str, record_id: int | None = None) -> HttpResponse:
    """The computed values of the form as typed (not saved), as out-of-band swaps; and, in
    the ``cf:visibility`` event, the fields whose ``visible_if`` shows or hides them now."""
    registry, schema = screen_entity(entity)
    state = form_from_post(registry, schema, request.POST)
    data = data_from_form(registry, schema, state)
    draft = draft_open(entity=schema, values=data, user=request.user, record_id=record_id)
    access = access_for(request.user)
    values = _computed_values(registry, schema, state, draft, access)
    response = render(request, "ui/_card_computed.html", {"values": values})
    shown = card_visibility(schema, access, card_layout_get(schema), lambda: draft)
    if shown:
        slugs = {f.pk: f.slug for f in schema.fields}
        response["HX-Trigger"] = json.dumps(
            {
                "cf:visibility": {
                    "shown": sorted(slugs[pk] for pk, yes in shown.items() if yes),
                    "hidden": sorted(slugs[pk] for pk, yes in shown.items() if not yes),
                }
            }
        )
    return response


def _computed_values(
    registry: SchemaRegistry,
    schema: EntitySchema,
    state: FormState,
    draft: DraftRow,
    access: Access,
) -> list[dict[str, str]]:
    """Text of each computed field of the draft and of its lines, by the id of its element."""
    locale = get_language()
    values = []
    hidden = access.hidden(schema)
    for f in schema.fields:
        if f.type in COMPUTED_TYPES and f.pk not in hidden:
            values.append({"id": f"cv-{f.slug}", "text": _computed_text(f, draft.value(f), locale)})
    for f in schema.child_fields:
        if f.pk in hidden or f.slug not in state.lines:
            continue
        child = registry.entity_by_id(f.options["target_id"])
        child_hidden = access.hidden(child)
        computed = [
            c for c in child.fields if c.type in COMPUTED_TYPES and c.pk not in child_hidden
        ]
        if not computed:
            continue
        for row, line in zip(state.lines[f.slug], draft.lines(f), strict=False):
            for c in computed:
                values.append(
                    {
                        "id": f"cv-{f.slug}-{row.key}-{c.slug}",
                        "text": _computed_text(c, line.value(c), locale),
                    }
                )
    return values


def _computed_text(f: Field, value: Any, locale: str) -> str:
    if value is None:
        return ""
    try:
        return get_field_type(f.type).format(f, runtime_to_internal(f, value), locale=locale)
    except (CardfileError, TypeError, ValueError, KeyError):
        return str(value)


@require_POST
@card_view
def record_delete_view(request: HttpRequest, entity: str, record_id: int) -> HttpResponse:
    _registry, schema = screen_entity(entity)
    try:
        record_delete(entity=entity, record_id=record_id, user=request.user)
    except RecordProtected as error:
        messages.error(request, error.message)
        return redirect(request, reverse("ui:record_card", args=[entity, record_id]))
    messages.success(
        request,
        _("%(entity)s #%(id)s was moved to the trash.")
        % {"entity": schema.entity.label, "id": record_id},
    )
    return redirect(request, reverse("ui:record_list", args=[entity]))


@require_POST
@card_view
def record_restore_view(request: HttpRequest, entity: str, record_id: int) -> HttpResponse:
    _registry, schema = screen_entity(entity)
    record_restore(entity=entity, record_id=record_id, user=request.user)
    messages.success(
        request,
        _("%(entity)s #%(id)s was restored.") % {"entity": schema.entity.label, "id": record_id},
    )
    return redirect(request, reverse("ui:record_card", args=[entity, record_id]))


@require_GET
@card_view
def record_trashed(request: HttpRequest, entity: str, record_id: int) -> HttpResponse:
    """A record in the trash: what it was, and a restore button for those who may."""
    registry, schema = screen_entity(entity)
    obj = record_list(entity, {}, in_trash=True, user=request.user).filter(pk=record_id).first()
    if obj is None:
        raise NotFound(_("There is no %(entity)s #%(id)s.") % {"entity": entity, "id": record_id})
    access = access_for(request.user)
    titles = Titles(registry, access)
    return render(
        request,
        "ui/card_trashed.html",
        {
            "schema": schema,
            "obj": obj,
            "title": titles.title(schema, obj),
            "can_restore": access.can("delete", schema),
            "entity_slug": entity,
        },
    )
