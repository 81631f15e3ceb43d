"""Computed field types: formula, lookup and rollup.

Their values are stored columns written only by the formula recompute (`metamodel.formulas`):
never given on create or update. The column's type follows the formula's result type, which
the schema services infer and keep in ``options["result"]`` (``{"type", "currency",
"target"}``); storing, reading and showing a value is delegated to the field type of that
result (a money formula stores like a money field, a percent one in points).

``lookup`` (``{"through": <link>, "field": <field of the target>}``) and ``rollup``
(``{"through": <child table>, "field", "aggregate": sum|count|avg|min|max}``) are shorthands
for the formulas ``through.field`` and ``SUM(through.field)``.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy

from .base import ORDERED_OPERATORS, TEXT_OPERATORS, FieldType, get_field_type, register

# Result kind of the formula language -> the field type that stores it.
STORAGE = {
    "integer": "integer",
    "decimal": "decimal",
    "percent": "percent",
    "money": "money",
    "text": "text",
    "choice": "text",
    "boolean": "boolean",
    "date": "date",
    "datetime": "datetime",
    "duration": "duration",
    "link": "integer",
    "user": "integer",
    "blank": "text",
}
AGGREGATES = ("sum", "count", "avg", "min", "max")
_SLUG = {"type": "string", "pattern": "^[a-z][a-z0-9_]*$", "maxLength": 63}
_COMMON = {
    "decimal_places": {"type": "integer", "minimum": 0, "maximum": 10, "default": 2},
    # Set by the schema services from the checked formula; not for people to write.
    "result": {
        "type": "object",
        "properties": {
            "type": {"enum": list(STORAGE)},
            "currency": {"type": ["string", "null"]},
            "target": {"type": ["string", "null"]},
        },
    },
}


class ComputedType(FieldType):
    """Base of the computed types: storage delegated to the type of the result."""

    writable = False
    text_convertible = False
    can_be_unique = False
    filter_operators = tuple(dict.fromkeys((*TEXT_OPERATORS, *ORDERED_OPERATORS)))

    def expression(self, field) -> str:
        """The formula text this field computes (lookup and rollup build theirs)."""
        return field.options["expression"]

    def result_kind(self, field) -> str:
        return (field.options.get("result") or {}).get("type") or "text"

    def storage(self, field) -> tuple[FieldType, Any]:
        """The field type storing the result, and a shadow field of that type with this
        field's id (so the column keeps its name ``f<id>``)."""
        from cardfile.metamodel.models import Field

        # Fields live in the schema registry for a whole schema version and every value read
        # or shown asks for this; the shadow is made once per field and definition.
        key = (self.column_signature(field), field.column_rev, field.slug, field.label)
        cached = field.__dict__.get("_cf_storage")
        if cached is not None and cached[0] == key:
            return cached[1]
        kind = self.result_kind(field)
        name = STORAGE[kind]
        options: dict[str, Any] = {}
        if name in ("decimal", "percent"):
            options["decimal_places"] = field.options.get("decimal_places", 2)
        if name == "money":
            currency = (field.options.get("result") or {}).get("currency")
            if currency:
                options["currency"] = currency
        shadow = Field(
            pk=field.pk,
            entity_id=field.entity_id,
            slug=field.slug,
            label=field.label,
            type=name,
            options=options,
            column_rev=field.column_rev,
        )
        field.__dict__["_cf_storage"] = (key, (get_field_type(name), shadow))
        return get_field_type(name), shadow

    def column_signature(self, field):
        result = field.options.get("result") or {}
        return (
            "computed",
            self.result_kind(field),
            field.options.get("decimal_places", 2),
            result.get("currency"),
        )

    def model_fields(self, field):
        ftype, shadow = self.storage(field)
        return ftype.model_fields(shadow)

    def get_value(self, field, obj):
        ftype, shadow = self.storage(field)
        return ftype.get_value(shadow, obj)

    def set_value(self, field, obj, value):
        ftype, shadow = self.storage(field)
        ftype.set_value(shadow, obj, value)

    def coerce(self, field, value):
        ftype, shadow = self.storage(field)
        return ftype.coerce(shadow, value)

    def from_text(self, field, text):
        ftype, shadow = self.storage(field)
        return ftype.from_text(shadow, text)

    def serialize(self, field, value):
        ftype, shadow = self.storage(field)
        return ftype.serialize(shadow, value)

    def to_text(self, field, value):
        ftype, shadow = self.storage(field)
        return ftype.to_text(shadow, value)

    def format(self, field, value, *, locale=None):
        ftype, shadow = self.storage(field)
        return ftype.format(shadow, value, locale=locale)

    def value_schema(self, field):
        ftype, shadow = self.storage(field)
        return {**ftype.value_schema(shadow), "readOnly": True}


@register
class FormulaFieldType(ComputedType):
    name = "formula"
    label = gettext_lazy("Formula")
    options_schema = {
        "type": "object",
        "properties": {"expression": {"type": "string", "minLength": 1}, **_COMMON},
        "required": ["expression"],
    }


@register
class LookupType(ComputedType):
    name = "lookup"
    label = gettext_lazy("Lookup through a link")
    options_schema = {
        "type": "object",
        "properties": {"through": _SLUG, "field": _SLUG, **_COMMON},
        "required": ["through", "field"],
    }

    def expression(self, field) -> str:
        return f"{field.options['through']}.{field.options['field']}"


@register
class RollupType(ComputedType):
    name = "rollup"
    label = gettext_lazy("Rollup of lines")
    options_schema = {
        "type": "object",
        "properties": {
            "through": _SLUG,
            "field": _SLUG,
            "aggregate": {"enum": list(AGGREGATES), "default": "sum"},
            **_COMMON,
        },
        "required": ["through", "field"],
    }

    def expression(self, field) -> str:
        aggregate = field.options.get("aggregate", "sum").upper()
        return f"{aggregate}({field.options['through']}.{field.options['field']})"


COMPUTED_TYPES = frozenset({"formula", "lookup", "rollup"})
