"""Errors of the record service (rooted in `cardfile.core.exceptions.CardfileError`)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from cardfile.core.exceptions import CardfileError


class RecordError(CardfileError):
    code = "record_error"


class RecordValidationError(RecordError):
    """Bad input. ``errors`` maps a field slug (``lines[2].qty`` for a line, ``rows[3].name``
    in a bulk create) to messages that say what would be accepted."""

    code = "invalid"

    def __init__(
        self, errors: dict[str, list[str]], *, rows: list[int] | None = None, message: str = ""
    ) -> None:
        if not message:
            key, messages = next(iter(errors.items()))
            message = f"{key}: {messages[0]}"
            more = sum(len(m) for m in errors.values()) - 1
            if more:
                message += " " + ngettext(
                    "(and %(n)d more problem)", "(and %(n)d more problems)", more
                ) % {"n": more}
        super().__init__(message, errors=errors, rows=rows or [])
        self.errors = errors
        self.rows = rows or []


class RecordConflict(RecordError):
    """The record changed since the version the caller based its change on."""

    code = "conflict"

    def __init__(self, current: dict[str, Any], *, entity_label: str = "") -> None:
        super().__init__(
            _(
                "This %(entity)s was changed by someone else meanwhile (it is now version "
                "%(version)s); reload it and apply your change again."
            )
            % {"entity": entity_label or _("record"), "version": current.get("version")},
            current=current,
        )
        self.current = current


class RecordProtected(RecordError):
    """Moving a record to the trash is refused while live records link to it (``protect``)."""

    code = "protected"


class RecordWriteRefused(RecordError):
    """A write that must go another way (lines are written through their parent)."""

    code = "refused"
