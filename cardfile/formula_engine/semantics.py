"""Runtime values and the one place where blank, rounding and arithmetic rules are defined.

Values at run time: numbers, percents and integers are ``decimal.Decimal`` (never float; a
percent is its fraction, ``15%`` is ``Decimal("0.15")``), money is `Money`, text and choices are
``str``, booleans ``bool``, dates ``date``, datetimes ``datetime``, durations ``timedelta``, links
and users their id, and blank is ``None``.

Decimal arithmetic runs in `DECIMAL_CONTEXT` (34 significant digits, the precision of IEEE
decimal128), so ``0.1 + 0.2 = 0.3`` exactly and ``1/3`` keeps 34 digits.

Rounding: ROUND rounds half away from zero like Excel (``ROUND(2.5) = 3``, ``ROUND(-2.5) = -3``);
ROUNDUP rounds away from zero, ROUNDDOWN toward zero; FLOOR and CEILING go to the multiple of
the step below / above (toward -inf / +inf). Negative digits round left of the point.

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
dates                  ``date + blank = date``; ``blank + date = date``
functions              text functions read blank as ""; numeric ones as 0; aggregates
                       skip blanks (COUNT counts non-blank values; AVG of nothing is blank)
=====================  ===============================================================

``""`` is not blank (ISBLANK("") is FALSE) but compares equal to it. Text comparisons ignore
case, as in spreadsheets. Money keeps its currency through ``+ -`` and through ``* /`` by a
number; adding or comparing two different currencies is a `FormulaTypeError`; a plain number
added to money is taken in that money's currency.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Context, Decimal, DivisionByZero, InvalidOperation, Overflow, localcontext
from typing import Any

from django.utils.translation import gettext as _

from cardfile.formula_engine.errors import FormulaTypeError

DECIMAL_CONTEXT = Context(prec=34)


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
    if isinstance(left, timedelta) and isinstance(right, Decimal) and op in "*/":
        return None if op == "/" and not right else _OPS[op](left, float(right))
    raise FormulaTypeError(
        _("Cannot apply {op} to {left!r} and {right!r}.").format(op=op, left=left, right=right)
    )


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
        if op == "/" and not b:
            return None
        return +_OPS[op](a, b)


def _money(op: str, left: Any, right: Any) -> Any:
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
    result = +_OPS[op](a, b)
    return result if both and op == "/" else Money(result, currency)


def _power(base: Decimal, exponent: Decimal) -> Decimal | None:
    try:
        result = +(base**exponent)
    except (InvalidOperation, DivisionByZero, Overflow, OverflowError):
        return None
    return result if result.is_finite() else None


def negate(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, Money):
        return Money(-value.amount, value.currency)
    if isinstance(value, timedelta):
        return -value
    return -_amount(value)


def to_text(value: Any) -> str:
    """The canonical text of a value (used by ``&``, CONCAT and TEXT)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, Money):
        amount = format(value.amount, "f")
        return f"{amount} {value.currency}" if value.currency else amount
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
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
        return _COMPARE[op](left.casefold(), right.casefold())
    if type(left) is not type(right) and not (
        isinstance(left, int) and isinstance(right, int)  # ids
    ):
        raise FormulaTypeError(
            _("Cannot compare {left!r} with {right!r}.").format(left=left, right=right)
        )
    return _COMPARE[op](left, right)
