"""The field-type interface and its registry.

A field type is one small class: its column(s), the JSON Schema of its options, how a value is
validated (`to_internal`), serialized (`serialize`), read from text on import or type change
(`from_text`), written as text (`to_text`), formatted for people (`format`), its filter operators
and its type in the formula language.

Blank is ``None`` for every type: an empty string, an empty list or ``null`` all store NULL, so
"is blank" means one thing everywhere (``isnull`` filters, required checks, formulas).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar

import jsonschema
from django.db import models
from django.utils.translation import gettext as _

from cardfile.core.exceptions import CardfileError

if TYPE_CHECKING:
    from cardfile.metamodel.models import Field


class FieldValueError(CardfileError):
    """A value that the field cannot take; ``message`` says what would be accepted."""

    code = "invalid_value"


class FieldOptionsError(CardfileError):
    """Options that do not fit the field type; ``details['errors']`` maps option to messages."""

    code = "invalid_options"


BASE_OPERATORS = ("exact", "ne", "in", "isnull")
ORDERED_OPERATORS = (*BASE_OPERATORS, "lt", "lte", "gt", "gte", "range")
TEXT_OPERATORS = (*BASE_OPERATORS, "contains", "icontains", "startswith", "lt", "lte", "gt", "gte")


class FieldType:
    """Base of every field type. Subclasses set the class attributes and override a few methods."""

    name: ClassVar[str]
    label: ClassVar[Any]
    options_schema: ClassVar[dict[str, Any]] = {"type": "object", "properties": {}}
    formula_type: ClassVar[str | None] = None
    filter_operators: ClassVar[tuple[str, ...]] = BASE_OPERATORS
    can_be_unique: ClassVar[bool] = True
    can_be_indexed: ClassVar[bool] = True
    # False for types whose value is not a column of the entity's own table.
    has_column: ClassVar[bool] = True
    # Whether values can move to and from another type through their text form.
    text_convertible: ClassVar[bool] = True
    # Whether a value may be given on create/update (autonumber is assigned by the service).
    writable: ClassVar[bool] = True

    # -- options -------------------------------------------------------------------------------

    def clean_options(self, options: dict[str, Any] | None) -> dict[str, Any]:
        """Validate options against the type's JSON Schema and fill in the defaults."""
        options = dict(options or {})
        schema = {"additionalProperties": False, **self.options_schema}
        errors: dict[str, list[str]] = {}
        for error in jsonschema.Draft202012Validator(schema).iter_errors(options):
            path = ".".join(str(p) for p in error.absolute_path) or "options"
            errors.setdefault(path, []).append(error.message)
        if errors:
            raise FieldOptionsError(
                _("The options do not fit a field of type %(type)s.") % {"type": self.name},
                errors=errors,
            )
        for key, spec in self.options_schema.get("properties", {}).items():
            if "default" in spec and key not in options:
                options[key] = spec["default"]
        return self.check_options(options)

    def check_options(self, options: dict[str, Any]) -> dict[str, Any]:
        """Checks that JSON Schema cannot express; return the options, possibly normalised."""
        return options

    def column_signature(self, field: Field) -> tuple[Any, ...]:
        """What the column's SQL type depends on; a change of it needs a new column."""
        return (self.name,)

    # -- storage -------------------------------------------------------------------------------

    def db_field(self, field: Field) -> models.Field:
        """The Django field for the entity's own table (when ``has_column``)."""
        raise TypeError(f"{self.name} has no column of its own")

    def model_fields(self, field: Field) -> dict[str, models.Field]:
        """Attribute name -> Django field, for the entity's generated model."""
        if not self.has_column:
            return {}
        return {field.attname: self.db_field(field)}

    def column_kwargs(self, field: Field) -> dict[str, Any]:
        return {"null": True, "blank": True, "db_column": field.column, "verbose_name": field.label}

    def get_value(self, field: Field, obj: Any) -> Any:
        return getattr(obj, field.attname)

    def set_value(self, field: Field, obj: Any, value: Any) -> None:
        setattr(obj, field.attname, value)

    # -- values --------------------------------------------------------------------------------

    def is_blank(self, value: Any) -> bool:
        return value is None or value == "" or value == [] or value == {}

    def to_internal(self, field: Field, value: Any) -> Any:
        """A JSON value (API, services) -> the Python value to store, or FieldValueError."""
        if self.is_blank(value):
            return None
        return self.validate(field, self.coerce(field, value))

    def coerce(self, field: Field, value: Any) -> Any:
        return value

    def validate(self, field: Field, value: Any) -> Any:
        """Checks on a coerced, non-blank value (ranges, lengths); return the value."""
        return value

    def serialize(self, field: Field, value: Any) -> Any:
        """The stored Python value -> JSON."""
        return value

    def from_text(self, field: Field, text: str) -> Any:
        """Text from an import or from another type's `to_text` -> the value to store."""
        return self.to_internal(field, text.strip() if isinstance(text, str) else text)

    def to_text(self, field: Field, value: Any) -> str | None:
        if value is None:
            return None
        serialized = self.serialize(field, value)
        return serialized if isinstance(serialized, str) else str(serialized)

    def format(self, field: Field, value: Any, *, locale: str | None = None) -> str:
        """The value as a person reads it, in the given locale."""
        text = self.to_text(field, value)
        return "" if text is None else text

    def value_schema(self, field: Field) -> dict[str, Any]:
        """The JSON Schema (OpenAPI 3.1) of a non-blank value as the API exchanges it."""
        return {}


_REGISTRY: dict[str, FieldType] = {}


def register(cls: type[FieldType]) -> type[FieldType]:
    """Class decorator: make a field type available by its ``name``."""
    if cls.name in _REGISTRY:
        raise ValueError(f"field type {cls.name!r} is registered twice")
    _REGISTRY[cls.name] = cls()
    return cls


def get_field_type(name: str) -> FieldType:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise FieldOptionsError(
            _("Unknown field type %(type)s. Known types: %(known)s.")
            % {"type": name, "known": ", ".join(sorted(_REGISTRY))},
            code="unknown_type",
        ) from None


def field_type_names() -> Iterable[str]:
    return sorted(_REGISTRY)
