"""Date functions: TODAY, NOW, DATE, YEAR, MONTH, DAY, WEEKDAY, DATEADD, DATEDIF, EOMONTH.

WEEKDAY is ISO: 1 = Monday ... 7 = Sunday. DATEADD and EOMONTH clamp to the month's end
(31 January + 1 month = 28/29 February). DATEDIF counts whole units from start to end and is
negative when the end comes first; a month is whole once the day of month is reached
(31 January to 29 February is 0 months, as in spreadsheets). Units are "days", "months" or
"years" (case-insensitive).
An impossible DATE(2024, 2, 30) is blank. A datetime is seen in the installation's time zone
(`RecordContext.tz`): YEAR(NOW()) is the owner's year, DATEADD by months keeps the local time.
TODAY and NOW are volatile: a stored formula takes them at the moment its record was last written.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.utils.translation import gettext as _

from cardfile.formula_engine import types as t
from cardfile.formula_engine.ast import TextLiteral
from cardfile.formula_engine.errors import FormulaTypeError, FormulaValueError
from cardfile.formula_engine.functions.registry import (
    DATE,
    NUMBER,
    TEXT,
    Arg,
    fixed,
    register,
    require,
)
from cardfile.formula_engine.semantics import local

UNITS = ("days", "months", "years")


def _unit(value) -> str:
    unit = str(value or "").strip().lower()
    if unit not in UNITS:
        raise FormulaValueError(
            _("Unknown unit {unit!r}.").format(unit=value), expected=[", ".join(UNITS)]
        )
    return unit


def _check_unit(arg: Arg) -> None:
    require(arg, *TEXT)
    if isinstance(arg.node, TextLiteral) and arg.node.value.strip().lower() not in UNITS:
        raise FormulaTypeError(
            _("Unknown unit {unit!r}.").format(unit=arg.node.value),
            span=arg.node.span,
            expected=[f'"{unit}"' for unit in UNITS],
        )


def _day(ctx, value: date) -> date:
    """The calendar day of a date, or of a datetime in the installation's time zone."""
    return local(value, ctx.tz).date() if isinstance(value, datetime) else value


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return day.replace(year=year, month=month + 1, day=min(day.day, last))


@register("TODAY", (0, 0), fixed(t.DATE), volatile=True)
def today(ctx):
    return local(ctx.now, ctx.tz).date()


@register("NOW", (0, 0), fixed(t.DATETIME), volatile=True)
def now(ctx):
    return ctx.now


@register("DATE", (3, 3), fixed(t.DATE, NUMBER, NUMBER, NUMBER))
def date_(ctx, year, month, day):
    try:
        return date(int(year or 0), int(month or 0), int(day or 0))
    except (ValueError, OverflowError):
        return None


def _part(name: str):
    @register(name, (1, 1), fixed(t.INTEGER, DATE))
    def part(ctx, value):
        return None if value is None else Decimal(getattr(_day(ctx, value), name.lower()))

    return part


year, month, day = _part("YEAR"), _part("MONTH"), _part("DAY")


@register("WEEKDAY", (1, 1), fixed(t.INTEGER, DATE))
def weekday(ctx, value):
    return None if value is None else Decimal(_day(ctx, value).isoweekday())


def _dateadd_type(args: list[Arg]) -> t.FormulaType:
    result = require(args[0], *DATE)
    require(args[1], *NUMBER)
    _check_unit(args[2])
    return t.DATE if result.kind is t.Kind.BLANK else result


@register("DATEADD", (3, 3), _dateadd_type)
def dateadd(ctx, value, amount, unit):
    unit = _unit(unit)
    if value is None:
        return None
    amount = int(amount or 0)
    if unit == "days":
        return value + timedelta(days=amount)
    if isinstance(value, datetime):
        value = local(value, ctx.tz)
    return add_months(value, amount * (12 if unit == "years" else 1))


def _datedif_type(args: list[Arg]) -> t.FormulaType:
    require(args[0], *DATE)
    require(args[1], *DATE)
    _check_unit(args[2])
    return t.INTEGER


@register("DATEDIF", (3, 3), _datedif_type)
def datedif(ctx, start, end, unit):
    unit = _unit(unit)
    if start is None or end is None:
        return None
    start, end = _day(ctx, start), _day(ctx, end)
    if end < start:
        return -datedif(ctx, end, start, unit)
    if unit == "days":
        return Decimal((end - start).days)
    months = (end.year - start.year) * 12 + end.month - start.month
    if end.day < start.day:  # whole months only, as spreadsheets count them
        months -= 1
    return Decimal(months // 12 if unit == "years" else months)


@register("EOMONTH", (1, 2), fixed(t.DATE, DATE, NUMBER))
def eomonth(ctx, value, months=None):
    if value is None:
        return None
    value = _day(ctx, value)
    shifted = add_months(value.replace(day=1), int(months or 0))
    return shifted.replace(day=calendar.monthrange(shifted.year, shifted.month)[1])
