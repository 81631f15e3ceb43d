"""Number-like field types: integer, decimal, percent, money, duration.

Decimal values are exact (``decimal.Decimal``) end to end: no binary floats touch money.
A percent is stored and exchanged in points: ``"15.00"`` is 15 %.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from babel import numbers as babel_numbers
from django.conf import settings
from django.db import models
from django.utils.dateparse import parse_duration
from django.utils.duration import duration_iso_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ._locale import babel_locale
from .base import ORDERED_OPERATORS, FieldType, FieldValueError, register

MAX_DIGITS = 20
BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1
_RANGE_OPTIONS = {"min_value": {"type": "number"}, "max_value": {"type": "number"}}


def _to_decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise FieldValueError(_("Expected a number, got %(value)r.") % {"value": value})
    if isinstance(value, float):
        value = repr(value)  # the shortest text that round-trips, not the binary expansion
    if isinstance(value, str):
        value = value.strip().replace(" ", "").replace("\u00a0", "")
        if value.count(",") == 1 and "." not in value:
            value = value.replace(",", ".")  # "12,50" as typed in much of Europe
    try:
        number = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise FieldValueError(_("%(value)r is not a number.") % {"value": value}) from None
    if not number.is_finite():
        raise FieldValueError(_("%(value)r is not a finite number.") % {"value": value})
    return number


def _check_range(field, value) -> None:
    low, high = field.options.get("min_value"), field.options.get("max_value")
    if low is not None and value < Decimal(str(low)):
        raise FieldValueError(_("Must be at least %(min)s.") % {"min": low})
    if high is not None and value > Decimal(str(high)):
        raise FieldValueError(_("Must be at most %(max)s.") % {"max": high})


def _check_places(value: Decimal, places: int, *, column_places: int | None = None) -> Decimal:
    """Round-trip-safe: at most ``places`` decimals, and as many integer digits as a column
    with ``column_places`` decimals (default: ``places``) of MAX_DIGITS digits can hold."""
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places:
        raise FieldValueError(
            _("At most %(places)d digits after the decimal point.") % {"places": places}
        )
    quantized = value.quantize(Decimal(1).scaleb(-places))
    integer_digits = MAX_DIGITS - (places if column_places is None else column_places)
    if quantized.adjusted() >= integer_digits:
        raise FieldValueError(
            _("Too large: at most %(digits)d digits before the decimal point.")
            % {"digits": integer_digits}
        )
    return quantized


@register
class IntegerType(FieldType):
    name = "integer"
    label = gettext_lazy("Integer")
    formula_type = "number"
    filter_operators = ORDERED_OPERATORS
    options_schema = {"type": "object", "properties": dict(_RANGE_OPTIONS)}

    def db_field(self, field):
        return models.BigIntegerField(**self.column_kwargs(field))

    def coerce(self, field, value):
        number = _to_decimal(value)
        if number != number.to_integral_value():
            raise FieldValueError(_("%(value)r is not a whole number.") % {"value": value})
        return int(number)

    def validate(self, field, value):
        if not BIGINT_MIN <= value <= BIGINT_MAX:
            raise FieldValueError(_("The number is too large."))
        _check_range(field, value)
        return value

    def value_schema(self, field):
        low, high = field.options.get("min_value"), field.options.get("max_value")
        return {
            "type": "integer",
            "format": "int64",
            "minimum": BIGINT_MIN if low is None else max(low, BIGINT_MIN),
            "maximum": BIGINT_MAX if high is None else min(high, BIGINT_MAX),
        }

    def format(self, field, value, *, locale=None):
        return (
            ""
            if value is None
            else babel_numbers.format_decimal(value, locale=babel_locale(locale))
        )


@register
class DecimalType(FieldType):
    name = "decimal"
    label = gettext_lazy("Decimal")
    formula_type = "number"
    filter_operators = ORDERED_OPERATORS
    options_schema = {
        "type": "object",
        "properties": {
            "decimal_places": {"type": "integer", "minimum": 0, "maximum": 10, "default": 2},
            **_RANGE_OPTIONS,
        },
    }

    def column_signature(self, field):
        return (self.name, field.options.get("decimal_places", 2))

    def db_field(self, field):
        places = field.options.get("decimal_places", 2)
        return models.DecimalField(
            max_digits=MAX_DIGITS, decimal_places=places, **self.column_kwargs(field)
        )

    def coerce(self, field, value):
        return _to_decimal(value)

    def validate(self, field, value):
        value = _check_places(value, field.options.get("decimal_places", 2))
        _check_range(field, value)
        return value

    def value_schema(self, field):
        """Exact text, so no digit is lost to binary floats (numbers are accepted too)."""
        places = field.options.get("decimal_places", 2)
        fraction = rf"(\.[0-9]{{1,{places}}})?" if places else ""
        return {
            "type": "string",
            "format": "decimal",
            "pattern": rf"^-?[0-9]{{1,{MAX_DIGITS - places}}}{fraction}$",
            "examples": [str(Decimal(12).quantize(Decimal(1).scaleb(-places)))],
        }

    def serialize(self, field, value):
        return None if value is None else str(value)

    def format(self, field, value, *, locale=None):
        if value is None:
            return ""
        places = field.options.get("decimal_places", 2)
        pattern = "#,##0" + ("." + "0" * places if places else "")
        return babel_numbers.format_decimal(value, format=pattern, locale=babel_locale(locale))


@register
class PercentType(DecimalType):
    name = "percent"
    label = gettext_lazy("Percent")
    formula_type = "percent"

    def coerce(self, field, value):
        if isinstance(value, str) and value.strip().endswith("%"):
            value = value.strip()[:-1]
        return _to_decimal(value)

    def format(self, field, value, *, locale=None):
        if value is None:
            return ""
        return babel_numbers.format_percent(
            value / 100,
            format="#,##0." + "0" * field.options.get("decimal_places", 2) + "%",
            locale=babel_locale(locale),
        )


@register
class MoneyType(FieldType):
    """Two columns: the amount (exact decimal) and its ISO 4217 currency."""

    name = "money"
    label = gettext_lazy("Money")
    formula_type = "money"
    filter_operators = ORDERED_OPERATORS
    options_schema = {
        "type": "object",
        "properties": {"currency": {"type": "string", "pattern": "^[A-Z]{3}$"}, **_RANGE_OPTIONS},
    }
    AMOUNT_PLACES = 4

    def check_options(self, options):
        from .base import FieldOptionsError

        currency = options.get("currency")
        if currency and currency not in babel_numbers.list_currencies():
            raise FieldOptionsError(
                _("Unknown currency %(code)s (expected an ISO 4217 code such as EUR).")
                % {"code": currency},
                errors={"currency": [_("Unknown currency code.")]},
            )
        return options

    def currency_attname(self, field) -> str:
        return f"{field.attname}_cur"

    def model_fields(self, field):
        kwargs = self.column_kwargs(field)
        amount = models.DecimalField(
            max_digits=MAX_DIGITS, decimal_places=self.AMOUNT_PLACES, **kwargs
        )
        currency = models.CharField(
            max_length=3, null=True, blank=True, db_column=f"{field.column}_cur"
        )
        return {field.attname: amount, self.currency_attname(field): currency}

    def default_currency(self, field) -> str:
        return field.options.get("currency") or settings.CARDFILE_CURRENCY

    def get_value(self, field, obj):
        amount = getattr(obj, field.attname)
        if amount is None:
            return None
        return (amount, getattr(obj, self.currency_attname(field)) or self.default_currency(field))

    def set_value(self, field, obj, value):
        amount, currency = value if value is not None else (None, None)
        setattr(obj, field.attname, amount)
        setattr(obj, self.currency_attname(field), currency)

    def is_blank(self, value):
        if isinstance(value, dict):
            return value.get("amount") in (None, "")
        return super().is_blank(value)

    def coerce(self, field, value):
        if isinstance(value, tuple):
            amount, currency = value
        elif isinstance(value, dict):
            unknown = set(value) - {"amount", "currency"}
            if unknown:
                raise FieldValueError(
                    _('Unexpected keys %(keys)s; a money value is {"amount", "currency"}.')
                    % {"keys": ", ".join(sorted(unknown))}
                )
            amount, currency = value.get("amount"), value.get("currency")
        elif isinstance(value, str) and re.fullmatch(r"\s*[-\d.,\s]+\s+[A-Za-z]{3}\s*", value):
            amount, currency = value.strip().rsplit(None, 1)  # "12.50 EUR" from text
        else:
            amount, currency = value, None
        currency = (currency or self.default_currency(field)).upper()
        if currency not in babel_numbers.list_currencies():
            raise FieldValueError(
                _("Unknown currency %(code)s (expected an ISO 4217 code such as EUR).")
                % {"code": currency}
            )
        return _to_decimal(amount), currency

    def validate(self, field, value):
        amount, currency = value
        amount = _check_places(
            amount,
            babel_numbers.get_currency_precision(currency),
            column_places=self.AMOUNT_PLACES,
        )
        _check_range(field, amount)
        return amount, currency

    def value_schema(self, field):
        return {
            "type": "object",
            "properties": {
                "amount": {
                    "type": "string",
                    "format": "decimal",
                    "pattern": rf"^-?[0-9]{{1,{MAX_DIGITS - self.AMOUNT_PLACES}}}"
                    rf"(\.[0-9]{{1,{self.AMOUNT_PLACES}}})?$",
                    "examples": ["12.50"],
                },
                "currency": {
                    "type": "string",
                    "pattern": "^[A-Z]{3}$",
                    "default": self.default_currency(field),
                },
            },
            "required": ["amount"],
            "additionalProperties": False,
        }

    def serialize(self, field, value):
        if value is None:
            return None
        amount, currency = value
        places = babel_numbers.get_currency_precision(currency)
        return {"amount": str(amount.quantize(Decimal(1).scaleb(-places))), "currency": currency}

    def to_text(self, field, value):
        if value is None:
            return None
        data = self.serialize(field, value)
        return f"{data['amount']} {data['currency']}"

    def format(self, field, value, *, locale=None):
        if value is None:
            return ""
        amount, currency = value
        return babel_numbers.format_currency(amount, currency, locale=babel_locale(locale))


_SHORT_DURATION = re.compile(
    r"^\s*(?:(?P<d>\d+(?:\.\d+)?)\s*d)?\s*(?:(?P<h>\d+(?:\.\d+)?)\s*h)?\s*"
    r"(?:(?P<m>\d+(?:\.\d+)?)\s*m(?:in)?)?\s*(?:(?P<s>\d+(?:\.\d+)?)\s*s)?\s*$",
    re.IGNORECASE,
)


def _safe_timedelta(value: Any, **parts: float) -> timedelta:
    try:
        return timedelta(**parts)
    except (OverflowError, ValueError):
        raise FieldValueError(_("%(value)r is too long a duration.") % {"value": value}) from None


@register
class DurationType(FieldType):
    """Exchanged as ISO 8601 (``P0DT01H30M00S``); accepts ``1:30``, ``1h 30m``, ``PT90M``."""

    name = "duration"
    label = gettext_lazy("Duration")
    formula_type = "duration"
    filter_operators = ORDERED_OPERATORS

    def db_field(self, field):
        return models.DurationField(**self.column_kwargs(field))

    def coerce(self, field, value):
        if isinstance(value, timedelta):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return _safe_timedelta(value, seconds=value)
        if isinstance(value, str):
            text = value.strip()
            if re.fullmatch(r"\d{1,4}:\d{2}", text):  # "1:30" is hours and minutes
                text += ":00"
            try:
                parsed = parse_duration(text)
            except (OverflowError, ValueError):
                raise FieldValueError(
                    _("%(value)r is too long a duration.") % {"value": value}
                ) from None
            if parsed is None and (match := _SHORT_DURATION.match(text)) and any(match.groups()):
                parts = {k: float(v) for k, v in match.groupdict().items() if v}
                parsed = _safe_timedelta(
                    value,
                    days=parts.get("d", 0),
                    hours=parts.get("h", 0),
                    minutes=parts.get("m", 0),
                    seconds=parts.get("s", 0),
                )
            if parsed is not None:
                return parsed
        raise FieldValueError(
            _("%(value)r is not a duration (expected e.g. 1:30, 1h 30m or PT1H30M).")
            % {"value": value}
        )

    def serialize(self, field, value):
        return None if value is None else duration_iso_string(value)

    def value_schema(self, field):
        # Read back as Django's ISO 8601 form; written also as "1:30", "1h 30m" or seconds.
        return {"type": "string", "examples": ["P0DT01H30M00S", "PT90M", "1:30"]}

    def format(self, field, value, *, locale=None):
        if value is None:
            return ""
        from babel.dates import format_timedelta

        return format_timedelta(value, threshold=10, locale=babel_locale(locale))
