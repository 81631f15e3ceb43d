"""Saved list views of an entity (columns, sort, filter, search) and the filter builder that
writes their ``where`` expression.

A view without a user is shared with everyone who may read the entity; creating or changing
one needs the ``configure`` right. A personal view belongs to its user alone. A view's
settings are checked the way a list reads them (`record_list`'s sort, search and ``where``
parsing), so a view that could not be shown is refused when it is saved, with the error.

The filter builder turns rows of (field, operator, value) into a formula condition. Values
become formula literals here and nowhere else: text is double-quoted with quotes doubled
(the grammar's only escape), numbers and dates are parsed first, so user text can never leave
its literal.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.db.models import Max, Q
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cardfile.core.exceptions import InvalidInput, NotFound, PermissionDenied
from cardfile.core.models import AuditLog
from cardfile.core.services import audit_log_record
from cardfile.metamodel.access import Access, access_for, require
from cardfile.metamodel.fields import FieldValueError, get_field_type
from cardfile.metamodel.models import Field, SavedView
from cardfile.metamodel.records.filtering import (
    ListParamsError,
    search_q,
    sort_records,
    where_records,
)
from cardfile.metamodel.schema.dynamic import EntitySchema, get_registry

User = AbstractBaseUser | AnonymousUser | None

CONFIG_KEYS = ("columns", "sort", "where", "search", "filters", "page_size", "kanban_field")
PAGE_SIZES = (10, 25, 50, 100, 200)
DEFAULT_PAGE_SIZE = 25
NAME_MAX_LENGTH = 200
SEARCH_MAX_LENGTH = 200

# -- the filter builder ------------------------------------------------------------------------

# Each kind of field offers these operators, in this order (the first is the default).
OPERATORS: dict[str, tuple[str, ...]] = {
    "text": ("contains", "not_contains", "eq", "ne", "starts", "blank", "not_blank"),
    "number": ("eq", "ne", "lt", "lte", "gt", "gte", "blank", "not_blank"),
    "date": ("eq", "lt", "lte", "gt", "gte", "blank", "not_blank"),
    "datetime": ("eq", "lt", "lte", "gt", "gte", "blank", "not_blank"),
    "boolean": ("true", "false"),
    "choice": ("eq", "ne", "blank", "not_blank"),
    "link": ("contains", "blank", "not_blank"),
    "link_plain": ("blank", "not_blank"),  # a link whose records' titles the user cannot read
    "user": ("me", "blank", "not_blank"),
}
OPERATOR_LABELS: dict[str, Promise] = {
    "contains": gettext_lazy("contains"),
    "not_contains": gettext_lazy("does not contain"),
    "eq": gettext_lazy("is"),
    "ne": gettext_lazy("is not"),
    "starts": gettext_lazy("starts with"),
    "lt": gettext_lazy("less than"),
    "lte": gettext_lazy("at most"),
    "gt": gettext_lazy("greater than"),
    "gte": gettext_lazy("at least"),
    "blank": gettext_lazy("is empty"),
    "not_blank": gettext_lazy("is not empty"),
    "true": gettext_lazy("is yes"),
    "false": gettext_lazy("is no"),
    "me": gettext_lazy("is me"),
}
# Operators that take no value.
NO_VALUE = frozenset({"blank", "not_blank", "true", "false", "me"})
_COMPARE = {"eq": "=", "ne": "<>", "lt": "<", "lte": "<=", "gt": ">", "gte": ">="}
_TEXT_TYPES = frozenset({"text", "long_text", "email", "phone", "url", "autonumber"})
_NUMBER_TYPES = frozenset({"integer", "decimal", "percent", "money"})
_KIND_OF_TYPE = {
    **dict.fromkeys(_TEXT_TYPES, "text"),
    **dict.fromkeys(_NUMBER_TYPES, "number"),
    "date": "date",
    "datetime": "datetime",
    "boolean": "boolean",
    "choice": "choice",
    "link": "link",
    "user": "user",
}
_COMPUTED = frozenset({"formula", "lookup", "rollup"})
_SYSTEM_FILTERS = (
    ("created_at", gettext_lazy("Created"), "datetime"),
    ("updated_at", gettext_lazy("Changed"), "datetime"),
)


@dataclass(frozen=True)
class FilterField:
    """A field the filter builder offers: its slug, label, kind and, for choices and links,
    what the value picker needs."""

    slug: str
    label: str
    kind: str
    choices: tuple[tuple[str, str], ...] = ()  # (value, label) of a choice field
    title: str = ""  # a link: the slug of the linked entity's title field

    @property
    def operators(self) -> list[tuple[str, str]]:
        return [(op, str(OPERATOR_LABELS[op])) for op in OPERATORS[self.kind]]


def _kind(f: Field) -> str | None:
    if f.type in _COMPUTED:
        storage, _shadow = get_field_type(f.type).storage(f)
        if f.options.get("result", {}).get("type") in ("link", "user"):
            return None
        return _KIND_OF_TYPE.get(storage.name)
    return _KIND_OF_TYPE.get(f.type)


def filter_fields(schema: EntitySchema, access: Access) -> list[FilterField]:
    """The fields of ``schema`` the user may filter on with the builder, in field order."""
    registry = get_registry()
    hidden = access.hidden(schema)
    found: list[FilterField] = []
    for f in schema.fields:
        kind = _kind(f)
        if kind is None or f.pk in hidden:
            continue
        if kind == "link":
            target = registry.entity_by_id(f.options["target_id"])
            title = target.entity.title_field_id
            title_field = next((g for g in target.fields if g.pk == title), None)
            readable = access.can("read", target) and title not in access.hidden(target)
            if title_field is None or not readable or _kind(title_field) != "text":
                found.append(FilterField(f.slug, f.label, "link_plain"))
                continue
            found.append(FilterField(f.slug, f.label, "link", title=title_field.slug))
        elif kind == "choice":
            choices = tuple(
                (c["value"], str(c.get("label") or c["value"]))
                for c in (_choice(c) for c in f.options.get("choices", []))
            )
            found.append(FilterField(f.slug, f.label, kind, choices=choices))
        else:
            found.append(FilterField(f.slug, f.label, kind))
    found.extend(FilterField(slug, str(label), kind) for slug, label, kind in _SYSTEM_FILTERS)
    return found


def _choice(item: Any) -> dict[str, Any]:
    return {"value": item, "label": item} if isinstance(item, str) else dict(item)


def text_literal(value: str) -> str:
    """``value`` as a formula string: double quotes around it, each quote inside doubled."""
    return '"' + value.replace('"', '""') + '"'


def _number_literal(raw: str) -> str:
    text = raw.strip().replace(" ", "").replace("\u00a0", "")
    if "," in text and "." not in text:
        text = text.replace(",", ".")  # a decimal comma
    try:
        number = Decimal(text)
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite():
        raise FieldValueError(_("Expected a number, got %(value)r.") % {"value": raw})
    sign = "-" if number < 0 else ""
    return sign + format(abs(number), "f")


def _date(raw: str) -> dt.date:
    try:
        return dt.date.fromisoformat(raw.strip())
    except ValueError:
        raise FieldValueError(
            _("Expected a date as YYYY-MM-DD, got %(value)r.") % {"value": raw}
        ) from None


def _condition(field: FilterField, op: str, raw: str) -> str:
    name = field.slug
    if op == "blank":
        return f"ISBLANK({name})"
    if op == "not_blank":
        return f"NOT ISBLANK({name})"
    if op == "true":
        return f"{name} = TRUE"
    if op == "false":
        return f"NOT COALESCE({name}, FALSE)"
    if op == "me":
        return f"{name} = ME()"
    if not raw.strip():
        raise FieldValueError(_("A value is required."))
    kind = field.kind
    if kind == "number":
        return f"{name} {_COMPARE[op]} {_number_literal(raw)}"
    if kind == "date":
        day = _date(raw)
        return f"{name} {_COMPARE[op]} DATE({day.year}, {day.month}, {day.day})"
    if kind == "datetime":
        day = _date(raw)
        return f'TEXT({name}, "YYYY-MM-DD") {_COMPARE[op]} "{day.isoformat()}"'
    if kind == "choice":
        values = [value for value, _label in field.choices]
        if raw not in values:
            raise FieldValueError(
                _("%(value)r is not one of the choices: %(choices)s.")
                % {"value": raw, "choices": ", ".join(values)}
            )
        return f"{name} {_COMPARE[op]} {text_literal(raw)}"
    if kind == "link":
        if not field.title:
            raise FieldValueError(
                _("The records %(field)s links to have no title you may read.") % {"field": name}
            )
        return f"CONTAINS({name}.{field.title}, {text_literal(raw.strip())})"
    value = raw.strip()
    if op == "contains":
        return f"CONTAINS({name}, {text_literal(value)})"
    if op == "not_contains":
        return f"NOT CONTAINS({name}, {text_literal(value)})"
    if op == "starts":
        return f"LOWER(LEFT({name}, {len(value)})) = LOWER({text_literal(value)})"
    return f"{name} {_COMPARE[op]} {text_literal(value)}"


def clean_filters(schema: EntitySchema, rows: Any, access: Access) -> list[dict[str, str]]:
    """Filter builder rows as stored: ``[{"field", "op", "value"}]``; `InvalidInput` keyed
    ``filters[<n>]`` (1-based) for each wrong row. Empty rows (no field) are dropped."""
    if not isinstance(rows, list):
        raise InvalidInput({"filters": [_("Expected a list of filter rows.")]})
    fields = {f.slug: f for f in filter_fields(schema, access)}
    cleaned: list[dict[str, str]] = []
    errors: dict[str, list[str]] = {}
    for number, row in enumerate(rows, start=1):
        key = f"filters[{number}]"
        if not isinstance(row, Mapping):
            errors[key] = [_("Expected a row with field, op and value.")]
            continue
        slug = str(row.get("field") or "").strip()
        if not slug:
            continue
        op = str(row.get("op") or "").strip()
        value = row.get("value")
        value = "" if value is None else str(value)
        field = fields.get(slug)
        if field is None:
            errors[key] = [
                _("%(field)s is not a field you can filter %(entity)s by.")
                % {"field": slug, "entity": schema.slug}
            ]
            continue
        if op not in OPERATORS[field.kind]:
            errors[key] = [
                _("%(field)s cannot be filtered with %(op)r; use one of: %(ops)s.")
                % {"field": slug, "op": op, "ops": ", ".join(OPERATORS[field.kind])}
            ]
            continue
        try:
            _condition(field, op, value)
        except FieldValueError as error:
            errors[key] = [f"{field.label}: {error.message}"]
            continue
        cleaned.append({"field": slug, "op": op, "value": "" if op in NO_VALUE else value})
    if errors:
        raise InvalidInput(errors)
    return cleaned


def filter_expression(schema: EntitySchema, rows: list[dict[str, str]], access: Access) -> str:
    """The condition the builder rows (as `clean_filters` leaves them) write, all joined with
    AND; empty for no rows."""
    fields = {f.slug: f for f in filter_fields(schema, access)}
    return " AND ".join(
        _condition(fields[row["field"]], row["op"], row.get("value", "")) for row in rows
    )


def combined_where(where: str, rows_expression: str) -> tuple[str, int]:
    """The typed ``where`` and the builder's condition as one expression, and the offset at
    which the typed text starts inside it (to place an error's caret under what was typed)."""
    where = where.strip()
    if not where:
        return rows_expression, 0
    if not rows_expression:
        return where, 0
    return f"({where}) AND {rows_expression}", 1


# -- settings of a view ------------------------------------------------------------------------


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
            f.pk for f in schema.fields if f.type == "choice" and f.pk not in access.hidden(schema)
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


# -- selectors ---------------------------------------------------------------------------------


def _readable(entity: str, user: User) -> tuple[EntitySchema, Access]:
    schema = get_registry().entity(entity)
    access = access_for(user)
    require(access, "read", schema)
    return schema, access


def _visible_to(user: User) -> Q:
    mine = Q(user_id=user.pk) if user is not None and user.is_authenticated else Q(pk__in=[])
    return Q(user__isnull=True) | mine


def saved_view_list(entity: str, user: User) -> list[SavedView]:
    """The views of ``entity`` the user may open: the shared ones, then their own."""
    schema, _access = _readable(entity, user)
    views = SavedView.objects.filter(_visible_to(user), entity_id=schema.entity.pk)
    return sorted(views, key=lambda v: (not v.shared, v.position, v.id))


def saved_view_get(entity: str, view_id: int, user: User) -> SavedView:
    """One view the user may open (shared, or their own), else `NotFound`."""
    schema, _access = _readable(entity, user)
    view = SavedView.objects.filter(
        _visible_to(user), entity_id=schema.entity.pk, pk=view_id
    ).first()
    if view is None:
        raise NotFound(
            _("There is no saved view #%(id)s of %(entity)s.") % {"id": view_id, "entity": entity},
            code="not_found",
        )
    return view


# -- services ----------------------------------------------------------------------------------


def _as_dict(view: SavedView) -> dict[str, Any]:
    return {"name": view.name, "shared": view.shared, "config": view.config}


def _audit(user: User, action: str, view: SavedView, before=None, after=None) -> None:
    audit_log_record(
        user=user,
        action=action,
        object_type="saved_view",
        object_id=view.pk,
        object_repr=f"{view.entity.slug}: {view.name}",
        before=before,
        after=after,
    )


def _require_configure(access: Access, schema: EntitySchema) -> None:
    if not access.can_configure(schema):
        raise PermissionDenied(
            _("Only users who may configure %(entity)s can change its shared views.")
            % {"entity": schema.slug},
            operation="configure",
            entity=schema.slug,
        )


def _clean_name(schema: EntitySchema, name: Any, owner_id: int | None, exclude: int | None) -> str:
    if not isinstance(name, str) or not name.strip():
        raise FieldValueError(_("A view needs a name."))
    name = name.strip()
    if len(name) > NAME_MAX_LENGTH:
        raise FieldValueError(_("A name has at most %(n)d characters.") % {"n": NAME_MAX_LENGTH})
    same = SavedView.objects.filter(entity_id=schema.entity.pk, user_id=owner_id, name=name)
    if exclude is not None:
        same = same.exclude(pk=exclude)
    if same.exists():
        raise FieldValueError(_("There is already a view named %(name)s.") % {"name": name})
    return name


def _owner_id(user: User) -> int | None:
    return user.pk if user is not None and user.is_authenticated else None


@transaction.atomic
def saved_view_create(
    *, entity: str, name: str, config: dict[str, Any], shared: bool = False, user: User
) -> SavedView:
    """Save a view of ``entity``: the user's own, or ``shared`` (needs ``configure``)."""
    schema, access = _readable(entity, user)
    if shared:
        _require_configure(access, schema)
    owner_id = None if shared else _owner_id(user)
    if not shared and owner_id is None:
        _require_configure(access, schema)  # the system saves shared views only
    errors: dict[str, list[str]] = {}
    formula = None
    try:
        name = _clean_name(schema, name, owner_id, None)
    except FieldValueError as error:
        errors["name"] = [error.message]
    try:
        config = clean_config(schema, config, access)
    except InvalidInput as error:
        errors.update(error.errors)
        formula = error.formula
    if errors:
        raise InvalidInput(errors, formula=formula)
    position = (
        SavedView.objects.filter(entity_id=schema.entity.pk).aggregate(Max("position"))[
            "position__max"
        ]
        or 0
    )
    view = SavedView.objects.create(
        entity=schema.entity, user_id=owner_id, name=name, config=config, position=position + 1
    )
    _audit(user, AuditLog.Action.CREATE, view, after=_as_dict(view))
    return view


def _changeable(entity: str, view_id: int, user: User) -> tuple[EntitySchema, Access, SavedView]:
    schema, access = _readable(entity, user)
    view = saved_view_get(entity, view_id, user)
    if view.shared:
        _require_configure(access, schema)
    return schema, access, view


@transaction.atomic
def saved_view_update(
    *,
    entity: str,
    view_id: int,
    user: User,
    name: str | None = None,
    config: dict[str, Any] | None = None,
    shared: bool | None = None,
) -> SavedView:
    """Rename a view, replace its settings or share it (or take it back as one's own); a
    shared view, before or after, needs ``configure``."""
    schema, access, view = _changeable(entity, view_id, user)
    before = _as_dict(view)
    if shared is not None and shared != view.shared:
        _require_configure(access, schema)
        view.user_id = None if shared else _owner_id(user)
    errors: dict[str, list[str]] = {}
    formula = None
    if name is not None or shared is not None:
        try:
            view.name = _clean_name(
                schema, view.name if name is None else name, view.user_id, view.pk
            )
        except FieldValueError as error:
            errors["name"] = [error.message]
    if config is not None:
        try:
            view.config = clean_config(schema, config, access)
        except InvalidInput as error:
            errors.update(error.errors)
            formula = error.formula
    if errors:
        raise InvalidInput(errors, formula=formula)
    view.save()
    _audit(user, AuditLog.Action.UPDATE, view, before=before, after=_as_dict(view))
    return view


@transaction.atomic
def saved_view_delete(*, entity: str, view_id: int, user: User) -> None:
    """Delete a view (one's own, or a shared one with ``configure``)."""
    _schema, _access, view = _changeable(entity, view_id, user)
    before = _as_dict(view)
    _audit(user, AuditLog.Action.DELETE, view, before=before)
    view.delete()
