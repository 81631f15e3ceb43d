"""The SQL back end: a checked formula -> one Django expression, on PostgreSQL and SQLite.

It follows the rules of `cardfile.formula_engine.semantics` to the letter; differential tests
compare it with the Python evaluator on random formulas and records. On PostgreSQL every
operator and function is native SQL; on SQLite, which has neither exact decimals nor
Unicode-aware case mapping, arithmetic and the scalar functions call the Python
implementations through ``cf_call`` (`sqlite.py`), and only the structure (CASE, COALESCE,
aggregates over lines) is native.

PostgreSQL folds constant sub-expressions while planning, even in a CASE branch that is never
taken, so a function that can fail (MAKE_DATE, POWER, LOG, casts to integer) only ever gets
arguments that cannot fail; the CASE around it then picks blank.
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Expression
from django.utils.translation import gettext as _

from cardfile.formula_engine import ast
from cardfile.formula_engine import types as t
from cardfile.formula_engine.checker import CheckedFormula
from cardfile.formula_engine.errors import FormulaError, FormulaTypeError
from cardfile.formula_engine.functions import REGISTRY
from cardfile.formula_engine.semantics import INEXACT_PLACES, POWER_LIMIT

from .aggregates import Aggregates
from .base import (
    _MAX_DAYS,
    _TEMPORAL,
    _WIDE,
    _ZERO_OF,
    NUMERIC,
    Compiled,
    K,
    _Frame,
)
from .expressions import Param, Sql, blank, integer, output_field, python_call
from .scalar_functions import ScalarFunctions
from .scope import CompileContext, Scope


def compile_formula(checked: CheckedFormula, scope: Scope, context: CompileContext) -> Expression:
    """The expression computing ``checked`` for each row of ``scope`` (None is blank)."""
    compiler = _Compiler(checked, context)
    try:
        result = compiler.visit(checked.ast, _Frame(scope))
    except FormulaError as error:
        raise error.with_source(checked.source) from None
    return compiler.as_kind(result, checked.type.kind)


class _Compiler(ScalarFunctions, Aggregates):
    def __init__(self, checked: CheckedFormula, context: CompileContext) -> None:
        self.checked = checked
        self.context = context
        self.pg = context.vendor == "postgresql"

    # -- helpers -------------------------------------------------------------------------------

    def type_of(self, node: ast.Expression) -> t.FormulaType:
        return self.checked.arg(node).type

    def sql(self, template: str, *args: Expression, kind: t.Kind) -> Expression:
        return Sql(template, *args, output_field=output_field(kind))

    def as_kind(self, value: Compiled, kind: t.Kind) -> Expression:
        """The value where ``kind`` is expected: a blank literal gets that kind's NULL."""
        if value.kind is K.BLANK and kind is not K.BLANK:
            return blank(kind)
        return value.sql

    def udf(self, name: str, args: list[Compiled], result: t.FormulaType) -> Expression:
        """SQLite: the Python implementation through ``cf_call``."""
        return python_call(name, [(a.sql, a.type) for a in args], result, self.context.tz_name)

    def number(self, value: Compiled) -> Expression:
        """A numeric value (blank literal as a numeric NULL)."""
        return self.as_kind(value, K.DECIMAL)

    def text(self, value: Compiled) -> Expression:
        """The text of a value as `semantics.to_text` writes it; blank is ''."""
        kind = value.kind
        if not self.pg:
            return self.udf("TEXT", [value], t.TEXT)
        if kind is K.BLANK:
            return Param("", K.TEXT)
        if kind in t.TEXTUAL:
            return self.sql("COALESCE({0}, '')", value.sql, kind=K.TEXT)
        if kind in (K.INTEGER, K.DECIMAL, K.PERCENT):
            return self.sql(
                "COALESCE(CASE WHEN {0} = 0 THEN '0' "
                "ELSE CAST(TRIM_SCALE(CAST({0} AS numeric)) AS text) END, '')",
                value.sql,
                kind=K.TEXT,
            )
        if kind is K.MONEY:
            from babel.numbers import get_currency_precision

            currency = value.type.currency
            places = get_currency_precision(currency) if currency else 2
            suffix = f" {currency}" if currency else ""
            return self.sql(
                "COALESCE(CAST(ROUND({0}, {1}) AS text) || {2}, '')",
                value.sql,
                integer(places),
                Param(suffix, K.TEXT),
                kind=K.TEXT,
            )
        if kind is K.BOOLEAN:
            return self.sql(
                "CASE WHEN {0} THEN 'TRUE' WHEN NOT {0} THEN 'FALSE' ELSE '' END",
                value.sql,
                kind=K.TEXT,
            )
        if kind is K.DATE:
            return self.sql("COALESCE(TO_CHAR({0}, 'YYYY-MM-DD'), '')", value.sql, kind=K.TEXT)
        if kind is K.DATETIME:
            return self.sql(
                "COALESCE(TO_CHAR({0} AT TIME ZONE {1}, 'YYYY-MM-DD HH24:MI:SS'), '')",
                value.sql,
                self.tz(),
                kind=K.TEXT,
            )
        if kind is K.DURATION:
            seconds = "CAST(FLOOR(EXTRACT(EPOCH FROM {0})) AS bigint)"
            return self.sql(
                f"COALESCE((CASE WHEN {seconds} < 0 THEN '-' ELSE '' END) "
                f"|| CAST(ABS({seconds}) / 3600 AS text) "
                f"|| ':' || LPAD(CAST(MOD(ABS({seconds}), 3600) / 60 AS text), 2, '0') "
                f"|| ':' || LPAD(CAST(MOD(ABS({seconds}), 60) AS text), 2, '0'), '')",
                value.sql,
                kind=K.TEXT,
            )
        return self.sql("COALESCE(CAST({0} AS text), '')", value.sql, kind=K.TEXT)

    def tz(self) -> Param:
        return Param(self.context.tz_name, K.TEXT)

    def condition(self, value: Compiled) -> Expression:
        """A condition: blank is FALSE."""
        expression = self.as_kind(value, K.BOOLEAN)
        if getattr(expression, "cf_never_blank", False):
            return expression  # plain, so a WHERE on it can use an index
        return self.sql("COALESCE({0}, FALSE)", expression, kind=K.BOOLEAN)

    def to_int(self, value: Expression, low: int, high: int) -> Expression:
        """TRUNC toward zero, clamped to [low, high], as an integer (a cast that cannot fail)."""
        return self.sql(
            "CAST(GREATEST({1}, LEAST({2}, TRUNC({0}))) AS integer)",
            value,
            integer(low),
            integer(high),
            kind=K.INTEGER,
        )

    def day_of(self, value: Compiled) -> Expression:
        """The calendar day of a date, or of a datetime in the installation's time zone."""
        if value.kind is K.DATETIME:
            return self.sql("CAST({0} AT TIME ZONE {1} AS date)", value.sql, self.tz(), kind=K.DATE)
        return self.as_kind(value, K.DATE)

    # -- nodes ---------------------------------------------------------------------------------

    def visit(self, node: ast.Expression, frame: _Frame) -> Compiled:
        try:
            return self._visit(node, frame)
        except FormulaError as error:
            if error.span is None:
                error.span = node.span
            raise

    def _visit(self, node: ast.Expression, frame: _Frame) -> Compiled:
        kind_type = self.type_of(node)
        match node:
            case ast.NumberLiteral(value=value):
                return Compiled(Param(value, K.DECIMAL), kind_type)
            case ast.TextLiteral(value=value):
                return Compiled(Param(value, K.TEXT), kind_type)
            case ast.BooleanLiteral(value=value):
                return Compiled(Param(value, K.BOOLEAN), kind_type)
            case ast.FieldRef(path=path):
                return self.field(frame.column(path), kind_type)
            case ast.Percent(operand=operand):
                inner = self.visit(operand, frame)
                hundred = Compiled(Param(Decimal(100), K.DECIMAL), t.DECIMAL)
                return Compiled(self.arithmetic("/", inner, hundred, t.DECIMAL), kind_type)
            case ast.Unary(op="NOT", operand=operand):
                inner = self.visit(operand, frame)
                return Compiled(
                    self.sql("NOT ({0})", self.condition(inner), kind=K.BOOLEAN), kind_type
                )
            case ast.Unary(op="-", operand=operand):
                inner = self.visit(operand, frame)
                if inner.kind is K.BLANK:
                    return inner
                if not self.pg:
                    return Compiled(self.udf("NEG", [inner], kind_type), kind_type)
                return Compiled(self.sql("-{0}", inner.sql, kind=kind_type.kind), kind_type)
            case ast.Unary(operand=operand):
                return self.visit(operand, frame)
            case ast.Binary():
                return Compiled(self.binary(node, frame, kind_type), kind_type)
            case ast.Call():
                return Compiled(self.call(node, frame, kind_type), kind_type)
        raise FormulaTypeError(_("Unknown expression."), span=node.span)

    def field(self, column: Expression, kind_type: t.FormulaType) -> Compiled:
        kind = kind_type.kind
        if kind is K.PERCENT:  # stored in points: 15.00 is 15 %
            if self.pg:
                value = self.sql("CAST({0} AS numeric) / 100", column, kind=kind)
            else:
                value = self.udf("PCT", [Compiled(column, t.DECIMAL)], t.DECIMAL)
            return Compiled(value, kind_type)
        if kind is K.INTEGER and self.pg:
            return Compiled(self.sql("CAST({0} AS numeric)", column, kind=kind), kind_type)
        return Compiled(column, kind_type)

    # -- operators -----------------------------------------------------------------------------

    def binary(self, node: ast.Binary, frame: _Frame, result: t.FormulaType) -> Expression:
        left, right = self.visit(node.left, frame), self.visit(node.right, frame)
        op = node.op
        if op in ("AND", "OR"):
            return never_blank(
                self.sql(
                    f"{{0}} {op} {{1}}",
                    self.condition(left),
                    self.condition(right),
                    kind=K.BOOLEAN,
                )
            )
        if op == "&":
            if not self.pg:
                return self.udf("&", [left, right], t.TEXT)
            return self.sql("{0} || {1}", self.text(left), self.text(right), kind=K.TEXT)
        if op in _ZERO_OF:
            return self.compare(op, left, right)
        return self.arithmetic(op, left, right, result)

    def compare(self, op: str, left: Compiled, right: Compiled) -> Expression:
        kinds = {left.kind, right.kind} - {K.BLANK}
        if not kinds:
            return Param(_ZERO_OF[op], K.BOOLEAN)
        if not self.pg:
            return self.udf(op, [left, right], t.BOOLEAN)
        if kinds <= NUMERIC:
            a, b = self.number(left), self.number(right)
            return self.sql(f"COALESCE({{0}}, 0) {op} COALESCE({{1}}, 0)", a, b, kind=K.BOOLEAN)
        if kinds <= t.TEXTUAL:
            a = self.as_kind(left, K.TEXT)
            b = self.as_kind(right, K.TEXT)
            return self.sql(
                f"LOWER(COALESCE({{0}}, '')) COLLATE \"C\" {op} LOWER(COALESCE({{1}}, '')) "
                'COLLATE "C"',
                a,
                b,
                kind=K.BOOLEAN,
            )
        kind = next(iter(kinds))
        a, b = self.as_kind(left, kind), self.as_kind(right, kind)
        if kind is K.BOOLEAN:
            return self.sql(
                f"COALESCE({{0}}, FALSE) {op} COALESCE({{1}}, FALSE)", a, b, kind=K.BOOLEAN
            )
        for column, known in ((a, b), (b, a)):
            if op in ("=", "<>") and isinstance(known, Param) and known.value is not None:
                # Against a value known not to be blank (a literal, ME()): blank equals
                # nothing. Written so that an index on the column serves ``master = ME()``.
                template = (
                    "{0} = {1} AND {0} IS NOT NULL" if op == "=" else "{0} <> {1} OR {0} IS NULL"
                )
                return never_blank(self.sql(template, column, known, kind=K.BOOLEAN))
        both_blank = "TRUE" if _ZERO_OF[op] else "FALSE"
        one_blank = "TRUE" if op == "<>" else "FALSE"
        return self.sql(
            f"CASE WHEN {{0}} IS NULL AND {{1}} IS NULL THEN {both_blank} "
            f"WHEN {{0}} IS NULL OR {{1}} IS NULL THEN {one_blank} ELSE {{0}} {op} {{1}} END",
            a,
            b,
            kind=K.BOOLEAN,
        )

    def arithmetic(
        self, op: str, left: Compiled, right: Compiled, result: t.FormulaType
    ) -> Expression:
        if not self.pg:
            return self.udf(op, [left, right], result)
        if left.kind in _TEMPORAL or right.kind in _TEMPORAL:
            return self.temporal(op, left, right)
        a, b = self.number(left), self.number(right)
        if op == "/":
            return self.sql(
                f"ROUND(ROUND(COALESCE({{0}}, 0), {_WIDE}) / NULLIF({{1}}, 0), {INEXACT_PLACES})",
                a,
                b,
                kind=K.DECIMAL,
            )
        if op == "^":
            return self.power(a, b)
        return self.sql(
            f"CASE WHEN {{0}} IS NULL AND {{1}} IS NULL THEN NULL "
            f"ELSE COALESCE({{0}}, 0) {op} COALESCE({{1}}, 0) END",
            a,
            b,
            kind=K.DECIMAL,
        )

    def power(self, base: Expression, exponent: Expression) -> Expression:
        """``^`` and POWER: blank for 0^0, 0^-n, a negative base to a fraction, or a result
        reaching 10^POWER_LIMIT; inexact results rounded to ten places."""
        bad = (
            "(COALESCE({0}, 0) = 0 AND COALESCE({1}, 0) <= 0) "
            "OR (COALESCE({0}, 0) < 0 AND COALESCE({1}, 0) <> TRUNC(COALESCE({1}, 0))) "
            "OR (COALESCE({0}, 0) <> 0 AND COALESCE({1}, 0) * "
            "LOG(CASE WHEN COALESCE({0}, 0) = 0 THEN 1 ELSE ABS(COALESCE({0}, 0)) END) "
            f">= {POWER_LIMIT})"
        )
        return self.sql(
            f"CASE WHEN {{0}} IS NULL AND {{1}} IS NULL THEN NULL WHEN {bad} THEN NULL "
            f"ELSE ROUND(POWER(ROUND(CASE WHEN {bad} THEN 1 ELSE COALESCE({{0}}, 0) END, "
            f"{_WIDE}), CASE WHEN {bad} THEN 1 ELSE COALESCE({{1}}, 0) END), "
            f"{INEXACT_PLACES}) END",
            base,
            exponent,
            kind=K.DECIMAL,
        )

    def temporal(self, op: str, left: Compiled, right: Compiled) -> Expression:
        """Dates, datetimes and durations with the blank rules of `semantics.temporal`."""
        lk, rk = left.kind, right.kind
        if lk is K.DATE and rk not in _TEMPORAL:  # date ± days
            days = self.to_int(
                self.sql("COALESCE({0}, 0)", self.number(right), kind=K.DECIMAL),
                -_MAX_DAYS,
                _MAX_DAYS,
            )
            return self.sql(f"{{0}} {op} {{1}}", left.sql, days, kind=K.DATE)
        if rk is K.DATE and lk not in _TEMPORAL:  # days + date
            days = self.to_int(
                self.sql("COALESCE({0}, 0)", self.number(left), kind=K.DECIMAL),
                -_MAX_DAYS,
                _MAX_DAYS,
            )
            return self.sql("{0} + {1}", right.sql, days, kind=K.DATE)
        if lk is K.DATE and rk is K.DATE:
            return self.sql("CAST({0} - {1} AS numeric)", left.sql, right.sql, kind=K.DECIMAL)
        if lk is K.DATETIME and rk is K.DATETIME:
            return self.sql("{0} - {1}", left.sql, right.sql, kind=K.DURATION)
        zero = "INTERVAL '0'"
        if lk is K.DATETIME:  # datetime ± duration
            duration = self.as_kind(right, K.DURATION)
            return self.sql(
                f"{{0}} {op} COALESCE({{1}}, {zero})", left.sql, duration, kind=K.DATETIME
            )
        if op in "+-":  # duration ± duration
            a, b = self.as_kind(left, K.DURATION), self.as_kind(right, K.DURATION)
            return self.sql(
                f"CASE WHEN {{0}} IS NULL AND {{1}} IS NULL THEN NULL "
                f"ELSE COALESCE({{0}}, {zero}) {op} COALESCE({{1}}, {zero}) END",
                a,
                b,
                kind=K.DURATION,
            )
        # scaled exactly on microseconds, rounded half away from zero (semantics.scale_duration)
        a, b = self.as_kind(left, K.DURATION), self.number(right)
        micros = f"EXTRACT(EPOCH FROM COALESCE({{0}}, {zero})) * 1000000"
        scaled = f"{micros} * COALESCE({{1}}, 0)" if op == "*" else f"{micros} / NULLIF({{1}}, 0)"
        blank_both = "{0} IS NULL AND {1} IS NULL" if op == "*" else "FALSE"
        return self.sql(
            f"CASE WHEN {blank_both} THEN NULL "
            f"ELSE CAST(ROUND({scaled}) AS bigint) * INTERVAL '1 microsecond' END",
            a,
            b,
            kind=K.DURATION,
        )

    # -- functions -----------------------------------------------------------------------------

    def call(self, node: ast.Call, frame: _Frame, result: t.FormulaType) -> Expression:
        function = REGISTRY[node.name]
        builder = getattr(self, f"fn_{node.name.lower()}", None)
        if function.aggregate:
            return self.aggregate(node, frame, result)
        if function.lazy or node.name in _CONTEXT_FUNCTIONS:
            return builder(node, frame, result)
        args = [self.visit(arg, frame) for arg in node.args]
        if not self.pg:
            return self.udf(node.name, args, result)
        return builder(args, result)


# Compiled natively from their nodes on both back ends (with the lazy ones: IF, AND ...).
def never_blank(expression: Expression) -> Expression:
    """Mark a boolean expression that is never NULL, so `condition` needs no COALESCE."""
    expression.cf_never_blank = True
    return expression


_CONTEXT_FUNCTIONS = frozenset({"ME", "MY_BRANCH", "TODAY", "NOW", "ISBLANK", "BLANK"})

__all__ = ["Compiled", "compile_formula"]
