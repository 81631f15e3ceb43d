"""Number functions: ROUND, ROUNDUP, ROUNDDOWN, ABS, FLOOR, CEILING, MOD, POWER, SQRT.

Rounding rules are documented in `cardfile.formula_engine.semantics`. Money stays money.
ROUND, ROUNDUP and ROUNDDOWN take their digits within [-40, 40] (as the SQL back end does) and
give a value back unchanged when it has no more decimals than asked. FLOOR, CEILING and MOD
never divide: they work from the exact remainder, so no digit is lost however long the numbers
are (``MOD(100000000000000000000000000001, 3) = 2``).
"""

from __future__ import annotations

from decimal import (
    ROUND_DOWN,
    ROUND_HALF_UP,
    ROUND_UP,
    Context,
    Decimal,
    InvalidOperation,
)

from cardfile.formula_engine import types as t
from cardfile.formula_engine.functions.registry import NUMBER, NUMERIC, Arg, register, require
from cardfile.formula_engine.semantics import DECIMAL_CONTEXT, Money, arithmetic, settle


def _same_as_first(args: list[Arg]) -> t.FormulaType:
    result = require(args[0], *NUMERIC)
    for arg in args[1:]:
        require(arg, *NUMBER)
    return t.INTEGER if result.kind is t.Kind.BLANK else result


def _stepped(args: list[Arg]) -> t.FormulaType:
    """FLOOR, CEILING, MOD: a whole number only if the step is one too (CEILING(1, 0.3))."""
    result = _same_as_first(args)
    steps = [arg.type.kind for arg in args[1:]]
    if result.kind is t.Kind.INTEGER and any(
        k not in (t.Kind.INTEGER, t.Kind.BLANK) for k in steps
    ):
        return t.DECIMAL
    return result


def _apply(value, transform):
    """Apply ``transform`` to the amount, keeping money's currency; blank counts as 0."""
    if isinstance(value, Money):
        return Money(transform(value.amount), value.currency)
    return transform(value if value is not None else Decimal(0))


DIGITS_LIMIT = 40  # ROUND's digits are taken within [-40, 40], as PostgreSQL's builders clamp


def exact_context(*values: Decimal) -> Context:
    """A context with enough digits that adding, subtracting or taking remainders of ``values``
    is exact: from the largest of them down to the finest decimal any of them has."""
    nonzero = [value for value in values if value]
    if not nonzero:
        return DECIMAL_CONTEXT
    top = max(value.adjusted() for value in nonzero)
    bottom = min(value.as_tuple().exponent for value in nonzero)
    return Context(prec=max(DECIMAL_CONTEXT.prec, top - bottom + 3))


def modulo(amount: Decimal, divisor: Decimal) -> Decimal:
    """``amount`` modulo a non-zero ``divisor``, exactly; the sign follows the divisor as in
    spreadsheets (``MOD(-1, 3) = 2``)."""
    context = exact_context(amount, divisor)
    rest = context.remainder(amount, divisor)
    if rest and (rest < 0) != (divisor < 0):
        rest = context.add(rest, divisor)
    return rest


def _round(value, digits, mode):
    digits = max(-DIGITS_LIMIT, min(DIGITS_LIMIT, int(digits or 0)))

    def transform(amount: Decimal) -> Decimal:
        if digits >= 0 and amount.as_tuple().exponent >= -digits:
            return amount  # nothing to round (ROUND(1.5, 40) is 1.5)
        context = Context(prec=max(DECIMAL_CONTEXT.prec, amount.adjusted() + digits + 3))
        rounded = amount.quantize(Decimal(1).scaleb(-digits), rounding=mode, context=context)
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


def _floor(amount: Decimal, step: Decimal) -> Decimal:
    """The multiple of a positive ``step`` at or below ``amount``, exactly."""
    return exact_context(amount, step).subtract(amount, modulo(amount, step))


def _step(value, step, upward: bool):
    step = abs(step) if step is not None else Decimal(1)
    if not step:
        return None
    if upward:  # the ceiling is the floor's mirror: -FLOOR(-x)
        return _apply(value, lambda amount: _floor(amount.copy_negate(), step).copy_negate())
    return _apply(value, lambda amount: _floor(amount, step))


@register("FLOOR", (1, 2), _stepped)
def floor(ctx, value, step=None):
    return _step(value, step, upward=False)


@register("CEILING", (1, 2), _stepped)
def ceiling(ctx, value, step=None):
    return _step(value, step, upward=True)


@register("MOD", (2, 2), _stepped)
def mod(ctx, value, divisor):
    if not divisor:
        return None
    return _apply(value, lambda amount: modulo(amount, divisor))


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
