"""The type checker: infers a formula's result type and rejects bad formulas at definition time."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from difflib import get_close_matches

from django.utils.translation import gettext as _

from cardfile.formula_engine import ast
from cardfile.formula_engine import types as t
from cardfile.formula_engine.errors import FormulaError, FormulaNameError, FormulaTypeError
from cardfile.formula_engine.functions import REGISTRY
from cardfile.formula_engine.functions.registry import CONDITION, Arg, require, unify
from cardfile.formula_engine.parser import parse

K = t.Kind
_DATES = frozenset({K.DATE, K.DATETIME, K.DURATION})
_NUMBERISH = t.PLAIN_NUMBERS | {K.BLANK}


@dataclass(frozen=True)
class CheckedFormula:
    """A parsed and type-checked formula; ``dependencies`` are the field paths it reads.

    ``node_types`` maps ``id(node)`` of every node of ``ast`` to its checked `Arg` (type and
    whether it ranges over rows): the SQL compiler chooses its SQL by them. ``volatile`` is true
    when the formula calls a volatile function (TODAY, NOW, ME, MY_BRANCH): stored, its value
    is the one of the moment (and writer) of the record's last write, and goes stale after."""

    source: str
    ast: ast.Expression
    type: t.FormulaType
    dependencies: frozenset[tuple[str, ...]]
    node_types: Mapping[int, Arg] = field(default_factory=dict, compare=False, repr=False)
    volatile: bool = False

    def arg(self, node: ast.Expression) -> Arg:
        return self.node_types[id(node)]


def check(text: str, schema: t.SchemaView) -> CheckedFormula:
    """Parse and type-check ``text`` against ``schema``; raise a positioned `FormulaError`."""
    tree = parse(text)
    checker = _Checker(schema)
    try:
        result = checker.visit(tree)
        if result.many:
            raise FormulaTypeError(
                _("This formula gives one value per row; wrap it in SUM, COUNT, MIN or MAX."),
                span=tree.span,
                expected=[_("an aggregate such as SUM(...)")],
            )
    except FormulaError as error:
        raise error.with_source(text) from None
    return CheckedFormula(
        text,
        tree,
        result.type,
        frozenset(checker.dependencies),
        checker.node_types,
        volatile=checker.volatile,
    )


def _mismatch(op: str, left: Arg, right: Arg) -> FormulaTypeError:
    return FormulaTypeError(
        _("Cannot apply {op} to {left} and {right}.").format(
            op=op, left=left.type, right=right.type
        ),
        span=right.node.span if right.type.kind is not K.BLANK else left.node.span,
        expected=[_("compatible operands")],
    )


def _date_arithmetic(op: str, left: Arg, right: Arg) -> t.FormulaType:
    lk, rk = left.type.kind, right.type.kind
    rules = {
        (K.DATE, "+", "n"): t.DATE,
        (K.DATE, "-", "n"): t.DATE,
        ("n", "+", K.DATE): t.DATE,
        (K.DATE, "-", K.DATE): t.INTEGER,
        (K.DATETIME, "+", K.DURATION): t.DATETIME,
        (K.DATETIME, "-", K.DURATION): t.DATETIME,
        (K.DATETIME, "-", K.DATETIME): t.DURATION,
        (K.DURATION, "+", K.DURATION): t.DURATION,
        (K.DURATION, "-", K.DURATION): t.DURATION,
        (K.DURATION, "*", "n"): t.DURATION,
        (K.DURATION, "/", "n"): t.DURATION,
    }
    key = ("n" if lk in _NUMBERISH else lk, op, "n" if rk in _NUMBERISH else rk)
    if key in rules:
        return rules[key]
    if K.BLANK in (lk, rk) and op in "+-":
        return left.type if rk is K.BLANK else right.type
    raise _mismatch(op, left, right)


def _arithmetic(op: str, left: Arg, right: Arg) -> t.FormulaType:
    lk, rk = left.type.kind, right.type.kind
    if lk in _DATES or rk in _DATES:
        return _date_arithmetic(op, left, right)
    for arg in (left, right):
        require(arg, t.NUMERIC, _("a number or money"))
    if lk is K.BLANK and rk is K.BLANK:
        return t.BLANK
    if K.MONEY in (lk, rk):
        return _money_arithmetic(op, left, right)
    if op in "^/":
        return t.DECIMAL
    if {lk, rk} <= {K.INTEGER, K.BLANK}:
        return t.INTEGER
    if op in "+-" and {lk, rk} <= {K.PERCENT, K.BLANK}:
        return t.PERCENT
    return t.DECIMAL


def _money_arithmetic(op: str, left: Arg, right: Arg) -> t.FormulaType:
    both = left.type.kind is K.MONEY and right.type.kind is K.MONEY
    if op == "^" or (op == "*" and both) or (op == "/" and right.type.kind is K.MONEY and not both):
        raise FormulaTypeError(
            _("Cannot apply {op} to {left} and {right}.").format(
                op=op, left=left.type, right=right.type
            ),
            span=right.node.span,
            expected=[_("a number")],
        )
    if both:
        result = unify([left, right])
        return t.DECIMAL if op == "/" else result
    return left.type if left.type.kind is K.MONEY else right.type


class _Checker:
    def __init__(self, schema: t.SchemaView) -> None:
        self.schema = schema
        self.dependencies: set[tuple[str, ...]] = set()
        self.node_types: dict[int, Arg] = {}
        self.volatile = False

    def visit(self, node: ast.Expression) -> Arg:
        result = self._visit(node)
        self.node_types[id(node)] = result
        return result

    def _visit(self, node: ast.Expression) -> Arg:
        match node:
            case ast.NumberLiteral(value=value):
                kind = t.INTEGER if value == value.to_integral_value() else t.DECIMAL
                return Arg(kind, False, node)
            case ast.TextLiteral():
                return Arg(t.TEXT, False, node)
            case ast.BooleanLiteral():
                return Arg(t.BOOLEAN, False, node)
            case ast.FieldRef():
                return self.field(node)
            case ast.Percent(operand=operand):
                inner = self.visit(operand)
                require(inner, t.PLAIN_NUMBERS, _("a number"))
                return Arg(t.PERCENT, inner.many, node)
            case ast.Unary(op=op, operand=operand):
                inner = self.visit(operand)
                if op == "NOT":
                    require(inner, *CONDITION)
                    return Arg(t.BOOLEAN, inner.many, node)
                kind = require(inner, t.NUMERIC | {K.DURATION}, _("a number"))
                return Arg(kind, inner.many, node)
            case ast.Binary():
                return self.binary(node)
            case ast.Call():
                return self.call(node)
        raise FormulaTypeError(_("Unknown expression."), span=node.span)

    def binary(self, node: ast.Binary) -> Arg:
        left, right = self.visit(node.left), self.visit(node.right)
        many = left.many or right.many
        if node.op in ("AND", "OR"):
            require(left, *CONDITION)
            require(right, *CONDITION)
            return Arg(t.BOOLEAN, many, node)
        if node.op == "&":
            return Arg(t.TEXT, many, node)
        if node.op in ("=", "<>", "<", "<=", ">", ">="):
            try:
                unify([left, right])
            except FormulaTypeError as error:
                raise FormulaTypeError(
                    _("Cannot compare {left} with {right}.").format(
                        left=left.type, right=right.type
                    ),
                    span=error.span,
                    expected=error.expected,
                ) from None
            return Arg(t.BOOLEAN, many, node)
        return Arg(_arithmetic(node.op, left, right), many, node)

    def call(self, node: ast.Call) -> Arg:
        function = REGISTRY.get(node.name)
        if function is None:
            suggestions = get_close_matches(node.name, list(REGISTRY), n=3, cutoff=0.6)
            raise FormulaNameError(
                _("Unknown function {name}.").format(name=node.name)
                + (_(" Did you mean {names}?").format(names=", ".join(suggestions)))
                * bool(suggestions),
                span=node.span,
                expected=suggestions,
                suggestions=suggestions,
            )
        count = len(node.args)
        high = function.max_args
        if count < function.min_args or (high is not None and count > high):
            arity = (
                str(function.min_args)
                if high == function.min_args
                else (
                    f"{function.min_args}-{high}" if high is not None else f"{function.min_args}+"
                )
            )
            raise FormulaTypeError(
                _("{name} takes {arity} arguments, got {count}.").format(
                    name=node.name, arity=arity, count=count
                ),
                span=node.span,
                expected=[_("{arity} arguments").format(arity=arity)],
            )
        self.volatile = self.volatile or function.volatile
        args = [self.visit(arg) for arg in node.args]
        result = function.type_rule(args)
        many = False if function.aggregate else any(arg.many for arg in args)
        return Arg(result, many, node)

    def field(self, node: ast.FieldRef) -> Arg:
        try:
            info = self.schema.resolve_field(node.path)
        except FormulaError as error:  # a field formulas cannot read (an image, say)
            if error.span is None:
                error.span = node.span
            raise
        if info is None:
            depth = 1
            while depth < len(node.path) and self.schema.resolve_field(node.path[:depth]):
                depth += 1
            name, names = (
                node.path[depth - 1],
                list(self.schema.field_names(node.path[: depth - 1])),
            )
            suggestions = get_close_matches(name, names, n=3, cutoff=0.6)
            raise FormulaNameError(
                _("Unknown field {name}.").format(name=".".join(node.path[:depth]))
                + (_(" Did you mean {names}?").format(names=", ".join(suggestions)))
                * bool(suggestions),
                span=node.span,
                expected=suggestions or sorted(names)[:10],
                suggestions=suggestions,
            )
        self.dependencies.add(node.path)
        return Arg(info.type, info.many, node)
