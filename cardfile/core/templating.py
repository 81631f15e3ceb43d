"""Message templates: Jinja2 in its immutable sandbox, checked when saved, rendered when sent.

A template reads what its context gives (a record's fields, links and lines) and can call no
method that changes anything nor reach Python internals. Every problem — a syntax error when the
template is saved, a refused attribute or a missing value when it is rendered — is a
`TemplateProblem` naming the line and Jinja's message, so the person who wrote the template can
find it.
"""

from __future__ import annotations

import datetime as dt
import operator
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from types import TracebackType
from typing import Any

from babel import Locale, UnknownLocaleError
from babel import dates as babel_dates
from babel import numbers as babel_numbers
from django.conf import settings
from django.utils import timezone
from django.utils.translation import get_language, to_locale
from django.utils.translation import gettext as _
from jinja2 import TemplateError, TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from .exceptions import CardfileError

TEMPLATE_NAME = "<template>"
# A rendered message longer than this is a runaway template, not a message.
MAX_OUTPUT = 100_000
# Repeating a text or list more often than this is refused (``"x" * 10**9``).
MAX_REPEAT = 10_000


class TemplateProblem(CardfileError):
    """A template that does not compile or render; ``details``: ``{"line", "message"}``.

    ``errors`` maps the field that holds the template to the message, so the API answers it
    under that field."""

    code = "invalid_template"

    def __init__(self, *, line: int | None, message: str, field: str = "template") -> None:
        text = (
            _("Line %(line)d: %(message)s") % {"line": line, "message": message}
            if line
            else message
        )
        super().__init__(text)
        self.details = {"line": line, "message": message}
        self.field = field
        self.errors = {field: [text]}


# -- filters -------------------------------------------------------------------------------------


def _locale() -> Locale:
    name = get_language() or settings.LANGUAGE_CODE
    try:
        return Locale.parse(to_locale(name))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


def _as_datetime(value: Any) -> dt.date | dt.datetime | None:
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and value.strip():
        text = value.strip()
        try:
            if len(text) == 10:
                return dt.date.fromisoformat(text)
            return dt.datetime.fromisoformat(text)
        except ValueError:
            return None
    return None


def _local(value: dt.datetime) -> dt.datetime:
    if timezone.is_naive(value):
        return value
    return timezone.localtime(value)


def filter_date(value: Any, format: str = "medium") -> str:  # noqa: A002 - Jinja's name
    """A date (or the date of a datetime, in the current time zone) in the active language."""
    moment = _as_datetime(value)
    if moment is None:
        return "" if value is None else str(value)
    if isinstance(moment, dt.datetime):
        moment = _local(moment).date()
    return babel_dates.format_date(moment, format=format, locale=_locale())


def filter_datetime(value: Any, format: str = "medium") -> str:  # noqa: A002
    """A date and time in the current time zone and the active language."""
    moment = _as_datetime(value)
    if moment is None:
        return "" if value is None else str(value)
    if not isinstance(moment, dt.datetime):
        return filter_date(moment, format)
    return babel_dates.format_datetime(_local(moment), format=format, locale=_locale())


def filter_time(value: Any, format: str = "short") -> str:  # noqa: A002
    """The time of day of a datetime (or a time) in the current time zone."""
    if isinstance(value, dt.time):
        return babel_dates.format_time(value, format=format, locale=_locale())
    moment = _as_datetime(value)
    if not isinstance(moment, dt.datetime):
        return "" if value is None else str(value)
    return babel_dates.format_time(_local(moment), format=format, locale=_locale())


def _as_decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None


def filter_money(value: Any, currency: str | None = None) -> str:
    """An amount with its currency in the active language; ``value`` may be a number, a
    decimal text or the API's ``{"amount", "currency"}``."""
    if isinstance(value, dict):
        currency = currency or value.get("currency")
        value = value.get("amount")
    amount = _as_decimal(value)
    if amount is None:
        return "" if value is None else str(value)
    return babel_numbers.format_currency(
        amount, currency or settings.CARDFILE_CURRENCY, locale=_locale()
    )


def filter_number(value: Any, places: int | None = None) -> str:
    """A number with the active language's separators; ``places`` fixes the decimals."""
    amount = _as_decimal(value)
    if amount is None:
        return "" if value is None else str(value)
    if places is None:
        return babel_numbers.format_decimal(amount, locale=_locale())
    pattern = "#,##0" + ("." + "0" * int(places) if int(places) > 0 else "")
    return babel_numbers.format_decimal(amount, format=pattern, locale=_locale())


FILTERS = {
    "date": filter_date,
    "datetime": filter_datetime,
    "time": filter_time,
    "money": filter_money,
    "number": filter_number,
}


# -- the environment -----------------------------------------------------------------------------


class _Environment(ImmutableSandboxedEnvironment):
    """The immutable sandbox, and no giant repetitions or powers either."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator_name: str, left: Any, right: Any) -> Any:
        if operator_name == "**":
            if isinstance(right, int | float) and abs(right) > 100:
                raise SecurityError(_("The power is too large."))
            return operator.pow(left, right)
        for count, other in ((left, right), (right, left)):
            if (
                isinstance(count, int)
                and isinstance(other, str | list | tuple)
                and count * max(len(other), 1) > MAX_REPEAT
            ):
                raise SecurityError(_("The repeated text or list would be too long."))
        return operator.mul(left, right)


def _environment() -> _Environment:
    env = _Environment(autoescape=False, keep_trailing_newline=False)
    env.filters.update(FILTERS)
    return env


_env = _environment()


@lru_cache(maxsize=256)
def _compile(source: str) -> Any:
    return _env.from_string(source)


def _line_of(error: BaseException) -> int | None:
    """The template line an error was raised on: Jinja rewrites the traceback so frames of the
    template carry its name and line."""
    if isinstance(error, TemplateSyntaxError):
        return error.lineno
    line = None
    tb: TracebackType | None = error.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == TEMPLATE_NAME:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _problem(error: BaseException, field: str) -> TemplateProblem:
    message = getattr(error, "message", None) or str(error) or type(error).__name__
    return TemplateProblem(line=_line_of(error), message=str(message), field=field)


def template_check(source: str, *, field: str = "template") -> None:
    """Compile ``source``; a syntax error, an unknown filter or test is a `TemplateProblem`
    naming the line and Jinja's message, keyed by ``field``."""
    if not isinstance(source, str):
        raise TemplateProblem(line=None, message=_("Send the template as text."), field=field)
    try:
        _compile(source)
    except TemplateSyntaxError as error:
        raise _problem(error, field) from None


def template_render(source: str, context: dict[str, Any], *, field: str = "template") -> str:
    """``source`` rendered with ``context`` in the sandbox. A missing value renders as nothing;
    reading into a missing value, a refused attribute or any other error is a
    `TemplateProblem` naming the line."""
    try:
        template = _compile(source)
    except TemplateSyntaxError as error:
        raise _problem(error, field) from None
    parts: list[str] = []
    size = 0
    try:
        # Streamed, so a runaway loop stops at the limit instead of filling the memory.
        for part in template.generate(context):
            parts.append(part)
            size += len(part)
            if size > MAX_OUTPUT:
                raise TemplateProblem(
                    line=None,
                    message=_("The message is longer than %(n)d characters.") % {"n": MAX_OUTPUT},
                    field=field,
                )
    except (TemplateError, ArithmeticError, TypeError, ValueError, LookupError) as error:
        raise _problem(error, field) from None
    return "".join(parts)
