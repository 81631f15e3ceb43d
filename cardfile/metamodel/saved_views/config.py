"""A saved view's settings: columns, sort, ``where``, search, filter rows, page size and kanban
field, checked the way a list reads them (`record_list`'s sort, search and ``where`` parsing),
so a view that could not be shown is refused when it is saved, with the error."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.utils.translation import gettext as _

from cardfile.core.exceptions import InvalidInput
from cardfile.metamodel.access import Access
from cardfile.metamodel.fields import FieldValueError
from cardfile.metamodel.records.filtering import (
    ListParamsError,
    search_q,
    sort_records,
    where_records,
)
from cardfile.metamodel.schema.dynamic import EntitySchema, get_registry

from .filters import clean_filters, combined_where, filter_expression

User = AbstractBaseUser | AnonymousUser | None

CONFIG_KEYS = ("columns", "sort", "where", "search", "filters", "page_size", "kanban_field")
PAGE_SIZES = (10, 25, 50, 100, 200)
DEFAULT_PAGE_SIZE = 25
NAME_MAX_LENGTH = 200
SEARCH_MAX_LENGTH = 200


def _page_size(value: Any) -> int:
    if isinstance(value, bool) or not str(value).strip().isdigit():
        raise FieldValueError(
            _("Expected one of %(sizes)s rows per page.")
            % {"sizes": ", ".join(str(s) for s in PAGE_SIZES)}
        )
    size = int(str(value).strip())
    if size not in PAGE_SIZES:
        raise FieldValueError(
            _("Expected one of %(sizes)s rows per page.")
            % {"sizes": ", ".join(str(s) for s in PAGE_SIZES)}
        )
    return size


def _columns(schema: EntitySchema, value: Any, access: Access) -> list[int]:
    if not isinstance(value, list):
        raise FieldValueError(_("Expected a list of field ids."))
    hidden = access.hidden(schema)
    known = {f.pk: f for f in schema.fields if f.pk not in hidden}
    columns: list[int] = []
    for item in value:
        field_id = item if isinstance(item, int) and not isinstance(item, bool) else None
        if field_id is None or field_id not in known:
            raise FieldValueError(
                _("%(value)r is not a field of %(entity)s you may read.")
                % {"value": item, "entity": schema.slug}
            )
        if field_id not in columns:
            columns.append(field_id)
    return columns


def clean_config(schema: EntitySchema, config: Any, access: Access) -> dict[str, Any]:
    """A view's settings checked as the list would read them, normalised; `InvalidInput`
    keyed by setting (``where`` errors carry the formula position)."""
    if not isinstance(config, Mapping):
        raise InvalidInput({"config": [_("Expected an object of view settings.")]})
    errors: dict[str, list[str]] = {}
    formula: dict[str, Any] | None = None
    unknown = sorted(set(config) - set(CONFIG_KEYS))
    if unknown:
        errors["config"] = [
            _("Unknown settings %(keys)s; a view has: %(known)s.")
            % {"keys": ", ".join(unknown), "known": ", ".join(CONFIG_KEYS)}
        ]
    cleaned: dict[str, Any] = {}
    registry = get_registry()
    try:
        cleaned["columns"] = _columns(schema, config.get("columns") or [], access)
    except FieldValueError as error:
        errors["columns"] = [error.message]
    sort = config.get("sort") or ""
    if not isinstance(sort, str):
        errors["sort"] = [_("Expected text such as -created_at,name.")]
    else:
        try:
            sort_records(registry, schema, schema.objects(), sort, access)
            cleaned["sort"] = sort.strip()
        except ListParamsError as error:
            errors.update(error.errors)
    search = config.get("search") or ""
    if not isinstance(search, str) or len(search) > SEARCH_MAX_LENGTH:
        errors["search"] = [
            _("Expected text of at most %(n)d characters.") % {"n": SEARCH_MAX_LENGTH}
        ]
    else:
        try:
            if search.strip():
                search_q(schema, search.strip(), access)
            cleaned["search"] = search.strip()
        except FieldValueError as error:
            errors["search"] = [error.message]
    rows: list[dict[str, str]] = []
    try:
        rows = cleaned["filters"] = clean_filters(schema, config.get("filters") or [], access)
    except InvalidInput as error:
        errors.update(error.errors)
    where = config.get("where") or ""
    if not isinstance(where, str):
        errors["where"] = [_("Expected a formula condition as text.")]
    else:
        try:
            if where.strip():
                where_records(
                    schema, schema.objects(), where.strip(), user=access.user, access=access
                )
            cleaned["where"] = where.strip()
        except ListParamsError as error:
            errors["where"] = error.errors.get("where", [error.message])
            formula = error.formula
    if rows and "where" in cleaned and "filters" not in errors:
        written = filter_expression(schema, rows, access)
        expression, _offset = combined_where(cleaned["where"], written)
        try:
            where_records(schema, schema.objects(), expression, user=access.user, access=access)
        except ListParamsError as error:
            errors["filters"] = error.errors.get("where", [error.message])
    try:
        cleaned["page_size"] = _page_size(config.get("page_size") or DEFAULT_PAGE_SIZE)
    except FieldValueError as error:
        errors["page_size"] = [error.message]
    kanban = config.get("kanban_field")
    if kanban is not None:
        choice_ids = {
            f.pk
            for f in schema.fields
            if f.type in ("choice", "status") and f.pk not in access.hidden(schema)
        }
        if kanban not in choice_ids or isinstance(kanban, bool):
            errors["kanban_field"] = [
                _("%(value)r is not a choice field of %(entity)s.")
                % {"value": kanban, "entity": schema.slug}
            ]
        else:
            cleaned["kanban_field"] = kanban
    if errors:
        raise InvalidInput(errors, formula=formula)
    return cleaned
