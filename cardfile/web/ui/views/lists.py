"""Record lists and kanban boards: a table of the records the user may read, with columns,
sort, filters, quick search and saved views; a board per choice field.

The list is the record selector's queryset sliced into a page (the same `record_list` the API
calls), so rights, row rules and hidden fields apply as there. An htmx request aimed at the
results swaps only the table part.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import zip_longest
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import NoReverseMatch, path, reverse
from django.utils.cache import patch_vary_headers
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from cardfile.core.exceptions import CardfileError, InvalidInput, NotFound, PermissionDenied
from cardfile.metamodel.access import Access, access_for
from cardfile.metamodel.fields import get_field_type
from cardfile.metamodel.models import Field, SavedView
from cardfile.metamodel.records import record_update
from cardfile.metamodel.records.exceptions import RecordConflict, RecordValidationError
from cardfile.metamodel.records.filtering import (
    UNSORTABLE_TYPES,
    ListParamsError,
    expand_fields,
    record_list,
)
from cardfile.metamodel.saved_views import (
    DEFAULT_PAGE_SIZE,
    NO_VALUE,
    PAGE_SIZES,
    clean_filters,
    combined_where,
    filter_expression,
    filter_fields,
    saved_view_create,
    saved_view_delete,
    saved_view_get,
    saved_view_list,
    saved_view_update,
)
from cardfile.metamodel.schema.dynamic import EntitySchema, SchemaRegistry, get_registry

DEFAULT_COLUMNS = 6
KANBAN_LIMIT = 500
# Types that are not shown as list columns (their values are lists of records or files).
NO_COLUMN_TYPES = frozenset({"child_table"})
END_ALIGNED = frozenset({"integer", "decimal", "percent", "money", "duration"})
# Parameters of the list form; any of them in the query means the query says the whole state.
STATE_KEYS = ("applied", "columns", "sort", "search", "where", "filter_field", "page_size")
_HEX_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
_NAMED_COLORS = {
    "red": True,
    "orange": False,
    "yellow": False,
    "green": True,
    "teal": True,
    "cyan": False,
    "blue": True,
    "indigo": True,
    "purple": True,
    "pink": True,
    "gray": True,
    "grey": True,
}


# -- the entity behind the URL -----------------------------------------------------------------


def _entity(slug: str) -> tuple[SchemaRegistry, EntitySchema]:
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


def _denied(request: HttpRequest, schema: EntitySchema, message: str) -> HttpResponse:
    return render(
        request, "ui/list_denied.html", {"schema": schema, "message": message}, status=403
    )


def _card_urls(entity: str) -> tuple[str, str]:
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


# -- what the list shows -----------------------------------------------------------------------


@dataclass
class ListState:
    """Columns, sort, filters, search and page of a list, read from the query or a view."""

    columns: list[Field]
    sort: str = ""
    search: str = ""
    where: str = ""
    filters: list[dict[str, str]] = field(default_factory=list)
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE
    view: SavedView | None = None

    def query(self, **changes: Any) -> str:
        """The query string of this state (with ``changes``), as the list form sends it."""
        values: dict[str, Any] = {
            "view": self.view.pk if self.view is not None else "",
            "applied": "1",
            "columns": ",".join(f.slug for f in self.columns),
            "sort": self.sort,
            "search": self.search,
            "where": self.where,
            "page_size": self.page_size,
            "page": self.page,
        }
        values.update(changes)
        items: list[tuple[str, Any]] = [(k, v) for k, v in values.items() if v not in ("", None)]
        if values.get("page") == 1:
            items = [(k, v) for k, v in items if k != "page"]
        for row in self.filters:
            items += [
                ("filter_field", row["field"]),
                ("filter_op", row["op"]),
                ("filter_value", row.get("value", "")),
            ]
        return "?" + urlencode(items)

    def config(self) -> dict[str, Any]:
        """The state as a saved view's settings."""
        return {
            "columns": [f.pk for f in self.columns],
            "sort": self.sort,
            "where": self.where,
            "search": self.search,
            "filters": self.filters,
            "page_size": self.page_size,
        }


def _columnable(schema: EntitySchema, access: Access) -> list[Field]:
    hidden = access.hidden(schema)
    return [f for f in schema.fields if f.type not in NO_COLUMN_TYPES and f.pk not in hidden]


def _positive(raw: str | None, default: int) -> int:
    text = (raw or "").strip()
    return int(text) if text.isdigit() and 0 < int(text) < 10**9 else default


def _filter_rows(params: QueryDict) -> list[dict[str, str]]:
    rows = zip_longest(
        params.getlist("filter_field"),
        params.getlist("filter_op"),
        params.getlist("filter_value"),
        fillvalue="",
    )
    return [
        {"field": f.strip(), "op": op.strip(), "value": "" if op.strip() in NO_VALUE else value}
        for f, op, value in rows
        if f.strip()
    ]


def read_state(
    params: QueryDict, schema: EntitySchema, access: Access, view: SavedView | None
) -> ListState:
    """The list state the query asks for: the query's own settings when the list form sent
    them, else the saved view's, else the defaults. Columns the user may not read drop out."""
    available = _columnable(schema, access)
    by_slug = {f.slug: f for f in available}
    by_id = {f.pk: f for f in available}
    page = _positive(params.get("page"), 1)
    if any(key in params for key in STATE_KEYS) or view is None:
        slugs = [s.strip() for raw in params.getlist("columns") for s in raw.split(",")]
        columns = [by_slug[s] for s in dict.fromkeys(slugs) if s in by_slug]
        size = _positive(params.get("page_size"), DEFAULT_PAGE_SIZE)
        state = ListState(
            columns=columns,
            sort=(params.get("sort") or "").strip(),
            search=(params.get("search") or "").strip(),
            where=(params.get("where") or "").strip(),
            filters=_filter_rows(params),
            page=page,
            page_size=size if size in PAGE_SIZES else DEFAULT_PAGE_SIZE,
        )
    else:
        config = view.config or {}
        state = ListState(
            columns=[by_id[i] for i in config.get("columns") or [] if i in by_id],
            sort=config.get("sort") or "",
            search=config.get("search") or "",
            where=config.get("where") or "",
            filters=list(config.get("filters") or []),
            page=page,
            page_size=config.get("page_size") or DEFAULT_PAGE_SIZE,
        )
    if not state.columns:
        state.columns = available[:DEFAULT_COLUMNS]
    state.view = view
    return state


@dataclass
class Badge:
    label: str
    style: str = ""  # a CSS custom property setting, built from checked colours only
    dark: bool = False


@dataclass
class Cell:
    text: str = ""
    kind: str = "text"  # text | badges | link | links | boolean | long
    href: str = ""
    end: bool = False
    badges: list[Badge] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)  # (text, href)
    value: Any = None


@dataclass
class Row:
    obj: Any
    href: str
    cells: list[Cell]

    @property
    def id(self) -> int:
        return self.obj.pk


def _badge(choice: dict[str, Any]) -> Badge:
    color = str(choice.get("color") or "").strip().lower()
    label = str(choice.get("label") or choice["value"])
    if _HEX_COLOR.match(color):
        digits = color[1:]
        if len(digits) == 3:
            digits = "".join(c * 2 for c in digits)
        r, g, b = (int(digits[i : i + 2], 16) for i in (0, 2, 4))
        dark = (0.299 * r + 0.587 * g + 0.114 * b) < 150
        return Badge(label, f"--cf-badge: #{digits}", dark)
    if color in _NAMED_COLORS:
        name = "gray" if color == "grey" else color
        return Badge(label, f"--cf-badge: var(--bs-{name})", _NAMED_COLORS[color])
    return Badge(label)


def _choices(f: Field) -> dict[str, dict[str, Any]]:
    found = {}
    for item in f.options.get("choices", []):
        choice = {"value": item, "label": item} if isinstance(item, str) else dict(item)
        found[choice["value"]] = choice
    return found


class TitleReader:
    """Titles of linked records as the user may read them: each entity's title field
    formatted, or ``#id`` where there is none (or it is hidden from the user)."""

    def __init__(self, registry: SchemaRegistry, access: Access, locale: str | None) -> None:
        self.registry = registry
        self.access = access
        self.locale = locale
        self._prefixes: dict[str, str] = {}

    def card_prefix(self, schema: EntitySchema) -> str:
        """Where the cards of ``schema``'s records are: ``<prefix><id>/``."""
        if schema.slug not in self._prefixes:
            self._prefixes[schema.slug] = _card_urls(schema.slug)[0]
        return self._prefixes[schema.slug]

    def title_field(self, schema: EntitySchema) -> Field | None:
        title_id = schema.entity.title_field_id
        if title_id is None or title_id in self.access.hidden(schema):
            return None
        return next((f for f in schema.fields if f.pk == title_id), None)

    def title(self, schema: EntitySchema, obj: Any) -> str:
        f = self.title_field(schema)
        if f is not None:
            ftype = get_field_type(f.type)
            text = ftype.format(f, ftype.get_value(f, obj), locale=self.locale)
            if text:
                return text
        return f"#{obj.pk}"

    def titles(self, schema: EntitySchema, ids: Iterable[int]) -> dict[int, str]:
        """Titles of the records of ``schema`` with these ids that the user may read (one
        query)."""
        ids = set(ids)
        if not ids or not self.access.can("read", schema):
            return {}
        f = self.title_field(schema)
        rows = self.access.visible(schema, schema.model._base_manager.filter(pk__in=ids))
        if f is None:
            return {pk: f"#{pk}" for pk in rows.values_list("pk", flat=True)}
        return {obj.pk: self.title(schema, obj) for obj in rows}


def _link_columns(
    registry: SchemaRegistry, schema: EntitySchema, columns: list[Field], access: Access
) -> list[Field]:
    """The link columns whose records the user may read: loaded with the page (``expand``)."""
    slugs = [
        f.slug
        for f in columns
        if f.type == "link" and access.can("read", registry.entity_by_id(f.options["target_id"]))
    ]
    return expand_fields(schema, ",".join(slugs), access) if slugs else []


def build_rows(
    registry: SchemaRegistry,
    schema: EntitySchema,
    objs: list[Any],
    columns: list[Field],
    access: Access,
    card_prefix: str,
) -> list[Row]:
    """Rows of formatted cells; other records' titles come with a fixed number of queries
    (links were expanded with the page; multi-links and users: one query per column)."""
    locale = get_language()
    reader = TitleReader(registry, access, locale)
    extra: dict[int, dict[int, str]] = {}
    for f in columns:
        if f.type == "multi_link":
            target = registry.entity_by_id(f.options["target_id"])
            ids = {i for obj in objs for i in obj.__dict__.get("_cf_links", {}).get(f.pk, [])}
            extra[f.pk] = reader.titles(target, ids)
        elif f.type == "user":
            ids = {getattr(obj, f"{f.attname}_id") for obj in objs} - {None}
            users = get_user_model().objects.filter(pk__in=ids)
            extra[f.pk] = {u.pk: u.get_username() for u in users}
    rows = []
    for obj in objs:
        cells = [_cell(registry, f, obj, reader, extra.get(f.pk, {}), locale) for f in columns]
        rows.append(Row(obj, f"{card_prefix}{obj.pk}/", cells))
    return rows


def _cell(
    registry: SchemaRegistry,
    f: Field,
    obj: Any,
    reader: TitleReader,
    extra: dict[int, str],
    locale: str | None,
) -> Cell:
    ftype = get_field_type(f.type)
    if f.type == "multi_link":
        target = registry.entity_by_id(f.options["target_id"])
        prefix = reader.card_prefix(target)
        ids = obj.__dict__.get("_cf_links", {}).get(f.pk, [])
        return Cell(
            kind="links",
            links=[(extra.get(i, f"#{i}"), f"{prefix}{i}/" if i in extra else "") for i in ids],
        )
    value = ftype.get_value(f, obj)
    if value is None:
        return Cell(end=f.type in END_ALIGNED)
    if f.type in ("choice", "multi_choice"):
        choices = _choices(f)
        values = [value] if f.type == "choice" else list(value)
        return Cell(
            kind="badges",
            badges=[_badge(choices.get(v, {"value": v, "label": v})) for v in values],
        )
    if f.type == "link":
        target = registry.entity_by_id(f.options["target_id"])
        if not reader.access.can("read", target):
            return Cell(text=f"#{value}")
        linked = getattr(obj, f.attname)  # expanded with the page, within the row rules
        if linked is None:
            return Cell(text=f"#{value}")
        prefix = reader.card_prefix(target)
        return Cell(kind="link", text=reader.title(target, linked), href=f"{prefix}{value}/")
    if f.type == "user":
        return Cell(text=extra.get(value, f"#{value}"))
    if f.type == "boolean":
        return Cell(kind="boolean", value=bool(value), text=ftype.format(f, value, locale=locale))
    end = f.type in END_ALIGNED
    if f.type in ("formula", "lookup", "rollup"):
        end = ftype.storage(f)[0].name in END_ALIGNED
    kind = "long" if f.type in ("long_text", "json") else "text"
    return Cell(kind=kind, text=ftype.format(f, value, locale=locale), end=end)


def _sort_levels(sort: str) -> list[tuple[str, bool]]:
    levels = []
    for item in (s.strip() for s in sort.split(",")):
        if item:
            levels.append((item.lstrip("-+"), item.startswith("-")))
    return levels


@dataclass
class Header:
    field: Field
    sortable: bool
    url: str = ""  # click: sort by this column alone (toggling its direction)
    add_url: str = ""  # shift+click: add this column as a level (or toggle it)
    level: int = 0  # 1-based position among the sort levels, 0 when not sorted by it
    descending: bool = False
    end: bool = False


def _sort_key(registry: SchemaRegistry, f: Field, reader: TitleReader) -> str:
    """What clicking a column's header sorts by: a link column by the linked records'
    titles (as a person reads the column), any other by its own value."""
    if f.type != "link":
        return f.slug
    target = registry.entity_by_id(f.options["target_id"])
    title = reader.title_field(target) if reader.access.can("read", target) else None
    if title is None or title.type in UNSORTABLE_TYPES or title.type == "link":
        return f.slug
    return f"{f.slug}__{title.slug}"


def _headers(registry: SchemaRegistry, state: ListState, access: Access) -> list[Header]:
    levels = _sort_levels(state.sort)
    keys = [key for key, _desc in levels]
    reader = TitleReader(registry, access, get_language())
    headers = []
    for f in state.columns:
        end = f.type in END_ALIGNED
        if f.type in UNSORTABLE_TYPES:
            headers.append(Header(f, False, end=end))
            continue
        key = _sort_key(registry, f, reader)
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


def caret(source: str, start: int, end: int) -> tuple[str, str] | None:
    """The line of ``source`` holding ``start`` and a line of carets under ``[start, end)``."""
    if not 0 <= start <= len(source):
        return None
    line_start = source.rfind("\n", 0, start) + 1
    line_end = source.find("\n", start)
    line_end = len(source) if line_end == -1 else line_end
    width = max(1, min(end, line_end) - start)
    return source[line_start:line_end], " " * (start - line_start) + "^" * width


@dataclass
class ListErrors:
    where: list[str] = field(default_factory=list)
    where_caret: tuple[str, str] | None = None
    filters: list[str] = field(default_factory=list)
    other: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.where or self.filters or self.other)


def _list_errors(error: InvalidInput, where: str, offset: int, has_rows: bool) -> ListErrors:
    """Errors of the list parameters, placed where the user wrote the cause: the typed
    condition (with a caret under the problem), the filter rows, or elsewhere."""
    found = ListErrors()
    for key, messages in error.errors.items():
        if key == "where":
            position = (error.formula or {}).get("position") or {}
            start = position.get("start")
            local = None if start is None else start - offset
            if where and local is not None and 0 <= local <= len(where):
                found.where += messages
                found.where_caret = caret(where, local, position.get("end", start + 1) - offset)
            elif has_rows and (not where or (local is not None and local > len(where))):
                found.filters += messages
            else:
                found.where += messages
        elif key.startswith("filters"):
            found.filters += messages
        else:
            found.other += [f"{key}: {m}" for m in messages]
    return found


@dataclass
class ListQuery:
    """The records of a list (None when the parameters are wrong), the errors, and the
    condition the filter rows and the typed ``where`` make together."""

    queryset: Any
    errors: ListErrors
    where: str = ""


def _query_records(schema: EntitySchema, state: ListState, access: Access, user: Any) -> ListQuery:
    registry = get_registry()
    try:
        rows = clean_filters(schema, state.filters, access)
    except InvalidInput as error:
        return ListQuery(None, _list_errors(error, state.where, 0, True))
    rows_expression = filter_expression(schema, rows, access)
    where, offset = combined_where(state.where, rows_expression)
    params: dict[str, str] = {}
    if state.search:
        params["search"] = state.search
    if state.sort:
        params["sort"] = state.sort
    if where:
        params["where"] = where
    expand = _link_columns(registry, schema, state.columns, access)
    try:
        queryset = record_list(schema.slug, params, expand=expand, user=user)
    except ListParamsError as error:
        return ListQuery(None, _list_errors(error, state.where, offset, bool(rows)), where)
    return ListQuery(queryset, ListErrors(), where)


def _list_context(request: HttpRequest, schema: EntitySchema, state: ListState) -> dict[str, Any]:
    registry = get_registry()
    access = access_for(request.user)
    card_prefix, new_url = _card_urls(schema.slug)
    found = _query_records(schema, state, access, request.user)
    queryset, errors = found.queryset, found.errors
    total, rows, pages = 0, [], 1
    if queryset is not None:
        total = queryset.count()
        pages = max(1, math.ceil(total / state.page_size))
        state.page = min(state.page, pages)
        start = (state.page - 1) * state.page_size
        objs = list(queryset[start : start + state.page_size])
        rows = build_rows(registry, schema, objs, state.columns, access, card_prefix)
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
        "new_url": new_url,
        "can_create": access.can("create", schema),
    }


def _toolbar_context(
    request: HttpRequest, schema: EntitySchema, state: ListState
) -> dict[str, Any]:
    access = access_for(request.user)
    shown = {f.pk for f in state.columns}
    available = _columnable(schema, access)
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
    hidden = access.hidden(schema)
    kanban_fields = [f for f in schema.fields if f.type == "choice" and f.pk not in hidden]
    return {
        "column_choices": [(f, f.pk in shown) for f in ordered],
        "filter_fields": fields,
        "filter_rows": [
            (row, next((f for f in fields if f.slug == row["field"]), None))
            for row in state.filters
        ],
        "filter_fields_data": fields_data,
        "filter_count": len(state.filters) + (1 if state.where else 0),
        "no_value_ops": sorted(NO_VALUE),
        "page_sizes": PAGE_SIZES,
        "views": saved_view_list(schema.slug, request.user),
        "can_configure": access.can_configure(schema),
        "kanban_fields": kanban_fields,
    }


def _wants_results(request: HttpRequest) -> bool:
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request and htmx.target == "list-results"


def _open_view(request: HttpRequest, schema: EntitySchema) -> SavedView | None:
    raw = (request.GET.get("view") or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) > 2**63 - 1:
        raise Http404(_("There is no such saved view."))
    try:
        return saved_view_get(schema.slug, int(raw), request.user)
    except NotFound as error:
        raise Http404(error.message) from None


@login_required
@require_GET
def record_list_view(request: HttpRequest, entity: str) -> HttpResponse:
    _registry, schema = _entity(entity)
    access = access_for(request.user)
    if not access.can("read", schema):
        return _denied(
            request,
            schema,
            _("Your roles do not allow you to read %(entity)s records.")
            % {"entity": schema.entity.label},
        )
    view = _open_view(request, schema)
    state = read_state(request.GET, schema, access, view)
    context = _list_context(request, schema, state)
    if _wants_results(request):
        response = render(request, "ui/_list_results.html", context)
    else:
        context.update(_toolbar_context(request, schema, state))
        response = render(request, "ui/list.html", context)
    patch_vary_headers(response, ["HX-Request", "HX-Target"])
    return response


# -- saved views -------------------------------------------------------------------------------


def _view_saved(request: HttpRequest, entity: str, view: SavedView | None) -> HttpResponse:
    url = reverse("ui:record_list", args=[entity])
    if view is not None:
        url += f"?view={view.pk}"
    if getattr(request, "htmx", None):
        return HttpResponseClientRedirect(url)
    return HttpResponseRedirect(url)


def _save_refused(
    request: HttpRequest, schema: EntitySchema, view: SavedView | None, error: CardfileError
) -> HttpResponse:
    errors = getattr(error, "errors", None) or {"": [error.message]}
    messages = [m if not key else f"{key}: {m}" for key, ms in errors.items() for m in ms]
    access = access_for(request.user)
    context = {
        "schema": schema,
        "save_errors": messages,
        "current_view": view,
        "can_configure": access.can_configure(schema),
        "list_url": reverse("ui:record_list", args=[schema.slug]),
        "name": request.POST.get("name", ""),
    }
    return render(request, "ui/_list_view_save.html", context, status=400)


@login_required
@require_POST
def view_create(request: HttpRequest, entity: str) -> HttpResponse:
    _registry, schema = _entity(entity)
    access = access_for(request.user)
    if not access.can("read", schema):
        raise Http404(_("There is no entity %(entity)s.") % {"entity": entity})
    state = read_state(request.POST, schema, access, None)
    try:
        view = saved_view_create(
            entity=entity,
            name=request.POST.get("name", ""),
            config=state.config(),
            shared=request.POST.get("shared") == "on",
            user=request.user,
        )
    except (InvalidInput, PermissionDenied) as error:
        return _save_refused(request, schema, None, error)
    return _view_saved(request, entity, view)


@login_required
@require_POST
def view_update(request: HttpRequest, entity: str, view_id: int) -> HttpResponse:
    _registry, schema = _entity(entity)
    access = access_for(request.user)
    view = None
    try:
        view = saved_view_get(entity, view_id, request.user)
        state = read_state(request.POST, schema, access, None)
        view = saved_view_update(
            entity=entity, view_id=view.pk, config=state.config(), user=request.user
        )
    except NotFound as error:
        raise Http404(error.message) from None
    except (InvalidInput, PermissionDenied) as error:
        return _save_refused(request, schema, view, error)
    return _view_saved(request, entity, view)


@login_required
@require_POST
def view_delete(request: HttpRequest, entity: str, view_id: int) -> HttpResponse:
    _registry, schema = _entity(entity)
    try:
        saved_view_delete(entity=entity, view_id=view_id, user=request.user)
    except NotFound as error:
        raise Http404(error.message) from None
    except PermissionDenied as error:
        return _denied(request, schema, error.message)
    return _view_saved(request, entity, None)


# -- kanban ------------------------------------------------------------------------------------


def _choice_field(schema: EntitySchema, slug: str, access: Access) -> Field:
    f = schema.by_slug.get(slug)
    if f is None or f.type != "choice" or f.pk in access.hidden(schema):
        raise Http404(
            _("%(entity)s has no choice field %(field)s.") % {"entity": schema.slug, "field": slug}
        )
    return f


@dataclass
class KanbanColumn:
    value: str  # "" for records with no value
    badge: Badge
    cards: list[Row] = field(default_factory=list)


@login_required
@require_GET
def record_kanban(request: HttpRequest, entity: str, field_slug: str) -> HttpResponse:
    registry, schema = _entity(entity)
    access = access_for(request.user)
    if not access.can("read", schema):
        return _denied(
            request,
            schema,
            _("Your roles do not allow you to read %(entity)s records.")
            % {"entity": schema.entity.label},
        )
    choice = _choice_field(schema, field_slug, access)
    state = read_state(request.GET, schema, access, _open_view(request, schema))
    title = TitleReader(registry, access, get_language()).title_field(schema)
    shown = [f for f in state.columns if f.pk not in (choice.pk, getattr(title, "pk", None))]
    fields = ([title] if title is not None else []) + shown[:3]
    list_url = reverse("ui:record_list", args=[entity]) + state.query(page=1)
    state.columns = fields
    found = _query_records(schema, state, access, request.user)
    queryset, errors = found.queryset, found.errors
    objs = list(queryset[: KANBAN_LIMIT + 1]) if queryset is not None else []
    card_prefix, new_url = _card_urls(entity)
    rows = build_rows(registry, schema, objs[:KANBAN_LIMIT], fields, access, card_prefix)
    columns = [KanbanColumn(value, _badge(c)) for value, c in _choices(choice).items()]
    by_value = {column.value: column for column in columns}
    blank = KanbanColumn("", Badge(_("No value")))
    for row in rows:
        by_value.get(getattr(row.obj, choice.attname) or "", blank).cards.append(row)
    if blank.cards or not choice.required:
        columns.insert(0, blank)
    can_move = access.can("update", schema) and choice.pk not in access.entity(schema).read_only
    context = {
        "schema": schema,
        "choice": choice,
        "columns": columns,
        "has_title": title is not None,
        "errors": errors,
        "truncated": len(objs) > KANBAN_LIMIT,
        "limit": KANBAN_LIMIT,
        "can_move": can_move,
        "move_url": reverse("ui:record_kanban_move", args=[entity, choice.slug]),
        "list_url": list_url,
        "new_url": new_url,
        "can_create": access.can("create", schema),
        "kanban_fields": [
            f for f in schema.fields if f.type == "choice" and f.pk not in access.hidden(schema)
        ],
    }
    return render(request, "ui/kanban.html", context)


def _toast(response: HttpResponse, text: str, level: str) -> HttpResponse:
    response["HX-Trigger"] = json.dumps({"cf:toast": {"text": text, "level": level}})
    return response


@login_required
@require_POST
def record_kanban_move(request: HttpRequest, entity: str, field_slug: str) -> HttpResponse:
    """Move a card: set the choice field of one record to ``value`` based on its ``version``.
    Answers the card (200) or a refusal with its status and a toast saying why."""
    registry, schema = _entity(entity)
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
    title = TitleReader(registry, access, get_language()).title_field(schema)
    shown = [f for f in state.columns if f.pk not in (choice.pk, getattr(title, "pk", None))]
    fields = ([title] if title is not None else []) + shown[:3]
    queryset = record_list(
        entity, {}, expand=_link_columns(registry, schema, fields, access), user=request.user
    ).filter(pk=int(raw_id))
    card_prefix, _new = _card_urls(entity)
    rows = build_rows(registry, schema, list(queryset), fields, access, card_prefix)
    label = _choices(choice).get(value or "", {}).get("label") or value or _("No value")
    text = _("Moved to %(value)s.") % {"value": label}
    if not rows:  # the change took the record out of what the user may read
        return _toast(HttpResponse(status=204), text, "success")
    context = {"row": rows[0], "has_title": title is not None, "can_move": True}
    return _toast(render(request, "ui/kanban_card.html", context), text, "success")


urlpatterns = [
    path("<slug:entity>/", record_list_view, name="record_list"),
    path("<slug:entity>/views/", view_create, name="record_view_create"),
    path("<slug:entity>/views/<int:view_id>/", view_update, name="record_view_update"),
    path("<slug:entity>/views/<int:view_id>/delete/", view_delete, name="record_view_delete"),
    path("<slug:entity>/kanban/<slug:field_slug>/", record_kanban, name="record_kanban"),
    path(
        "<slug:entity>/kanban/<slug:field_slug>/move/",
        record_kanban_move,
        name="record_kanban_move",
    ),
]
