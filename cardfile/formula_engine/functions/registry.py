"""The one function registry: each entry is a name, an arity, a type rule and implementations.

The Python evaluator calls ``python``; the SQL compiler (a later increment) fills ``sql`` on the
same entries, so a function is always defined in one place. Type rules receive the checked
arguments and return the result type, raising `FormulaTypeError` at the offending argument.

``python`` receives the `EvalContext` and then the arguments: values for ordinary functions,
zero-argument callables for ``lazy`` ones (IF evaluates only the branch it takes), and for
``aggregate`` ones a list of per-row values for every argument that ranges over a child table.
``volatile`` ones (TODAY, NOW, ME, MY_BRANCH) read the moment or who asks rather than the record:
a stored formula using them keeps the value they had when its record was last written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from cardfile.formula_engine import types as t
from cardfile.formula_engine.ast import Expression
from cardfile.formula_engine.errors import FormulaTypeError


@dataclass(frozen=True)
class Arg:
    """A checked argument: its type, whether it ranges over many rows, and its node."""

    type: t.FormulaType
    many: bool
    node: Expression


@dataclass(frozen=True)
class FormulaFunction:
    name: str
    min_args: int
    max_args: int | None
    type_rule: Callable[[list[Arg]], t.FormulaType]
    python: Callable[..., Any]
    lazy: bool = False
    aggregate: bool = False
    sql: Callable[..., Any] | None = None
    volatile: bool = False


REGISTRY: dict[str, FormulaFunction] = {}


def register(
    name: str,
    arity: tuple[int, int | None],
    type_rule: Callable[[list[Arg]], t.FormulaType],
    *,
    lazy: bool = False,
    aggregate: bool = False,
    volatile: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator registering a Python implementation under ``name``."""

    def decorate(python: Callable[..., Any]) -> Callable[..., Any]:
        REGISTRY[name] = FormulaFunction(
            name,
            arity[0],
            arity[1],
            type_rule,
            python,
            lazy=lazy,
            aggregate=aggregate,
            volatile=volatile,
        )
        return python

    return decorate


def require(arg: Arg, kinds: Iterable[t.Kind], expected: str) -> t.FormulaType:
    """The argument's type if it is one of ``kinds`` (blank always fits), else a type error."""
    if arg.type.kind is t.Kind.BLANK or arg.type.kind in frozenset(kinds):
        return arg.type
    raise FormulaTypeError(
        _("Expected {expected}, got {actual}.").format(expected=expected, actual=arg.type),
        span=arg.node.span,
        expected=[expected],
    )


def unify(args: list[Arg]) -> t.FormulaType:
    """The common type of alternatives (IF branches, COALESCE, MIN arguments)."""
    result = t.BLANK
    for arg in args:
        current = arg.type
        if current.kind is t.Kind.BLANK or current == result:
            continue
        if result.kind is t.Kind.BLANK:
            result = current
        elif result.kind is t.Kind.MONEY and current.kind is t.Kind.MONEY:
            if result.currency and current.currency and result.currency != current.currency:
                raise FormulaTypeError(
                    _("Cannot mix money in {a} and {b}.").format(
                        a=result.currency, b=current.currency
                    ),
                    span=arg.node.span,
                    expected=[str(result)],
                )
            result = t.money(result.currency or current.currency)
        elif {result.kind, current.kind} <= t.NUMERIC:
            money = t.Kind.MONEY in {result.kind, current.kind}
            result = (result if result.kind is t.Kind.MONEY else current) if money else t.DECIMAL
        elif {result.kind, current.kind} <= t.TEXTUAL:
            result = t.TEXT
        else:
            raise FormulaTypeError(
                _("Expected {expected} like the other alternatives, got {actual}.").format(
                    expected=result, actual=current
                ),
                span=arg.node.span,
                expected=[str(result)],
            )
    return result


def fixed(result: t.FormulaType, *kinds: tuple[frozenset[t.Kind], str]):
    """A type rule: positional arguments of the given kinds, a fixed result type."""

    def rule(args: list[Arg]) -> t.FormulaType:
        for arg, (allowed, expected) in zip(args, kinds, strict=False):
            require(arg, allowed, expected)
        return result

    return rule


ANY = frozenset(t.Kind)
NUMBER = (t.PLAIN_NUMBERS, "a number")
NUMERIC = (t.NUMERIC, "a number or money")
TEXT = (ANY, "a text")
DATE = (frozenset({t.Kind.DATE, t.Kind.DATETIME}), "a date")
CONDITION = (frozenset({t.Kind.BOOLEAN}), "a condition (TRUE or FALSE)")
