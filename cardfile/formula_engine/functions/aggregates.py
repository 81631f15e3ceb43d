"""Aggregates over a child table or reverse link: SUM, COUNT, AVG, MIN, MAX, SUMIF, COUNTIF.

An argument such as ``lines.amount`` (or ``lines.qty * lines.price``) arrives as the list of
its per-row values; plain arguments arrive as they are, so ``MIN(a, b)`` works too. Blanks are
skipped.
"""

from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext as _

from cardfile.formula_engine import types as t
from cardfile.formula_engine.errors import FormulaTypeError
from cardfile.formula_engine.functions.registry import (
    ANY,
    CONDITION,
    NUMERIC,
    Arg,
    register,
    require,
    unify,
)
from cardfile.formula_engine.semantics import arithmetic, compare, truthy

ORDERED = frozenset(t.NUMERIC | t.TEXTUAL | {t.Kind.DATE, t.Kind.DATETIME, t.Kind.DURATION})


def _flatten(values) -> list:
    flat = []
    for value in values:
        flat.extend(value if isinstance(value, list) else [value])
    return [value for value in flat if value is not None]


def _sum_type(args: list[Arg]) -> t.FormulaType:
    for arg in args:
        require(arg, *NUMERIC)
    result = unify(args)
    return t.INTEGER if result.kind is t.Kind.BLANK else result


def _total(values):
    total = None
    for value in values:
        total = arithmetic("+", total, value)
    return total


@register("SUM", (1, None), _sum_type, aggregate=True)
def sum_(ctx, *values):
    total = _total(_flatten(values))
    return Decimal(0) if total is None else total


def _count_type(args: list[Arg]) -> t.FormulaType:
    for arg in args:
        require(arg, ANY, _("a value"))
    return t.INTEGER


@register("COUNT", (1, None), _count_type, aggregate=True)
def count(ctx, *values):
    return Decimal(len(_flatten(values)))


def _avg_type(args: list[Arg]) -> t.FormulaType:
    result = _sum_type(args)
    return result if result.kind is t.Kind.MONEY else t.DECIMAL


@register("AVG", (1, None), _avg_type, aggregate=True)
def avg(ctx, *values):
    values = _flatten(values)
    return arithmetic("/", _total(values), Decimal(len(values))) if values else None


def _extreme_type(args: list[Arg]) -> t.FormulaType:
    for arg in args:
        require(arg, ORDERED, _("a number, money, text or date"))
    return unify(args)


def _extreme(values, op):
    best = None
    for value in _flatten(values):
        if best is None or compare(op, value, best):
            best = value
    return best


@register("MIN", (1, None), _extreme_type, aggregate=True)
def min_(ctx, *values):
    return _extreme(values, "<")


@register("MAX", (1, None), _extreme_type, aggregate=True)
def max_(ctx, *values):
    return _extreme(values, ">")


def _rows(values, conditions) -> list:
    if not isinstance(conditions, list):
        raise FormulaTypeError(_("The condition must refer to the rows being added up."))
    values = values if isinstance(values, list) else [values] * len(conditions)
    return [value for value, ok in zip(values, conditions, strict=False) if truthy(ok)]


def _row_condition(arg: Arg) -> None:
    require(arg, *CONDITION)
    if not arg.many:
        raise FormulaTypeError(
            _("The condition must refer to the rows being added up."),
            span=arg.node.span,
            expected=[_('a condition on the same rows, like lines.kind = "part"')],
        )


def _sumif_type(args: list[Arg]) -> t.FormulaType:
    _row_condition(args[1])
    return _sum_type(args[:1])


@register("SUMIF", (2, 2), _sumif_type, aggregate=True)
def sumif(ctx, values, conditions):
    return sum_(ctx, _rows(values, conditions))


def _countif_type(args: list[Arg]) -> t.FormulaType:
    _row_condition(args[0])
    return t.INTEGER


@register("COUNTIF", (1, 1), _countif_type, aggregate=True)
def countif(ctx, conditions):
    return Decimal(len(_rows(conditions, conditions)))
