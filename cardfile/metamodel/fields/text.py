"""Text-like field types: text, long_text, email, url, phone."""

from __future__ import annotations

from typing import Any

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .base import TEXT_OPERATORS, FieldType, FieldValueError, register


class _TextBase(FieldType):
    formula_type = "text"
    filter_operators = TEXT_OPERATORS

    def db_field(self, field):
        # TextField even for short text: changing max_length is then metadata only.
        return models.TextField(**self.column_kwargs(field))

    def coerce(self, field, value):
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise FieldValueError(_("Expected text, got %(value)r.") % {"value": value})
        text = str(value)
        if "\x00" in text:  # no database text type can hold it
            raise FieldValueError(_("Text cannot contain the NUL character (\\x00)."))
        return text

    def value_schema(self, field):
        return {"type": "string"}


@register
class TextType(_TextBase):
    name = "text"
    label = gettext_lazy("Text")
    # barcode: the field holds a code a scanner types (barcode, IMEI, serial number): the global
    # search opens the record whose field is exactly the scanned text
    options_schema = {
        "type": "object",
        "properties": {
            "max_length": {"type": "integer", "minimum": 1, "default": 255},
            "barcode": {"type": "boolean", "default": False},
        },
    }

    def validate(self, field, value):
        max_length = field.options.get("max_length", 255)
        if len(value) > max_length:
            raise FieldValueError(
                _("At most %(max)d characters (this has %(count)d).")
                % {"max": max_length, "count": len(value)}
            )
        if "\n" in value or "\r" in value:
            raise FieldValueError(_("A single line of text is expected; use long text for more."))
        return value

    def value_schema(self, field):
        max_length = field.options.get("max_length", 255)
        return {"type": "string", "maxLength": max_length, "pattern": "^[^\\r\\n]*$"}


@register
class LongTextType(_TextBase):
    name = "long_text"
    label = gettext_lazy("Long text")
    can_be_unique = False


@register
class EmailType(_TextBase):
    name = "email"
    label = gettext_lazy("Email")
    _validator = EmailValidator()

    def validate(self, field, value):
        value = value.strip()
        try:
            self._validator(value)
        except ValidationError:
            raise FieldValueError(
                _("%(value)r is not an email address (expected name@example.com).")
                % {"value": value}
            ) from None
        local, _at, domain = value.rpartition("@")
        return f"{local}@{domain.lower()}"

    def value_schema(self, field):
        return {"type": "string", "format": "email"}


@register
class UrlType(_TextBase):
    name = "url"
    label = gettext_lazy("URL")
    _validator = URLValidator(schemes=["http", "https", "ftp", "ftps"])

    def validate(self, field, value):
        value = value.strip()
        if "://" not in value:
            value = f"https://{value}"
        try:
            self._validator(value)
        except ValidationError:
            raise FieldValueError(
                _("%(value)r is not a web address (expected https://example.com/...).")
                % {"value": value}
            ) from None
        return value

    def value_schema(self, field):
        return {"type": "string", "format": "uri"}


def phone_e164(value: str, region: str | None = None) -> str | None:
    """``value`` in E.164 (+4930123456) if it is a valid number, read in ``region`` (the
    installation's by default) unless it starts with +; else None."""
    try:
        number = phonenumbers.parse(value, region or settings.CARDFILE_PHONE_REGION)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@register
class PhoneType(_TextBase):
    """Stored in E.164 (+4930123456), so the same number typed two ways is one number."""

    name = "phone"
    label = gettext_lazy("Phone")
    options_schema = {
        "type": "object",
        "properties": {
            "region": {"type": "string", "pattern": "^[A-Z]{2}$"},
        },
    }

    def _region(self, field) -> str:
        return field.options.get("region") or settings.CARDFILE_PHONE_REGION

    def validate(self, field, value):
        region = self._region(field)
        normal = phone_e164(value, region)
        if normal is None:
            raise FieldValueError(
                _(
                    "%(value)r is not a valid phone number for region %(region)s "
                    "(international numbers start with +)."
                )
                % {"value": value, "region": region}
            )
        return normal

    def value_schema(self, field):
        # Read back in E.164; written in any form valid for the field's region.
        return {"type": "string", "examples": ["+4930123456"]}

    def format(self, field, value: Any, *, locale=None) -> str:
        if value is None:
            return ""
        number = phonenumbers.parse(value, None)
        if phonenumbers.region_code_for_number(number) == self._region(field):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
