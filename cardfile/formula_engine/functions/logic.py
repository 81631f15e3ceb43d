"""Logic and blank functions: IF, IFS, SWITCH, AND, OR, ISBLANK, COALESCE, BLANK."""

from __future__ import annotations

from django.utils.translation import gettext as _

from cardfile.formula_engine import types as t
from cardfile.formula_engine.errors import FormulaTypeError
from cardfile.formula_engine.functions.registry import (
    ANY,
    CONDITION,
    Arg,
    fixed,
    register,
    require,
    unify,
)
from cardfile.formula_engine.semantics import compare, truthy


def _if_type(args: list[Arg]) -> t.FormulaType:
    require(args[0], *CONDITION)
    return unify(args[1:])


@register("IF", (2, 3), _if_type, lazy=True)
def if_(ctx, condition, then, otherwise=None):
    if truthy(condition()):
        return then()
    return otherwise() if otherwise else None


def _ifs_type(args: list[Arg]) -> t.FormulaType:
    if len(args) % 2:
        raise FormulaTypeError(
            _("IFS takes pairs of condition and value."),
            span=args[-1].node.span,
            expected=[_("a value after the last condition")],
        )
    for condition in args[::2]:
        require(condition, *CONDITION)
    return unify(args[1::2])


@register("IFS", (2, None), _ifs_type, lazy=True)
def ifs(ctx, *pairs):
    for condition, value in zip(pairs[::2], pairs[1::2], strict=True):
        if truthy(condition()):
            return value()
    return None


def _switch_type(args: list[Arg]) -> t.FormulaType:
    cases = args[1:]
    results = cases[1::2] + (cases[-1:] if len(cases) % 2 else [])
    for case in cases[:-1:2] if len(cases) % 2 else cases[::2]:
        unify([args[0], case])
    return unify(results)


@register("SWITCH", (3, None), _switch_type, lazy=True)
def switch(ctx, subject, *cases):
    value = subject()
    for case, result in zip(cases[::2], cases[1::2], strict=False):
        if compare("=", value, case()):
            return result()
    return cases[-1]() if len(cases) % 2 else None


def _logic_type(args: list[Arg]) -> t.FormulaType:
    for arg in args:
        require(arg, *CONDITION)
    return t.BOOLEAN


@register("AND", (1, None), _logic_type, lazy=True)
def and_(ctx, *conditions):
    return all(truthy(condition()) for condition in conditions)


@register("OR", (1, None), _logic_type, lazy=True)
def or_(ctx, *conditions):
    return any(truthy(condition()) for condition in conditions)


@register("ISBLANK", (1, 1), fixed(t.BOOLEAN, (ANY, "a value")))
def isblank(ctx, value):
    return value is None


@register("COALESCE", (1, None), unify, lazy=True)
def coalesce(ctx, *values):
    for value in values:
        result = value()
        if result is not None:
            return result
    return None


@register("BLANK", (0, 0), fixed(t.BLANK))
def blank(ctx):
    return None
