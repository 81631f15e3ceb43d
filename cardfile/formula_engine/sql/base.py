"""What the parts of the SQL compiler share: a compiled node, the frame names resolve in, and
the limits that keep PostgreSQL's casts from failing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Expression
from django.utils.translation import gettext as _

from cardfile.formula_engine import types as t
from cardfile.formula_engine.errors import FormulaTypeError

from .scope import Scope

K = t.Kind
NUMERIC = t.NUMERIC
_TEMPORAL = frozenset({K.DATE, K.DATETIME, K.DURATION})
_ZERO_OF = {"=": True, "<>": False, "<": False, "<=": True, ">": False, ">=": True}
# Guards for integer casts: beyond these no date or text result exists anyway.
_MAX_DAYS = 3_000_000
_MAX_MONTHS = 120_000
_MAX_INT = 2_000_000_000
_WIDE = 30  # decimals carried into inexact PostgreSQL operations before rounding to ten


@dataclass(frozen=True)
class Compiled:
    """A compiled node: its expression and its formula type."""

    sql: Expression
    type: t.FormulaType

    @property
    def kind(self) -> t.Kind:
        return self.type.kind


class _Frame:
    """Where names resolve while compiling: the row's scope, or inside an aggregate the scope
    of one line (names under ``prefix``) with the enclosing frame one subquery further out."""

    def __init__(
        self, scope: Scope, prefix: tuple[str, ...] = (), outer: _Frame | None = None
    ) -> None:
        self.scope, self.prefix, self.outer = scope, prefix, outer

    def owns(self, path: tuple[str, ...]) -> bool:
        return self.outer is None or path[: len(self.prefix)] == self.prefix

    def column(self, path: tuple[str, ...]) -> Expression:
        if self.owns(path):
            return self.scope.column(path[len(self.prefix) :])
        return self.outer.column(path)

    def rows(self, path: tuple[str, ...]) -> tuple[tuple[str, ...], _Frame, Any]:
        if not self.owns(path):
            raise FormulaTypeError(_("An aggregate inside another must go over its lines."))
        relative = path[len(self.prefix) :]
        count, line_scope, queryset = self.scope.rows(relative)
        prefix = self.prefix + relative[:count]
        return prefix, _Frame(line_scope, prefix, self.deeper()), queryset

    def deeper(self) -> _Frame:
        return _Frame(self.scope.deeper(), self.prefix, self.outer.deeper() if self.outer else None)
