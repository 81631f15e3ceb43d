"""SQL of the aggregates over lines or linking records (SUM, COUNT, AVG, MIN, MAX, SUMIF,
COUNTIF): each argument that ranges over rows is one correlated subquery on their table.

A mixin of the compiler, for both back ends (SQLite adds exactly with ``cf_sum``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Expression, F, Subquery
from django.utils.translation import gettext as _

from cardfile.formula_engine import ast
from cardfile.formula_engine import types as t
from cardfile.formula_engine.errors import FormulaTypeError
from cardfile.formula_engine.semantics import INEXACT_PLACES

from .base import _WIDE, NUMERIC, Compiled, _Frame
from .expressions import Param

K = t.Kind


class Aggregates:
    """Aggregates of the compiler; see the module docstring."""

    # aggregates: each argument that ranges over lines is one subquery on the line table

    def aggregate(self, node: ast.Call, frame: _Frame, result: t.FormulaType) -> Expression:
        name = node.name
        if name in ("SUM", "COUNT", "AVG"):
            sums, counts = [], []
            for arg in node.args:
                total, count = self.total(arg, frame)
                sums.append(total)
                counts.append(count)
            total = self.add_all(sums)
            count = self.add_all(counts)
            if name == "SUM":
                return total
            if name == "COUNT":
                return count
            if not self.pg:
                quotient = self.udf(
                    "/", [Compiled(total, result), Compiled(count, t.DECIMAL)], result
                )
            else:
                quotient = self.sql(
                    f"ROUND(ROUND({{0}}, {_WIDE}) / NULLIF({{1}}, 0), {INEXACT_PLACES})",
                    total,
                    count,
                    kind=K.DECIMAL,
                )
            return self.sql(
                "CASE WHEN {0} = 0 THEN NULL ELSE {1} END", count, quotient, kind=result.kind
            )
        if name in ("MIN", "MAX"):
            best: Compiled | None = None
            for arg in node.args:
                candidate = Compiled(self.extreme(arg, frame, name, result), result)
                best = candidate if best is None else self.better(best, candidate, name, result)
            return best.sql
        if name == "SUMIF":
            return self.over_rows(node.args[1], frame, "SUMIF", node.args[0])
        return self.over_rows(node.args[0], frame, "COUNTIF")

    def _many(self, node: ast.Expression) -> tuple[str, ...] | None:
        """The path that ``node`` ranges over, from its first row-valued field."""
        if not self.checked.arg(node).many:
            return None
        refs = [ref for ref in ast.field_refs(node) if self.checked.arg(ref).many]
        return refs[0].path

    def subquery(
        self, node: ast.Expression, frame: _Frame, build, extra: ast.Expression | None = None
    ) -> Expression:
        """``build(line_frame, queryset, values)`` over the lines ``node`` ranges over."""
        path = self._many(node)
        prefix, line_frame, queryset = frame.rows(path)
        for other in (node, extra):
            if other is None:
                continue
            for ref in ast.field_refs(other):
                if self.checked.arg(ref).many and ref.path[: len(prefix)] != prefix:
                    raise FormulaTypeError(
                        _("An aggregate can go over the lines of one table at a time."),
                        span=ref.span,
                        expected=[".".join(prefix)],
                    )
        return build(line_frame, queryset)

    def total(self, arg: ast.Expression, frame: _Frame) -> tuple[Expression, Expression]:
        """(sum, count of non-blank values) of one argument of SUM, COUNT or AVG."""
        if self._many(arg) is None:
            value = self.visit(arg, frame)
            if value.kind is K.BLANK:
                return Param(Decimal(0), K.DECIMAL), Param(Decimal(0), K.DECIMAL)
            count = self.sql("CASE WHEN {0} IS NULL THEN 0 ELSE 1 END", value.sql, kind=K.DECIMAL)
            if value.kind not in NUMERIC:
                return Param(Decimal(0), K.DECIMAL), count
            return self.sql("COALESCE({0}, 0)", value.sql, kind=K.DECIMAL), count

        def build(line_frame: _Frame, queryset: Any) -> tuple[Expression, Expression]:
            value = self.visit(arg, line_frame)
            adder = "SUM" if self.pg else "cf_sum"
            count = self.scalar(
                queryset, self.sql("CAST(COUNT({0}) AS numeric)", value.sql, kind=K.DECIMAL)
            )
            if value.kind not in NUMERIC:
                return Param(Decimal(0), K.DECIMAL), count
            total = self.scalar(queryset, self.sql(f"{adder}({{0}})", value.sql, kind=K.DECIMAL))
            return self.sql("COALESCE({0}, 0)", total, kind=K.DECIMAL), count

        return self.subquery(arg, frame, build)

    def over_rows(
        self,
        condition: ast.Expression,
        frame: _Frame,
        name: str,
        values: ast.Expression | None = None,
    ) -> Expression:
        def build(line_frame: _Frame, queryset: Any) -> Expression:
            test = self.condition(self.visit(condition, line_frame))
            if name == "COUNTIF":
                inner = self.sql(
                    "CAST(COUNT(CASE WHEN {0} THEN 1 END) AS numeric)", test, kind=K.DECIMAL
                )
                return self.sql("COALESCE({0}, 0)", self.scalar(queryset, inner), kind=K.DECIMAL)
            value = self.number(self.visit(values, line_frame))
            adder = "SUM" if self.pg else "cf_sum"
            inner = self.sql(
                f"{adder}(CASE WHEN {{0}} THEN {{1}} END)", test, value, kind=K.DECIMAL
            )
            return self.sql("COALESCE({0}, 0)", self.scalar(queryset, inner), kind=K.DECIMAL)

        return self.subquery(condition, frame, build, extra=values)

    def order_key(self, value: Compiled) -> Expression:
        if value.kind in t.TEXTUAL:
            if not self.pg:
                return self.udf("KEY", [value], t.TEXT)
            return self.sql('LOWER({0}) COLLATE "C"', value.sql, kind=K.TEXT)
        return value.sql

    def extreme(
        self, arg: ast.Expression, frame: _Frame, name: str, result: t.FormulaType
    ) -> Expression:
        if self._many(arg) is None:
            return self.as_kind(self.visit(arg, frame), result.kind)

        def build(line_frame: _Frame, queryset: Any) -> Expression:
            value = self.visit(arg, line_frame)
            picked = self.as_kind(value, result.kind)
            if value.kind not in t.TEXTUAL:  # ordered like SQL orders them
                return self.scalar(queryset, self.sql(f"{name}({{0}})", picked, kind=result.kind))
            # text: by its lower case, ties to the first line; aggregate arguments may read
            # the outer record, which an ORDER BY of a subquery may not
            order = [F(column) for column in line_frame.scope.order_by()]
            slots = ", ".join(f"{{{i}}}" for i in range(1, len(order) + 1))
            if self.pg:
                direction = "DESC" if name == "MAX" else "ASC"
                template = (
                    f'(ARRAY_AGG({{0}} ORDER BY LOWER({{0}}) COLLATE "C" {direction}, {slots}) '
                    "FILTER (WHERE {0} IS NOT NULL))[1]"
                )
            else:
                template = f"cf_{name.lower()}_text({{0}}, {slots})"
            return self.scalar(queryset, self.sql(template, picked, *order, kind=result.kind))

        return self.subquery(arg, frame, build)

    def better(self, best: Compiled, candidate: Compiled, name: str, result: t.FormulaType):
        op = "<" if name == "MIN" else ">"
        if self.pg:
            wins = self.sql(
                f"{{0}} {op} {{1}}", self.order_key(candidate), self.order_key(best), kind=K.BOOLEAN
            )
        else:
            wins = self.udf(op, [candidate, best], t.BOOLEAN)
        chosen = self.sql(
            "CASE WHEN {1} IS NULL THEN {0} WHEN {0} IS NULL THEN {1} "
            "WHEN {2} THEN {1} ELSE {0} END",
            best.sql,
            candidate.sql,
            wins,
            kind=result.kind,
        )
        return Compiled(chosen, result)

    def scalar(self, queryset: Any, value: Expression) -> Expression:
        """One value computed over the lines of ``queryset`` (an aggregate without GROUP BY)."""
        picked = queryset.order_by().annotate(_cf_v=value).values("_cf_v")
        return Subquery(picked, output_field=value.output_field)

    def add_all(self, values: list[Expression]) -> Expression:
        if len(values) == 1:
            return values[0]
        if not self.pg:
            total = Compiled(values[0], t.DECIMAL)
            for value in values[1:]:
                total = Compiled(
                    self.udf("+", [total, Compiled(value, t.DECIMAL)], t.DECIMAL), t.DECIMAL
                )
            return total.sql
        return self.sql(" + ".join(f"{{{i}}}" for i in range(len(values))), *values, kind=K.DECIMAL)
