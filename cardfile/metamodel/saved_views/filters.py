"""The filter builder: rows of (field, operator, value) become a formula condition for a
list's ``where``.

Values become formula literals here and nowhere else: text is double-quoted with quotes doubled
(the grammar's only escape), numbers and dates are parsed first, so user text can never leave
its literal.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cardfile.core.exceptions import InvalidInput
from cardfile.metamodel.access import Access
from cardfile.metamodel.fields import FieldValueError, get_field_type
from cardfile.metamodel.models import Field
from cardfile.metamodel.schema.dynamic import EntitySchema, get_registry

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
    "status": "choice",
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
                for c in (_choice(c) for c in get_field_type(f.type).items(f))
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
