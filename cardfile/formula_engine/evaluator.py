"""The Python evaluator: computes a formula's value for one record (previews and conditions)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from cardfile.formula_engine import ast
from cardfile.formula_engine.checker import CheckedFormula
from cardfile.formula_engine.errors import (
    FormulaError,
    FormulaNameError,
    FormulaTypeError,
    FormulaValueError,
)
from cardfile.formula_engine.functions import REGISTRY
from cardfile.formula_engine.parser import parse
from cardfile.formula_engine.semantics import (
    Money,
    arithmetic,
    combine,
    compare,
    kind_of,
    negate,
    normalize,
    to_text,
    truthy,
)
from cardfile.formula_engine.types import Kind


@dataclass(frozen=True)
class RecordContext:
    """One record's values by path (tuple or dotted text; lists for child rows) and who asks."""

    values: Mapping[Any, Any] = field(default_factory=dict)
    user_id: Any = None
    branch_id: Any = None
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    # The installation's time zone: where TODAY() and the calendar parts of datetimes are seen.
    tz: tzinfo = UTC

    def value(self, path: tuple[str, ...]) -> Any:
        for key in (path, ".".join(path)):
            if key in self.values:
                return normalize(self.values[key])
        raise FormulaNameError(
            _("No value for field {name}.").format(name=".".join(path)),
            expected=sorted(str(key) for key in self.values)[:10],
        )


def evaluate(formula: CheckedFormula | ast.Expression | str, context: RecordContext) -> Any:
    """The value of ``formula`` for the record in ``context`` (None is blank)."""
    source = None
    if isinstance(formula, CheckedFormula):
        source, tree = formula.source, formula.ast
    elif isinstance(formula, str):
        source, tree = formula, parse(formula)
    else:
        tree = formula
    types = formula.node_types if isinstance(formula, CheckedFormula) else {}
    try:
        result = _Evaluator(context, types).eval(tree, None)
    except FormulaError as error:
        if source is not None:
            error.with_source(source)
        raise
    money = isinstance(formula, CheckedFormula) and formula.type.kind is Kind.MONEY
    if money and isinstance(result, Decimal):  # SUM of no lines is 0 in the money's currency
        return Money(result, formula.type.currency)
    return result


class _Evaluator:
    def __init__(self, context: RecordContext, types: Mapping[int, Any]) -> None:
        self.context = context
        self.types = types

    def kind(self, node: ast.Expression, value: Any) -> str:
        """A node's checked kind when known, else the kind of its value."""
        arg = self.types.get(id(node))
        return arg.type.kind.value if arg is not None else kind_of(value)

    def eval(self, node: ast.Expression, row: int | None) -> Any:
        try:
            return self._eval(node, row)
        except FormulaError as error:
            if error.span is None:
                error.span = node.span
            raise
        except (ArithmeticError, ValueError) as error:
            # out-of-range dates, overflowing conversions: refused where they happen
            raise FormulaValueError(
                _("The result is out of range."), span=node.span, expected=[_("smaller values")]
            ) from error

    def _eval(self, node: ast.Expression, row: int | None) -> Any:
        match node:
            case ast.NumberLiteral(value=value) | ast.TextLiteral(value=value):
                return value
            case ast.BooleanLiteral(value=value):
                return value
            case ast.FieldRef(path=path):
                return self.field(path, row)
            case ast.Percent(operand=operand):
                return arithmetic("/", self.eval(operand, row), Decimal(100))
            case ast.Unary(op="NOT", operand=operand):
                return not truthy(self.eval(operand, row))
            case ast.Unary(op="-", operand=operand):
                return negate(self.eval(operand, row))
            case ast.Unary(operand=operand):
                return self.eval(operand, row)
            case ast.Binary():
                return self.binary(node, row)
            case ast.Call():
                return self.call(node, row)
        raise FormulaTypeError(_("Unknown expression."), span=node.span)

    def field(self, path: tuple[str, ...], row: int | None) -> Any:
        value = self.context.value(path)
        if not isinstance(value, list):
            return value
        if row is None:
            raise FormulaTypeError(
                _("{name} has one value per row; wrap it in SUM, COUNT, MIN or MAX.").format(
                    name=".".join(path)
                ),
                expected=[_("an aggregate such as SUM(...)")],
            )
        return value[row] if row < len(value) else None

    def binary(self, node: ast.Binary, row: int | None) -> Any:
        left = self.eval(node.left, row)
        if node.op == "AND":
            return truthy(left) and truthy(self.eval(node.right, row))
        if node.op == "OR":
            return truthy(left) or truthy(self.eval(node.right, row))
        right = self.eval(node.right, row)
        if node.op == "&":
            return to_text(left, self.context.tz) + to_text(right, self.context.tz)
        if node.op in ("=", "<>", "<", "<=", ">", ">="):
            return compare(node.op, left, right)
        return combine(
            node.op, left, right, self.kind(node.left, left), self.kind(node.right, right)
        )

    def call(self, node: ast.Call, row: int | None) -> Any:
        function = REGISTRY.get(node.name)
        if function is None:
            raise FormulaNameError(_("Unknown function {name}.").format(name=node.name))
        count, high = len(node.args), function.max_args
        if count < function.min_args or (high is not None and count > high):
            raise FormulaTypeError(
                _("{name} does not take {count} arguments.").format(name=node.name, count=count)
            )
        if function.lazy:
            args = [lambda arg=arg: self.eval(arg, row) for arg in node.args]
        elif function.aggregate:
            args = [self.expand(arg, row) for arg in node.args]
        else:
            args = [self.eval(arg, row) for arg in node.args]
        result = function.python(self.context, *args)
        arg = self.types.get(id(node))
        if arg is not None and arg.type.kind is Kind.MONEY and isinstance(result, Decimal):
            return Money(result, arg.type.currency)  # SUM of no lines: 0 in the money's currency
        return result

    def expand(self, node: ast.Expression, row: int | None) -> Any:
        """An aggregate's argument: the list of per-row values if it ranges over child rows."""
        if row is not None:
            return self.eval(node, row)
        rows = self.row_count(node)
        if rows is None:
            return self.eval(node, None)
        return [self.eval(node, index) for index in range(rows)]

    def row_count(self, node: ast.Expression) -> int | None:
        rows, stack = None, [node]
        while stack:
            current = stack.pop()
            if isinstance(current, ast.FieldRef):
                value = self.context.value(current.path)
                if isinstance(value, list):
                    rows = max(rows or 0, len(value))
            elif not (
                isinstance(current, ast.Call)
                and current.name in REGISTRY
                and REGISTRY[current.name].aggregate
            ):
                stack.extend(ast.children(current))
        return rows
