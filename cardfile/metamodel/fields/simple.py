"""Boolean, date, datetime, choice, multi_choice and json field types."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from babel import dates as babel_dates
from django.db import models
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ._locale import babel_locale
from .base import (
    BASE_OPERATORS,
    ORDERED_OPERATORS,
    FieldOptionsError,
    FieldType,
    FieldValueError,
    register,
)

_TRUE = {"true", "1", "yes", "y", "on", "да", "ja", "oui", "sí", "si"}
_FALSE = {"false", "0", "no", "n", "off", "нет", "nein", "non"}


@register
class BooleanType(FieldType):
    name = "boolean"
    label = gettext_lazy("Yes / no")
    formula_type = "boolean"
    can_be_unique = False

    def db_field(self, field):
        return models.BooleanField(**self.column_kwargs(field))

    def coerce(self, field, value):
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str):
            text = value.strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
        raise FieldValueError(
            _("%(value)r is not yes or no (expected true or false).") % {"value": value}
        )

    def format(self, field, value, *, locale=None):
        if value is None:
            return ""
        return _("Yes") if value else _("No")

    def value_schema(self, field):
        return {"type": "boolean"}


@register
class DateType(FieldType):
    name = "date"
    label = gettext_lazy("Date")
    formula_type = "date"
    filter_operators = ORDERED_OPERATORS

    def db_field(self, field):
        return models.DateField(**self.column_kwargs(field))

    def coerce(self, field, value):
        if isinstance(value, dt.datetime):
            return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            text = value.strip()
            try:
                parsed = parse_date(text)
            except ValueError:
                parsed = None
            if parsed is None:
                # A datetime's text (from a type change or an import) keeps its local date.
                try:
                    moment = parse_datetime(text)
                except ValueError:
                    moment = None
                if moment is not None:
                    return self.coerce(field, moment)
            if parsed is not None:
                return parsed
        raise FieldValueError(
            _("%(value)r is not a date (expected YYYY-MM-DD).") % {"value": value}
        )

    def serialize(self, field, value):
        return None if value is None else value.isoformat()

    def format(self, field, value, *, locale=None):
        if value is None:
            return ""
        return babel_dates.format_date(value, format="medium", locale=babel_locale(locale))

    def value_schema(self, field):
        return {"type": "string", "format": "date"}


@register
class DateTimeType(FieldType):
    """Stored in UTC; a value without a zone is taken in the installation's time zone."""

    name = "datetime"
    label = gettext_lazy("Date and time")
    formula_type = "datetime"
    filter_operators = ORDERED_OPERATORS

    def db_field(self, field):
        return models.DateTimeField(**self.column_kwargs(field))

    def coerce(self, field, value):
        moment = None
        if isinstance(value, dt.datetime):
            moment = value
        elif isinstance(value, dt.date):
            moment = dt.datetime.combine(value, dt.time())
        elif isinstance(value, str):
            text = value.strip()
            try:
                moment = parse_datetime(text)
                if moment is None and (day := parse_date(text)) is not None:
                    moment = dt.datetime.combine(day, dt.time())
            except ValueError:
                moment = None
        if moment is None:
            raise FieldValueError(
                _("%(value)r is not a date and time (expected ISO 8601, e.g. 2026-05-01T14:30).")
                % {"value": value}
            )
        try:
            if timezone.is_naive(moment):
                moment = timezone.make_aware(moment)
            # Stored in UTC, so it must exist there; an offset such as +16:46, which Python
            # takes and PostgreSQL does not, never reaches the database as it came.
            return moment.astimezone(dt.UTC)
        except (OverflowError, ValueError):
            raise FieldValueError(
                _("%(value)r is outside the years 1 to 9999.") % {"value": value}
            ) from None

    def serialize(self, field, value):
        return None if value is None else timezone.localtime(value).isoformat()

    def format(self, field, value, *, locale=None):
        if value is None:
            return ""
        return babel_dates.format_datetime(
            value,
            format="medium",
            tzinfo=timezone.get_current_timezone(),
            locale=babel_locale(locale),
        )

    def value_schema(self, field):
        return {"type": "string", "format": "date-time"}


_CHOICES_SCHEMA = {
    "type": "array",
    "minItems": 1,
    "items": {
        "oneOf": [
            {"type": "string", "minLength": 1},
            {
                "type": "object",
                "properties": {
                    "value": {"type": "string", "minLength": 1},
                    "label": {"type": "string"},
                    "color": {"type": "string"},
                },
                "required": ["value"],
                "additionalProperties": False,
            },
        ]
    },
}


class _ChoiceBase(FieldType):
    options_schema = {
        "type": "object",
        "properties": {"choices": _CHOICES_SCHEMA},
        "required": ["choices"],
    }

    def check_options(self, options):
        normalised = []
        for item in options["choices"]:
            entry = {"value": item} if isinstance(item, str) else dict(item)
            entry.setdefault("label", entry["value"])
            entry.setdefault("color", "")
            normalised.append(entry)
        values = [c["value"] for c in normalised]
        duplicates = sorted({v for v in values if values.count(v) > 1})
        if duplicates:
            raise FieldOptionsError(
                _("Each choice must appear once; repeated: %(values)s.")
                % {"values": ", ".join(duplicates)},
                errors={"choices": [_("Repeated values.")]},
            )
        return {**options, "choices": normalised}

    def items(self, field) -> list[dict[str, Any]]:
        """The choices as ``{"value", "label", "color"}`` (a status's states)."""
        return field.options.get("choices", [])

    def values(self, field) -> list[str]:
        return [c["value"] for c in self.items(field)]

    def match(self, field, value: Any, *, by_label: bool) -> str:
        if not isinstance(value, str):
            value = str(value)
        for choice in self.items(field):
            if choice["value"] == value:
                return choice["value"]
        if by_label:  # imports and type changes: match labels too, ignoring case and spaces
            wanted = value.strip().casefold()
            for choice in self.items(field):
                if wanted in (choice["value"].casefold(), str(choice["label"]).casefold()):
                    return choice["value"]
        raise FieldValueError(
            _("%(value)r is not one of the choices: %(choices)s.")
            % {"value": value, "choices": ", ".join(self.values(field))}
        )

    def label_of(self, field, value: str) -> str:
        for choice in self.items(field):
            if choice["value"] == value:
                return str(choice["label"])
        return value


@register
class ChoiceType(_ChoiceBase):
    name = "choice"
    label = gettext_lazy("Choice")
    formula_type = "choice"
    filter_operators = (*BASE_OPERATORS, "contains", "icontains", "startswith")

    def db_field(self, field):
        return models.TextField(**self.column_kwargs(field))

    def coerce(self, field, value):
        return self.match(field, value, by_label=False)

    def from_text(self, field, text):
        if self.is_blank(text.strip() if isinstance(text, str) else text):
            return None
        return self.match(field, text, by_label=True)

    def format(self, field, value, *, locale=None):
        return "" if value is None else self.label_of(field, value)

    def value_schema(self, field):
        return {"type": "string", "enum": self.values(field)}


@register
class MultiChoiceType(_ChoiceBase):
    """A list of choice values, stored as a JSON array in the order of the choices."""

    name = "multi_choice"
    label = gettext_lazy("Multiple choice")
    formula_type = "text"
    filter_operators = ("contains", "isnull")
    can_be_unique = False
    can_be_indexed = False

    def db_field(self, field):
        return models.JSONField(**self.column_kwargs(field))

    def _ordered(self, field, chosen: set[str]) -> list[str] | None:
        ordered = [v for v in self.values(field) if v in chosen]
        return ordered or None

    def coerce(self, field, value):
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list | tuple):
            raise FieldValueError(
                _("Expected a list of choices, got %(value)r.") % {"value": value}
            )
        return self._ordered(field, {self.match(field, v, by_label=False) for v in value})

    def from_text(self, field, text):
        if not isinstance(text, str):
            return self.to_internal(field, text)
        parts = [p for p in (p.strip() for p in text.replace(";", ",").split(",")) if p]
        return self._ordered(field, {self.match(field, p, by_label=True) for p in parts})

    def to_text(self, field, value):
        return None if not value else ", ".join(value)

    def format(self, field, value, *, locale=None):
        return ", ".join(self.label_of(field, v) for v in value or [])

    def value_schema(self, field):
        return {
            "type": "array",
            "items": {"type": "string", "enum": self.values(field)},
            "uniqueItems": True,
        }


@register
class JsonType(FieldType):
    name = "json"
    label = gettext_lazy("JSON")
    formula_type = None
    filter_operators = ("isnull",)
    can_be_unique = False
    can_be_indexed = False

    def db_field(self, field):
        return models.JSONField(**self.column_kwargs(field))

    def is_blank(self, value):
        return value is None

    def coerce(self, field, value):
        try:
            text = json.dumps(value)
        except (TypeError, ValueError):
            raise FieldValueError(_("The value cannot be stored as JSON.")) from None
        if "\\u0000" in text:  # PostgreSQL's jsonb refuses the NUL character
            raise FieldValueError(_("JSON text cannot contain the NUL character (\\u0000)."))
        return value

    def from_text(self, field, text):
        if not isinstance(text, str):
            return self.to_internal(field, text)
        if not text.strip():
            return None
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return text  # plain text converted to JSON stays a JSON string

    def to_text(self, field, value):
        if value is None:
            return None
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)

    def value_schema(self, field):
        return {"description": _("Any JSON value.")}
