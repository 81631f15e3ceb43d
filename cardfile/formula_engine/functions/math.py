"""Number functions: ROUND, ROUNDUP, ROUNDDOWN, ABS, FLOOR, CEILING, MOD, POWER, SQRT.

Rounding rules are documented in `cardfile.formula_engine.semantics`. Money stays money.
"""

from __future__ import annotations

from decimal import (
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_UP,
    ROUND_UP,
    Decimal,
    InvalidOperation,
    localcontext,
)

from cardfile.formula_engine import types as t
from cardfile.formula_engine.functions.registry import NUMBER, NUMERIC, Arg, register, require
from cardfile.formula_engine.semantics import DECIMAL_CONTEXT, Money, arithmetic, settle


def _same_as_first(args: list[Arg]) -> t.FormulaType:
    result = require(args[0], *NUMERIC)
    for arg in args[1:]:
        require(arg, *NUMBER)
    return t.INTEGER if result.kind is t.Kind.BLANK else result


def _apply(value, transform):
    """Apply ``transform`` to the amount, keeping money's currency; blank counts as 0."""
    if isinstance(value, Money):
        return Money(transform(value.amount), value.currency)
    return transform(value if value is not None else Decimal(0))


def _round(value, digits, mode):
    digits = int(digits or 0)

    def transform(amount: Decimal) -> Decimal:
        with localcontext(DECIMAL_CONTEXT):
            rounded = amount.quantize(Decimal(1).scaleb(-digits), rounding=mode)
            return Decimal(int(rounded)) if digits < 0 else rounded

    return _apply(value, transform)


@register("ROUND", (1, 2), _same_as_first)
def round_(ctx, value, digits=None):
    return _round(value, digits, ROUND_HALF_UP)


@register("ROUNDUP", (1, 2), _same_as_first)
def roundup(ctx, value, digits=None):
    return _round(value, digits, ROUND_UP)


@register("ROUNDDOWN", (1, 2), _same_as_first)
def rounddown(ctx, value, digits=None):
    return _round(value, digits, ROUND_DOWN)


@register("ABS", (1, 1), _same_as_first)
def abs_(ctx, value):
    return _apply(value, abs)


def _step(value, step, mode):
    step = abs(step) if step is not None else Decimal(1)
    if not step:
        return None
    return _apply(value, lambda amount: (amount / step).to_integral_value(mode) * step)


@register("FLOOR", (1, 2), _same_as_first)
def floor(ctx, value, step=None):
    return _step(value, step, ROUND_FLOOR)


@register("CEILING", (1, 2), _same_as_first)
def ceiling(ctx, value, step=None):
    return _step(value, step, ROUND_CEILING)


@register("MOD", (2, 2), _same_as_first)
def mod(ctx, value, divisor):
    if not divisor:
        return None
    # the sign follows the divisor, as in spreadsheets: MOD(-1, 3) = 2
    return _apply(
        value, lambda amount: amount - divisor * (amount / divisor).to_integral_value(ROUND_FLOOR)
    )


def _decimal(args: list[Arg]) -> t.FormulaType:
    for arg in args:
        require(arg, *NUMBER)
    return t.DECIMAL


@register("POWER", (2, 2), _decimal)
def power(ctx, base, exponent):
    return arithmetic("^", base or Decimal(0), exponent or Decimal(0))


@register("SQRT", (1, 1), _decimal)
def sqrt(ctx, value):
    try:
        return settle((value or Decimal(0)).sqrt(DECIMAL_CONTEXT))
    except InvalidOperation:
        return None
