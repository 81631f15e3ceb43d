"""What a list shows (columns, sort, filters, search, page), read from the query string the
list form sends or from a saved view, and written back as a query string or a view's config."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import zip_longest
from typing import Any
from urllib.parse import urlencode

from django.http import QueryDict

from cardfile.metamodel.access import Access
from cardfile.metamodel.models import Field, SavedView
from cardfile.metamodel.saved_views import DEFAULT_PAGE_SIZE, NO_VALUE, PAGE_SIZES
from cardfile.metamodel.schema.dynamic import EntitySchema

DEFAULT_COLUMNS = 6
# Types that are not shown as list columns (their values are lists of records or files).
NO_COLUMN_TYPES = frozenset({"child_table"})
# Parameters of the list form; any of them in the query means the query says the whole state.
STATE_KEYS = ("applied", "columns", "sort", "search", "where", "filter_field", "page_size")


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

    def items(self, **changes: Any) -> list[tuple[str, Any]]:
        """The parameters of this state (with ``changes``), as the list form sends them."""
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
        return items

    def query(self, **changes: Any) -> str:
        """The query string of this state (with ``changes``), as the list form sends it."""
        return "?" + urlencode(self.items(**changes))

    @property
    def filter_count(self) -> int:
        """How many conditions narrow the list: the filter rows and the typed condition."""
        return len(self.filters) + (1 if self.where else 0)

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


def columnable(schema: EntitySchema, access: Access) -> list[Field]:
    """The fields the user may show as columns, in the entity's order."""
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
    available = columnable(schema, access)
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
