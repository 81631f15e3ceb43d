"""The formula syntax tree: frozen dataclasses, each carrying its position in the source text."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True)
class Span:
    """Where a node sits in the source: offsets ``[start, end)``, 1-based line and column."""

    start: int
    end: int
    line: int
    column: int


@dataclass(frozen=True)
class Expression:
    """Base of every node. ``depth`` is the height of the subtree (used to refuse deep input)."""

    span: Span
    depth: int = field(default=1, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True)
class NumberLiteral(Expression):
    value: Decimal


@dataclass(frozen=True)
class TextLiteral(Expression):
    value: str


@dataclass(frozen=True)
class BooleanLiteral(Expression):
    value: bool


@dataclass(frozen=True)
class FieldRef(Expression):
    """A field by slug, or a path through links / child tables: ``client.discount``."""

    path: tuple[str, ...]


@dataclass(frozen=True)
class Call(Expression):
    """A function call; ``name`` is upper-cased (function names are case-insensitive)."""

    name: str
    args: tuple[Expression, ...]


@dataclass(frozen=True)
class Unary(Expression):
    """``-x``, ``+x`` or ``NOT x``."""

    op: str
    operand: Expression


@dataclass(frozen=True)
class Percent(Expression):
    """Postfix percent: ``15%`` is 0.15."""

    operand: Expression


@dataclass(frozen=True)
class Binary(Expression):
    """Arithmetic (``+ - * / ^``), ``&``, comparisons and ``AND`` / ``OR``."""

    op: str
    left: Expression
    right: Expression


def children(node: Expression) -> tuple[Expression, ...]:
    """The direct sub-expressions of ``node``."""
    if isinstance(node, Call):
        return node.args
    if isinstance(node, Unary | Percent):
        return (node.operand,)
    if isinstance(node, Binary):
        return (node.left, node.right)
    return ()


def field_refs(node: Expression) -> list[FieldRef]:
    """Every field reference in ``node`` (iterative, so any depth is safe)."""
    found, stack = [], [node]
    while stack:
        current = stack.pop()
        if isinstance(current, FieldRef):
            found.append(current)
        stack.extend(children(current))
    return found
