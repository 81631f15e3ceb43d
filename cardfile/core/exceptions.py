"""The root of every Cardfile error: a stable code and a message a person can act on."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _


class CardfileError(Exception):
    """Base of every package's error tree.

    ``code`` is stable (API clients and tests match on it); ``message`` is for people and is
    already translated; ``details`` carries structured data such as per-field errors.
    """

    code = "error"

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = str(message)
        if code:
            self.code = code
        self.details = details

    def __str__(self) -> str:
        return self.message


class NotFound(CardfileError):
    code = "not_found"


class JobError(CardfileError):
    """A job could not be started or run as asked (an unknown kind, a handler misused)."""

    code = "job_error"


class JobCancelled(CardfileError):
    """The job was cancelled (or taken over by another attempt): the handler must stop.

    Raised by a handler's ``report`` callable, or by the handler itself after
    ``job_cancelled``; ``job_run`` catches it and leaves the row as the canceller left it.
    """

    code = "job_cancelled"


class PermissionDenied(CardfileError):
    """The user's roles do not allow this operation (on this entity, field or setting).

    A record the user's row rules hide is a `NotFound` instead, so its existence is not told.
    """

    code = "permission_denied"


class InvalidInput(CardfileError):
    """Input that was refused: ``errors`` maps each key (an attribute, a path such as
    ``permissions.order.rule`` or ``lines[2].qty``) to its messages, all of them at once;
    ``formula`` tells where a formula in the input is wrong (`FormulaError.as_dict`)."""

    code = "invalid"

    def __init__(
        self, errors: dict[str, list[str]], *, formula: dict[str, Any] | None = None
    ) -> None:
        key, messages = next(iter(errors.items()))
        super().__init__(f"{key}: {messages[0]}", errors=errors)
        self.errors = errors
        self.formula = formula


class Problems:
    """Gathers errors by key over a whole input, then raises them together."""

    def __init__(self, error_class: type[InvalidInput] = InvalidInput) -> None:
        self.errors: dict[str, list[str]] = {}
        self.formula: dict[str, Any] | None = None  # the first wrong formula's position
        self.error_class = error_class

    def add(self, key: str, message: str) -> None:
        self.errors.setdefault(key, []).append(message)

    def boolean(self, key: str, value: Any) -> bool | None:
        """``value`` if it is true or false; else the error under ``key`` and None."""
        if isinstance(value, bool):
            return value
        self.add(key, _("Use true or false."))
        return None

    def text(self, key: str, value: Any, max_length: int | None = None) -> str | None:
        """``value`` stripped (``None`` reads as blank) if it is a text of at most
        ``max_length`` characters; else the error under ``key`` and None."""
        value = "" if value is None else value
        if not isinstance(value, str):
            self.add(key, _("Send a text."))
            return None
        value = value.strip()
        if max_length and len(value) > max_length:
            self.add(key, _("At most %(n)d characters.") % {"n": max_length})
            return None
        return value

    def raise_any(self) -> None:
        if self.errors:
            raise self.error_class(self.errors, formula=self.formula)
