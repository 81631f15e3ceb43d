"""Global search and barcode scans.

A scanner types like a keyboard and presses Enter: when the text is exactly one record's
autonumber, phone number (compared in E.164, however it was typed) or code field, that record's
card opens at once. Code fields are text fields with the ``barcode`` option set. Otherwise the
results are grouped by entity, the first few of each.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import phonenumbers
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse

from cardfile.metamodel.access import access_for
from cardfile.metamodel.models import Field
from cardfile.metamodel.records.filtering import ListParamsError, record_list
from cardfile.metamodel.schema.dynamic import EntitySchema, get_registry
from cardfile.web.ui.display import Titles

PER_ENTITY = 5
MAX_QUERY = 200


@dataclass
class Group:
    schema: EntitySchema
    results: list[dict[str, Any]] = field(default_factory=list)
    more: bool = False


def _code_fields(schema: EntitySchema, hidden: frozenset[int]) -> list[Field]:
    return [
        f
        for f in schema.fields
        if f.pk not in hidden
        and (f.type in ("autonumber", "phone") or (f.type == "text" and f.options.get("barcode")))
    ]


def _phone(f: Field, text: str) -> str | None:
    """``text`` as the E.164 number a phone field stores, or None if it is no number."""
    region = f.options.get("region") or settings.CARDFILE_PHONE_REGION
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def scan_matches(user: Any, text: str, entities: list[EntitySchema]) -> list[tuple[str, int]]:
    """(entity, id) of the records whose autonumber, phone or code field is exactly ``text``
    (at most two: one is a hit, more is ambiguous)."""
    access = access_for(user)
    found: list[tuple[str, int]] = []
    for schema in entities:
        for f in _code_fields(schema, access.hidden(schema)):
            value = _phone(f, text) if f.type == "phone" else text
            if value is None:
                continue
            try:
                ids = record_list(schema.slug, {f.slug: value}, user=user).values_list(
                    "pk", flat=True
                )[:2]
            except ListParamsError:
                continue
            found.extend((schema.slug, pk) for pk in ids if (schema.slug, pk) not in found)
            if len(found) > 1:
                return found
    return found


def _readable(user: Any) -> list[EntitySchema]:
    access = access_for(user)
    return [
        schema
        for schema in get_registry().entities()
        if schema.parent_field is None and access.can("read", schema)
    ]


@login_required
def search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:MAX_QUERY]
    groups: list[Group] = []
    if query:
        entities = _readable(request.user)
        hits = scan_matches(request.user, query, entities)
        if len(hits) == 1:
            entity, pk = hits[0]
            return HttpResponseRedirect(reverse("ui:record_card", args=[entity, pk]))
        registry = get_registry()
        titles = Titles(registry, access_for(request.user))
        for schema in entities:
            try:
                rows = list(
                    record_list(schema.slug, {"search": query}, user=request.user)[: PER_ENTITY + 1]
                )
            except ListParamsError:
                continue  # nothing searchable in this entity
            if not rows:
                continue
            group = Group(schema=schema, more=len(rows) > PER_ENTITY)
            group.results = [
                {
                    "id": obj.pk,
                    "title": titles.title(schema, obj),
                    "url": titles.card_url(schema, obj.pk),
                }
                for obj in rows[:PER_ENTITY]
            ]
            groups.append(group)
    return render(
        request,
        "ui/search.html",
        {"search_query": query, "groups": groups},
    )


urlpatterns = [path("", search, name="search")]
