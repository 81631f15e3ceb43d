"""Saved list views of an entity (columns, sort, filter, search) and the filter builder that
writes their ``where`` expression.

- `filters`: the filter builder (rows of field, operator, value -> a formula condition);
- `config`: a view's settings, checked the way a list reads them;
- `selectors` / `services`: reading and writing views (shared ones need ``configure``).
"""

from .config import (
    CONFIG_KEYS,
    DEFAULT_PAGE_SIZE,
    NAME_MAX_LENGTH,
    PAGE_SIZES,
    SEARCH_MAX_LENGTH,
    clean_config,
)
from .filters import (
    NO_VALUE,
    OPERATOR_LABELS,
    OPERATORS,
    FilterField,
    clean_filters,
    combined_where,
    filter_expression,
    filter_fields,
    text_literal,
)
from .selectors import saved_view_get, saved_view_list
from .services import saved_view_create, saved_view_delete, saved_view_update

__all__ = [
    "CONFIG_KEYS",
    "DEFAULT_PAGE_SIZE",
    "NAME_MAX_LENGTH",
    "NO_VALUE",
    "OPERATORS",
    "OPERATOR_LABELS",
    "PAGE_SIZES",
    "SEARCH_MAX_LENGTH",
    "FilterField",
    "clean_config",
    "clean_filters",
    "combined_where",
    "filter_expression",
    "filter_fields",
    "saved_view_create",
    "saved_view_delete",
    "saved_view_get",
    "saved_view_list",
    "saved_view_update",
    "text_literal",
]
