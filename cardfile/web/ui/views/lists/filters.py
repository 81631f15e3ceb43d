"""The filter builder and the typed condition: filter rows become a ``where`` expression
joined to the typed one, the records come from `record_list`, and its errors are placed where
the user wrote their cause (a caret under the typed text, or the filter rows)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cardfile.core.exceptions import InvalidInput
from cardfile.metamodel.access import Access
from cardfile.metamodel.records.filtering import ListParamsError, record_list
from cardfile.metamodel.saved_views import clean_filters, combined_where, filter_expression
from cardfile.metamodel.schema.dynamic import EntitySchema, get_registry

from .cells import link_columns
from .state import ListState


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
    """Messages about the list parameters, by where the page shows them."""

    where: list[str] = field(default_factory=list)
    where_caret: tuple[str, str] | None = None
    filters: list[str] = field(default_factory=list)
    other: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.where or self.filters or self.other)


def list_errors(error: InvalidInput, where: str, offset: int, has_rows: bool) -> ListErrors:
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


def query_records(schema: EntitySchema, state: ListState, access: Access, user: Any) -> ListQuery:
    """The records ``state`` asks for, as ``user`` may read them (`record_list`)."""
    registry = get_registry()
    try:
        rows = clean_filters(schema, state.filters, access)
    except InvalidInput as error:
        return ListQuery(None, list_errors(error, state.where, 0, True))
    rows_expression = filter_expression(schema, rows, access)
    where, offset = combined_where(state.where, rows_expression)
    params: dict[str, str] = {}
    if state.search:
        params["search"] = state.search
    if state.sort:
        params["sort"] = state.sort
    if where:
        params["where"] = where
    expand = link_columns(registry, schema, state.columns, access)
    try:
        queryset = record_list(schema.slug, params, expand=expand, user=user)
    except ListParamsError as error:
        return ListQuery(None, list_errors(error, state.where, offset, bool(rows)), where)
    return ListQuery(queryset, ListErrors(), where)
