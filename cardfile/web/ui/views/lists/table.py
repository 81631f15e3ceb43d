"""The record list screen: a table of the records the user may read with sortable headers,
filters, quick search, saved views and pages. An htmx request aimed at the results swaps only
the table part (and the toolbar's count of active filters, out of band)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from cardfile.metamodel.access import Access, access_for
from cardfile.metamodel.models import Field
from cardfile.metamodel.records.filtering import UNSORTABLE_TYPES
from cardfile.metamodel.saved_views import NO_VALUE, PAGE_SIZES, filter_fields, saved_view_list
from cardfile.metamodel.schema.dynamic import EntitySchema, SchemaRegistry, get_registry
from cardfile.web.ui.display import Titles, screen_entity

from .cells import END_ALIGNED, build_rows
from .common import choice_fields, open_view, read_denied, wants_part
from .filters import query_records
from .state import ListState, columnable, read_state


def _sort_levels(sort: str) -> list[tuple[str, bool]]:
    levels = []
    for item in (s.strip() for s in sort.split(",")):
        if item:
            levels.append((item.lstrip("-+"), item.startswith("-")))
    return levels


@dataclass
class Header:
    """A column header: its field and the links that sort by it."""

    field: Field
    sortable: bool
    url: str = ""  # click: sort by this column alone (toggling its direction)
    add_url: str = ""  # shift+click: add this column as a level (or toggle it)
    level: int = 0  # 1-based position among the sort levels, 0 when not sorted by it
    descending: bool = False
    end: bool = False


def _sort_key(registry: SchemaRegistry, f: Field, titles: Titles) -> str:
    """What clicking a column's header sorts by: a link column by the linked records'
    titles (as a person reads the column), any other by its own value."""
    if f.type != "link":
        return f.slug
    target = registry.entity_by_id(f.options["target_id"])
    title = titles.title_field(target) if titles.access.can("read", target) else None
    if title is None or title.type in UNSORTABLE_TYPES or title.type == "link":
        return f.slug
    return f"{f.slug}__{title.slug}"


def _headers(registry: SchemaRegistry, state: ListState, access: Access) -> list[Header]:
    levels = _sort_levels(state.sort)
    keys = [key for key, _desc in levels]
    titles = Titles(registry, access)
    headers = []
    for f in state.columns:
        end = f.type in END_ALIGNED
        if f.type in UNSORTABLE_TYPES:
            headers.append(Header(f, False, end=end))
            continue
        key = _sort_key(registry, f, titles)
        level = keys.index(key) + 1 if key in keys else 0
        descending = levels[level - 1][1] if level else False
        alone = f"-{key}" if level == 1 and len(levels) == 1 and not descending else key
        toggled = (
            [(k, not desc if k == key else desc) for k, desc in levels]
            if level
            else [*levels, (key, False)]
        )
        added = ",".join(f"-{k}" if d else k for k, d in toggled)
        headers.append(
            Header(
                f,
                True,
                url=state.query(sort=alone, page=1),
                add_url=state.query(sort=added, page=1),
                level=level,
                descending=descending,
                end=end,
            )
        )
    return headers


def _pages(page: int, pages: int) -> list[int | None]:
    """Page numbers to offer: the first, the last and two on each side of the current one;
    None marks a gap."""
    wanted = sorted({1, pages, *range(max(1, page - 2), min(pages, page + 2) + 1)})
    shown: list[int | None] = []
    for number in wanted:
        if shown and number - (shown[-1] or 0) > 1:
            shown.append(None)
        shown.append(number)
    return shown


def _list_context(request: HttpRequest, schema: EntitySchema, state: ListState) -> dict[str, Any]:
    registry = get_registry()
    access = access_for(request.user)
    found = query_records(schema, state, access, request.user)
    queryset, errors = found.queryset, found.errors
    total, rows, pages = 0, [], 1
    if queryset is not None:
        total = queryset.count()
        pages = max(1, math.ceil(total / state.page_size))
        state.page = min(state.page, pages)
        start = (state.page - 1) * state.page_size
        objs = list(queryset[start : start + state.page_size])
        rows = build_rows(registry, schema, objs, state.columns, access)
    first = (state.page - 1) * state.page_size + 1 if rows else 0
    return {
        "schema": schema,
        "state": state,
        "headers": _headers(registry, state, access),
        "rows": rows,
        "total": total,
        "first": first,
        "last": first + len(rows) - 1 if rows else 0,
        "pages": [(n, state.query(page=n) if n else "") for n in _pages(state.page, pages)],
        "page_count": pages,
        "previous_url": state.query(page=state.page - 1) if state.page > 1 else "",
        "next_url": state.query(page=state.page + 1) if state.page < pages else "",
        "errors": errors,
        "where_expression": found.where,
        "multi_sort": len(_sort_levels(state.sort)) > 1,
        "list_url": reverse("ui:record_list", args=[schema.slug]),
        "new_url": reverse("ui:record_new", args=[schema.slug]),
        "can_create": access.can("create", schema),
        "filter_count": state.filter_count,
    }


def _toolbar_context(
    request: HttpRequest, schema: EntitySchema, state: ListState
) -> dict[str, Any]:
    access = access_for(request.user)
    shown = {f.pk for f in state.columns}
    available = columnable(schema, access)
    ordered = state.columns + [f for f in available if f.pk not in shown]
    fields = filter_fields(schema, access)
    fields_data = {
        f.slug: {
            "kind": f.kind,
            "operators": f.operators,
            "choices": list(f.choices),
            "no_value": sorted(NO_VALUE),
        }
        for f in fields
    }
    return {
        "column_choices": [(f, f.pk in shown) for f in ordered],
        "filter_fields": fields,
        "filter_rows": [
            (row, next((f for f in fields if f.slug == row["field"]), None))
            for row in state.filters
        ],
        "filter_fields_data": fields_data,
        "no_value_ops": sorted(NO_VALUE),
        "page_sizes": PAGE_SIZES,
        "views": saved_view_list(schema.slug, request.user),
        "can_configure": access.can_configure(schema),
        "kanban_fields": choice_fields(schema, access),
    }


@login_required
@require_GET
def record_list_view(request: HttpRequest, entity: str) -> HttpResponse:
    """The list page, or only its results for an htmx request aimed at them."""
    _registry, schema = screen_entity(entity)
    access = access_for(request.user)
    if not access.can("read", schema):
        return read_denied(request, schema)
    view = open_view(request, schema)
    state = read_state(request.GET, schema, access, view)
    context = _list_context(request, schema, state)
    if wants_part(request, "list-results"):
        # the toolbar's count of active filters is outside the results: sent out of band
        response = render(request, "ui/_list_results.html", {**context, "oob": True})
    else:
        context.update(_toolbar_context(request, schema, state), entity_slug=schema.slug)
        response = render(request, "ui/list.html", context)
    patch_vary_headers(response, ["HX-Request", "HX-Target"])
    return response
