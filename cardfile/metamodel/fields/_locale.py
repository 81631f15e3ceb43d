"""The babel locale for formatting: the one asked for, else the active Django language."""

from __future__ import annotations

from babel import Locale, UnknownLocaleError
from django.conf import settings
from django.utils.translation import get_language, to_locale


def babel_locale(locale: str | None = None) -> Locale:
    name = locale or get_language() or settings.LANGUAGE_CODE
    try:
        return Locale.parse(to_locale(name))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")
