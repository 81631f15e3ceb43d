"""The checks of an installation's currency and language, shared by the first-start setup
(`cardfile.presets.setup`) and the company settings (`cardfile.presets.company`)."""

from __future__ import annotations

from typing import Any

from babel import numbers as babel_numbers
from django.conf import settings
from django.utils.translation import gettext as _

from .exceptions import Problems


def currency_clean(value: Any, problems: Problems, key: str = "currency") -> str:
    """``value`` as an upper-case ISO 4217 code babel knows (``"eur"`` is ``EUR``); else the
    error under ``key``. Blank stays blank: the caller decides what blank means."""
    if value is None or value == "":
        return ""
    if not isinstance(value, str):
        problems.add(key, _("Send a text."))
        return ""
    code = value.strip().upper()
    if code not in babel_numbers.list_currencies():
        problems.add(
            key,
            _("%(code)s is not an ISO 4217 currency code; write one such as EUR or USD.")
            % {"code": value},
        )
    return code


def language_clean(value: Any, problems: Problems, key: str = "language") -> str:
    """``value`` if it is one of ``settings.LANGUAGES``; blank stays blank (each browser's
    language); else the error under ``key``."""
    if value is None or value == "":
        return ""
    offered = [code for code, _name in settings.LANGUAGES]
    if value not in offered:
        problems.add(
            key,
            _("There is no language %(locale)s here; choose one of: %(offered)s.")
            % {"locale": value, "offered": ", ".join(offered)},
        )
    return value if isinstance(value, str) else ""
