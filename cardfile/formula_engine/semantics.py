"""Runtime values and the one place where blank, rounding and arithmetic rules are defined.

Values at run time: numbers, percents and integers are ``decimal.Decimal`` (never float; a
percent is its fraction, ``15%`` is ``Decimal("0.15")``), money is `Money`, text and choices are
``str``, booleans ``bool``, dates ``date``, datetimes ``datetime``, durations ``timedelta``, links
and users their id, and blank is ``None``.

Decimal arithmetic runs in `DECIMAL_CONTEXT` (34 significant digits, the precision of IEEE
decimal128), so ``0.1 + 0.2 = 0.3`` exactly. ``+ - *`` are exact. The results of operations
that are not (``/``, ``^``, POWER, SQRT and AVG, which divides) are rounded half away from zero
to `INEXACT_PLACES` (10) decimal places, so ``1/3 = 0.3333333333`` in both back ends: the SQL
back ends compute these with fewer digits than 34 and must agree with Python to the last one.
``^`` and POWER are blank when the result would reach 10^100 (`POWER_LIMIT`).

Rounding: ROUND rounds half away from zero like Excel (``ROUND(2.5) = 3``, ``ROUND(-2.5) = -3``);
ROUNDUP rounds away from zero, ROUNDDOWN toward zero; FLOOR and CEILING go to the multiple of
the step below / above (toward -inf / +inf). Negative digits round left of the point; digits
are taken within [-40, 40] (``ROUND(x, 99)`` is ``ROUND(x, 40)``), and a value that has no more
decimals than asked is returned as it is (``ROUND(1.5, 40) = 1.5``). FLOOR, CEILING and MOD are
exact however many digits the numbers have (no division is rounded on the way); MOD's sign
follows the divisor (``MOD(-1, 3) = 2``).

Text of values (``&``, CONCAT, TEXT, text functions): a number without trailing zeros and
without exponent (``2.50`` is ``2.5``, ``500`` is ``500``); money with its currency's decimals
and code (``12.50 EUR``); TRUE / FALSE; a date ``YYYY-MM-DD``; a datetime
``YYYY-MM-DD HH:MM:SS`` in the installation's time zone (`RecordContext.tz`); a duration as
hours, minutes and seconds ``26:05:00`` (whole seconds, rounded down); blank is ``""``.
TEXT(value, format) writes a number, percent, money amount, date or datetime in one of a small
fixed set of formats (``"#,##0.00"``, ``"0%"``, ``"DD.MM.YYYY HH:MM"`` ...: the list and its
rules are in `cardfile.formula_engine.functions.text`); numbers round half away from zero there
too, and a value that rounds to zero has no minus sign.

Time zone: YEAR, MONTH, DAY, WEEKDAY, DATEDIF, EOMONTH, TODAY, TEXT with a date format and
DATEADD by months or years see a datetime in the installation's time zone, as its owner does.

Volatile functions: TODAY, NOW, ME and MY_BRANCH read the moment and who asks, not the record.
A preview or condition sees their value now; a stored (computed) formula using them takes their
value at the moment the record was last written (the writer's user and branch, the time of the
write) and keeps it until the next write, so it goes stale. `CheckedFormula.volatile` tells.

Blank (spreadsheet semantics):

=====================  ===============================================================
arithmetic             blank acts as 0: ``blank + 1 = 1``, ``blank * 5 = 0``; but
                       ``blank + blank = blank`` and ``-blank = blank``
division               ``x / 0`` and ``x / blank`` are blank (not an error);
                       ``blank / 5 = 0``. Math domain errors (SQRT(-1)) are blank too.
concatenation          blank acts as "": ``"a" & blank = "a"``
comparison             blank equals blank, 0, "" and FALSE (``blank = 0`` is TRUE,
                       ``blank < 1`` is TRUE); against a date, datetime, duration,
                       link or user only ``=``/``<>`` to blank hold, ordering is FALSE
conditions             blank is FALSE (IF, AND, OR, NOT, SUMIF conditions)
dates                  ``date + blank = date``; ``blank + date = date``; ``duration * blank``
                       is a zero duration and ``duration / blank`` is blank; a duration
                       times or divided by a number is exact to the microsecond (half
                       away from zero)
functions              text functions read blank as ""; numeric ones as 0; aggregates
                       skip blanks (COUNT counts non-blank values; AVG of nothing is blank)
=====================  ===============================================================

``""`` is not blank (ISBLANK("") is FALSE) but compares equal to it. Text comparisons ignore
case, as in spreadsheets (both sides lower-cased, then compared by code point). Money keeps its
currency through ``+ -`` and through ``* /`` by a number; adding or comparing two different
currencies is a `FormulaTypeError`; a plain number added to money is taken in that money's
currency.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import (
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)
from typing import Any

from babel.numbers import get_currency_precision
from django.utils.translation import gettext as _

from cardfile.formula_engine.errors import FormulaTypeError

DECIMAL_CONTEXT = Context(prec=34)
INEXACT_PLACES = 10
POWER_LIMIT = 100  # results of ^ reaching 10^100 are blank
_INEXACT_QUANTUM = Decimal(1).scaleb(-INEXACT_PLACES)


def settle(value: Decimal | None) -> Decimal | None:
    """Round an inexact result to `INEXACT_PLACES` decimals, half away from zero."""
    if value is None or not value.is_finite():
        return None
    if value.adjusted() >= DECIMAL_CONTEXT.prec - INEXACT_PLACES:
        return value  # too large to carry ten decimals in 34 digits; kept as computed
    with localcontext(DECIMAL_CONTEXT):
        return value.quantize(_INEXACT_QUANTUM, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Money:
    """An amount in a currency (``currency`` may be None when the field does not fix one)."""

    amount: Decimal
    currency: str | None = None


def normalize(value: Any) -> Any:
    """Context values to runtime values: ints and floats become Decimal, lists recursively."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, list | tuple):
        return [normalize(item) for item in value]
    return value


def _same_currency(left: Money, right: Money) -> str | None:
    if left.currency and right.currency and left.currency != right.currency:
        raise FormulaTypeError(
            _("Cannot combine money in {left} and {right}.").format(
                left=left.currency, right=right.currency
            ),
            expected=[_("amounts in one currency")],
        )
    return left.currency or right.currency


def _amount(value: Any) -> Decimal:
    if value is None:
        return Decimal(0)
    if isinstance(value, Money):
        return value.amount
    if isinstance(value, Decimal):
        return value
    raise FormulaTypeError(
        _("Expected a number, got {value!r}.").format(value=value), expected=[_("a number")]
    )


_OPS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}


def _dates(op: str, left: Any, right: Any) -> Any:
    if isinstance(left, datetime) and isinstance(right, datetime) and op == "-":
        return left - right
    if isinstance(left, date) and isinstance(right, timedelta | type(None)) and op in "+-":
        return _OPS[op](left, right or timedelta(0))
    if isinstance(left, date) and isinstance(right, Decimal) and op in "+-":
        return _OPS[op](left, timedelta(days=int(right)))
    if isinstance(left, date) and isinstance(right, date) and op == "-":
        return Decimal((left - right).days)
    if isinstance(left, Decimal | type(None)) and isinstance(right, date) and op == "+":
        return right + timedelta(days=int(left or 0))
    if isinstance(left, timedelta) and isinstance(right, timedelta) and op in "+-":
        return _OPS[op](left, right)
    if isinstance(left, timedelta) and isinstance(right, Decimal | type(None)) and op in "*/":
        if op == "/" and not right:
            return None
        return scale_duration(left, op, right or Decimal(0))
    if left is None and isinstance(right, timedelta) and op in "+-":
        return right if op == "+" else -right
    raise FormulaTypeError(
        _("Cannot apply {op} to {left!r} and {right!r}.").format(op=op, left=left, right=right)
    )


_DATES = frozenset({"date", "datetime"})
_TEMPORAL = frozenset({"date", "datetime", "duration"})


def kind_of(value: Any) -> str:
    """The kind of a runtime value, as `types.Kind` names it (None is "blank")."""
    if value is None:
        return "blank"
    if isinstance(value, datetime):
        return "datetime"
    if isinstance(value, date):
        return "date"
    if isinstance(value, timedelta):
        return "duration"
    return "number"


def combine(op: str, left: Any, right: Any, left_kind: str, right_kind: str) -> Any:
    """``+ - * / ^`` knowing the operands' kinds, so a blank date is told from a blank number.

    Dates and datetimes: a blank date or datetime gives blank (``date + blank`` is the date,
    ``blank_date + 1`` is blank, ``date - blank_date`` is blank); durations follow numbers
    (blank acts as a zero duration, both blank give blank)."""
    if left_kind not in _TEMPORAL and right_kind not in _TEMPORAL:
        return arithmetic(op, left, right)
    if left_kind in _DATES and (left is None or (right is None and right_kind in _DATES)):
        return None
    if right_kind in _DATES and right is None:
        return None
    if left_kind == "duration" or right_kind == "duration":
        if left is None and right is None:
            return None
        if left_kind == "duration" and left is None:
            left = timedelta(0)
        if right_kind == "duration" and right is None:
            right = timedelta(0)
    return arithmetic(op, left, right)


def scale_duration(value: timedelta, op: str, factor: Decimal) -> timedelta:
    """A duration times or divided by a number, exactly on its microseconds, rounded half away
    from zero to a whole microsecond."""
    micros = Decimal(value // timedelta(microseconds=1))
    with localcontext(DECIMAL_CONTEXT):
        scaled = micros * factor if op == "*" else micros / factor
        return timedelta(microseconds=int(scaled.to_integral_value(rounding=ROUND_HALF_UP)))


def arithmetic(op: str, left: Any, right: Any) -> Any:
    """``+ - * / ^`` on runtime values, with the blank and money rules above."""
    if left is None and right is None:
        return None
    if isinstance(left, date | timedelta) or isinstance(right, date | timedelta):
        return _dates(op, left, right)
    with localcontext(DECIMAL_CONTEXT):
        if isinstance(left, Money) or isinstance(right, Money):
            return _money(op, left, right)
        a, b = _amount(left), _amount(right)
        if op == "^":
            return _power(a, b)
        if op == "/":
            return settle(a / b) if b else None
        return +_OPS[op](a, b)


def _money(op: str, left: Any, right: Any) -> Any:
    if left is None and isinstance(right, Money) and op in "+-/":  # blank money is zero money
        left = Money(Decimal(0), right.currency)
    elif right is None and isinstance(left, Money) and op in "+-":
        right = Money(Decimal(0), left.currency)
    both = isinstance(left, Money) and isinstance(right, Money)
    currency = (
        _same_currency(left, right)
        if both
        else (left if isinstance(left, Money) else right).currency
    )
    if both and op == "*":
        raise FormulaTypeError(_("Money cannot be multiplied by money."))
    if op == "^":
        raise FormulaTypeError(_("Money cannot be raised to a power."))
    if op == "/" and isinstance(right, Money) and not both:
        raise FormulaTypeError(_("A number cannot be divided by money."))
    a, b = _amount(left), _amount(right)
    if op == "/" and not b:
        return None
    result = settle(a / b) if op == "/" else +_OPS[op](a, b)
    return result if both and op == "/" else Money(result, currency)


def _power(base: Decimal, exponent: Decimal) -> Decimal | None:
    if base and exponent * base.copy_abs().log10() >= POWER_LIMIT:
        return None
    try:
        result = +(base**exponent)
    except (InvalidOperation, DivisionByZero, Overflow, OverflowError):
        return None
    return settle(result)


def negate(value: Any) -> Any:
    """``-value``, exact at any length (``-x`` on a Decimal would round to the context)."""
    if value is None:
        return None
    if isinstance(value, Money):
        return Money(negate(value.amount), value.currency)
    if isinstance(value, timedelta):
        return -value
    amount = _amount(value)
    return amount.copy_negate() if amount else amount.copy_abs()  # no "-0"


def number_text(value: Decimal) -> str:
    """A number without trailing zeros or exponent: ``2.50`` is ``2.5``; zero is ``0``."""
    if not value:
        return "0"
    return format(value.normalize(DECIMAL_CONTEXT), "f")


def money_text(value: Money) -> str:
    """The amount with its currency's decimals, then the code: ``12.50 EUR``."""
    places = get_currency_precision(value.currency) if value.currency else 2
    with localcontext(DECIMAL_CONTEXT):
        amount = value.amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    text = format(amount if amount else amount.copy_abs(), "f")  # no "-0.00"
    return f"{text} {value.currency}" if value.currency else text


def duration_text(value: timedelta) -> str:
    """Hours, minutes and seconds, whole seconds rounded down: ``26:05:00``, ``-0:00:01``."""
    seconds = value // timedelta(seconds=1)
    sign, seconds = ("-", -seconds) if seconds < 0 else ("", seconds)
    return f"{sign}{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def local(value: datetime, tz: tzinfo | None) -> datetime:
    """A datetime as the installation sees it (naive values are taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(tz or UTC)


def to_text(value: Any, tz: tzinfo | None = None) -> str:
    """The canonical text of a value (used by ``&``, CONCAT, TEXT and text functions)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, Decimal):
        return number_text(value)
    if isinstance(value, Money):
        return money_text(value)
    if isinstance(value, datetime):
        return local(value, tz).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
    if isinstance(value, timedelta):
        return duration_text(value)
    return str(value)


def truthy(value: Any) -> bool:
    """A condition's value: blank is FALSE; a number is TRUE when non-zero."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, Decimal):
        return bool(value)
    raise FormulaTypeError(
        _("Expected TRUE or FALSE, got {value!r}.").format(value=value),
        expected=[_("a condition")],
    )


_COMPARE = {
    "=": operator.eq,
    "<>": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _blank_as(other: Any) -> Any:
    if isinstance(other, Money):
        return Money(Decimal(0), other.currency)
    if isinstance(other, Decimal):
        return Decimal(0)
    if isinstance(other, str):
        return ""
    if isinstance(other, bool):
        return False
    return None


def compare(op: str, left: Any, right: Any) -> bool:
    """Comparison operators with the blank rules above; text compares ignoring case."""
    if left is None and right is not None:
        left = _blank_as(right)
    elif right is None and left is not None:
        right = _blank_as(left)
    if left is None or right is None:
        return _COMPARE[op](0, 0) if left is right else op == "<>"
    if isinstance(left, Money) and isinstance(right, Money):
        _same_currency(left, right)
    if isinstance(left, Money | Decimal) and isinstance(right, Money | Decimal):
        return _COMPARE[op](_amount(left), _amount(right))
    if isinstance(left, str) and isinstance(right, str):
        return _COMPARE[op](left.lower(), right.lower())
    if type(left) is not type(right) and not (
        isinstance(left, int) and isinstance(right, int)  # ids
    ):
        raise FormulaTypeError(
            _("Cannot compare {left!r} with {right!r}.").format(left=left, right=right)
        )
    return _COMPARE[op](left, right)
