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

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Expression, F, Subquery
from django.utils.translation import gettext as _

from cardfile.formula_engine import ast
from cardfile.formula_engine import types as t
from cardfile.formula_engine.checker import CheckedFormula
from cardfile.formula_engine.errors import FormulaError, FormulaTypeError
from cardfile.formula_engine.functions import REGISTRY
from cardfile.formula_engine.functions.text import DATE_PATTERNS, FORMATS, TextFormat
from cardfile.formula_engine.semantics import INEXACT_PLACES, POWER_LIMIT, local

from . import sqlite
from .expressions import Param, Sql, blank, integer, output_field
from .scope import CompileContext, Scope

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


def compile_formula(checked: CheckedFormula, scope: Scope, context: CompileContext) -> Expression:
    """The expression computing ``checked`` for each row of ``scope`` (None is blank)."""
    compiler = _Compiler(checked, context)
    try:
        result = compiler.visit(checked.ast, _Frame(scope))
    except FormulaError as error:
        raise error.with_source(checked.source) from None
    return compiler.as_kind(result, checked.type.kind)


class _Compiler:
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
        signature = sqlite.signature([a.type for a in args], result, self.context.tz_name)
        slots = ", ".join(f"{{{i}}}" for i in range(len(args) + 2))
        return self.sql(
            f"cf_call({slots})",
            Param(name, K.TEXT),
            Param(signature, K.TEXT),
            *[a.sql for a in args],
            kind=result.kind,
        )

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
        return self.sql("COALESCE({0}, FALSE)", self.as_kind(value, K.BOOLEAN), kind=K.BOOLEAN)

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
            return self.sql(
                f"{{0}} {op} {{1}}", self.condition(left), self.condition(right), kind=K.BOOLEAN
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

    # context (parameters, both back ends)

    def fn_me(self, node, frame, result):
        return Param(self.context.user_id, K.USER)

    def fn_my_branch(self, node, frame, result):
        return Param(self.context.branch_id, K.LINK)

    def fn_today(self, node, frame, result):
        return Param(local(self.context.moment(), self.context.tz).date(), K.DATE)

    def fn_now(self, node, frame, result):
        return Param(self.context.moment(), K.DATETIME)

    # logic (lazy: native CASE on both back ends)

    def fn_if(self, node, frame, result):
        condition = self.visit(node.args[0], frame)
        then = self.as_kind(self.visit(node.args[1], frame), result.kind)
        otherwise = (
            self.as_kind(self.visit(node.args[2], frame), result.kind)
            if len(node.args) > 2
            else blank(result.kind)
        )
        return self.sql(
            "CASE WHEN {0} THEN {1} ELSE {2} END",
            self.condition(condition),
            then,
            otherwise,
            kind=result.kind,
        )

    def fn_ifs(self, node, frame, result):
        parts, args = [], []
        for index in range(0, len(node.args), 2):
            args.append(self.condition(self.visit(node.args[index], frame)))
            args.append(self.as_kind(self.visit(node.args[index + 1], frame), result.kind))
            parts.append(f"WHEN {{{index}}} THEN {{{index + 1}}}")
        return self.sql(f"CASE {' '.join(parts)} ELSE NULL END", *args, kind=result.kind)

    def fn_switch(self, node, frame, result):
        subject = self.visit(node.args[0], frame)
        cases = node.args[1:]
        parts, args = [], []
        for index in range(0, len(cases) - 1, 2):
            match = self.compare("=", subject, self.visit(cases[index], frame))
            args.append(match)
            args.append(self.as_kind(self.visit(cases[index + 1], frame), result.kind))
            parts.append(f"WHEN {{{len(args) - 2}}} THEN {{{len(args) - 1}}}")
        if len(cases) % 2:
            args.append(self.as_kind(self.visit(cases[-1], frame), result.kind))
            default = f"{{{len(args) - 1}}}"
        else:
            args.append(blank(result.kind))
            default = f"{{{len(args) - 1}}}"
        return self.sql(f"CASE {' '.join(parts)} ELSE {default} END", *args, kind=result.kind)

    def _logic(self, node, frame, joiner):
        args = [self.condition(self.visit(arg, frame)) for arg in node.args]
        template = f" {joiner} ".join(f"{{{i}}}" for i in range(len(args)))
        return self.sql(template, *args, kind=K.BOOLEAN)

    def fn_and(self, node, frame, result):
        return self._logic(node, frame, "AND")

    def fn_or(self, node, frame, result):
        return self._logic(node, frame, "OR")

    def fn_coalesce(self, node, frame, result):
        args = [self.as_kind(self.visit(arg, frame), result.kind) for arg in node.args]
        if result.kind is K.BLANK:
            return blank(K.TEXT)
        slots = ", ".join(f"{{{i}}}" for i in range(len(args)))
        return self.sql(f"COALESCE({slots}, NULL)", *args, kind=result.kind)

    def fn_isblank(self, node, frame, result):
        value = self.visit(node.args[0], frame)
        if value.kind is K.BLANK:
            return Param(True, K.BOOLEAN)
        return self.sql("{0} IS NULL", value.sql, kind=K.BOOLEAN)

    def fn_blank(self, node, frame, result):
        return blank(K.TEXT)

    # numbers (PostgreSQL; SQLite goes through cf_call)

    def _digits(self, args: list[Compiled]) -> Expression:
        if len(args) < 2:
            return integer(0)
        return self.to_int(
            self.sql("COALESCE({0}, 0)", self.number(args[1]), kind=K.DECIMAL), -40, 40
        )

    def fn_round(self, args, result):
        return self.sql(
            "ROUND(COALESCE({0}, 0), {1})", self.number(args[0]), self._digits(args), kind=K.DECIMAL
        )

    def fn_rounddown(self, args, result):
        return self.sql(
            "TRUNC(COALESCE({0}, 0), {1})", self.number(args[0]), self._digits(args), kind=K.DECIMAL
        )

    def fn_roundup(self, args, result):
        return self.sql(
            "ROUND(SIGN(COALESCE({0}, 0)) * CEIL(ABS(COALESCE({0}, 0)) "
            "* POWER(CAST(10 AS numeric), {1})) / POWER(CAST(10 AS numeric), {1}), {1})",
            self.number(args[0]),
            self._digits(args),
            kind=K.DECIMAL,
        )

    def fn_abs(self, args, result):
        return self.sql("ABS(COALESCE({0}, 0))", self.number(args[0]), kind=K.DECIMAL)

    def modulo(self, amount: Expression, divisor: Expression) -> Expression:
        """``amount`` mod ``divisor`` with the divisor's sign, exact like `math.modulo`:
        PostgreSQL's MOD truncates (the sign of ``amount``), so a remainder of the other sign
        moves by one divisor. A zero or blank divisor gives blank."""
        rest = "MOD({0}, NULLIF({1}, 0))"
        return self.sql(
            f"CASE WHEN {rest} <> 0 AND ({rest} < 0) <> ({{1}} < 0) THEN {rest} + {{1}} "
            f"ELSE {rest} END",
            amount,
            divisor,
            kind=K.DECIMAL,
        )

    def _step(self, args, upward: bool):
        """FLOOR / CEILING without dividing: ``x - MOD(x, step)`` (ceiling: ``-FLOOR(-x)``)."""
        step = (
            self.sql("ABS(COALESCE({0}, 1))", self.number(args[1]), kind=K.DECIMAL)
            if len(args) > 1
            else Param(Decimal(1), K.DECIMAL)
        )
        amount = self.sql("COALESCE({0}, 0)", self.number(args[0]), kind=K.DECIMAL)
        if upward:
            negated = self.sql("-{0}", amount, kind=K.DECIMAL)
            return self.sql("{0} + {1}", amount, self.modulo(negated, step), kind=K.DECIMAL)
        return self.sql("{0} - {1}", amount, self.modulo(amount, step), kind=K.DECIMAL)

    def fn_floor(self, args, result):
        return self._step(args, upward=False)

    def fn_ceiling(self, args, result):
        return self._step(args, upward=True)

    def fn_mod(self, args, result):
        amount = self.sql("COALESCE({0}, 0)", self.number(args[0]), kind=K.DECIMAL)
        return self.modulo(amount, self.number(args[1]))

    def fn_power(self, args, result):
        return self.power(self.number(args[0]), self.number(args[1]))

    def fn_sqrt(self, args, result):
        return self.sql(
            f"CASE WHEN COALESCE({{0}}, 0) < 0 THEN NULL ELSE ROUND(SQRT(ROUND(GREATEST("
            f"COALESCE({{0}}, 0), 0), {_WIDE})), {INEXACT_PLACES}) END",
            self.number(args[0]),
            kind=K.DECIMAL,
        )

    # text

    def fn_concat(self, args, result):
        texts = [self.text(arg) for arg in args]
        return self.sql(" || ".join(f"{{{i}}}" for i in range(len(texts))), *texts, kind=K.TEXT)

    def _count(self, args: list[Compiled], index: int, default: int) -> Expression:
        if len(args) <= index:
            return integer(default)
        return self.to_int(
            self.sql("COALESCE({0}, 0)", self.number(args[index]), kind=K.DECIMAL), 0, _MAX_INT
        )

    def fn_left(self, args, result):
        return self.sql("LEFT({0}, {1})", self.text(args[0]), self._count(args, 1, 1), kind=K.TEXT)

    def fn_right(self, args, result):
        return self.sql("RIGHT({0}, {1})", self.text(args[0]), self._count(args, 1, 1), kind=K.TEXT)

    def fn_mid(self, args, result):
        start = self.to_int(
            self.sql("COALESCE(NULLIF({0}, 0), 1)", self.number(args[1]), kind=K.DECIMAL),
            1,
            _MAX_INT,
        )
        return self.sql(
            "SUBSTR({0}, {1}, {2})", self.text(args[0]), start, self._count(args, 2, 0), kind=K.TEXT
        )

    def fn_len(self, args, result):
        return self.sql("CAST(LENGTH({0}) AS numeric)", self.text(args[0]), kind=K.DECIMAL)

    def fn_upper(self, args, result):
        return self.sql("UPPER({0})", self.text(args[0]), kind=K.TEXT)

    def fn_lower(self, args, result):
        return self.sql("LOWER({0})", self.text(args[0]), kind=K.TEXT)

    def fn_trim(self, args, result):
        return self.sql(
            "BTRIM(REGEXP_REPLACE({0}, {1}, ' ', 'g'), ' ')",
            self.text(args[0]),
            Param("[ \t\r\n]+", K.TEXT),
            kind=K.TEXT,
        )

    def fn_substitute(self, args, result):
        text, old, new = (self.text(arg) for arg in args[:3])
        if len(args) == 3:
            return self.sql("REPLACE({0}, {1}, {2})", text, old, new, kind=K.TEXT)
        # Only the nth occurrence: the pieces between occurrences (STRING_TO_ARRAY splits at the
        # same non-overlapping ones as REPLACE, with no pattern syntax), joined back with ``old``
        # on both sides of the nth gap and ``new`` in it.
        nth = self.to_int(
            self.sql("COALESCE({0}, 0)", self.number(args[3]), kind=K.DECIMAL), 0, _MAX_INT
        )
        pieces = "(STRING_TO_ARRAY({0}, {1}))"
        return self.sql(
            f"CASE WHEN {{1}} = '' OR {{3}} < 1 OR {{3}} >= CARDINALITY({pieces}) THEN {{0}} "
            f"ELSE ARRAY_TO_STRING({pieces}[1:{{3}}], {{1}}) || {{2}} "
            f"|| ARRAY_TO_STRING({pieces}[{{3}} + 1:], {{1}}) END",
            text,
            old,
            new,
            nth,
            kind=K.TEXT,
        )

    def fn_contains(self, args, result):
        return self.sql(
            "STRPOS(LOWER({0}), LOWER({1})) > 0",
            self.text(args[0]),
            self.text(args[1]),
            kind=K.BOOLEAN,
        )

    def fn_text(self, args, result):
        if len(args) == 1:
            return self.text(args[0])
        format_ = args[1].sql  # the checker admits only a text literal here
        if not isinstance(format_, Param):
            raise FormulaTypeError(_("The format of TEXT must be a text in quotes."))
        spec = FORMATS[format_.value]
        value = args[0]
        if value.kind is K.BLANK:
            return Param("", K.TEXT)
        if spec.is_number:
            return self.formatted_number(value, spec)
        pattern = _PG_DATE_PATTERNS[spec.pattern] + _PG_CLOCKS.get(spec.clock, "")
        if value.kind is K.DATETIME:
            moment = self.sql("{0} AT TIME ZONE {1}", value.sql, self.tz(), kind=K.DATETIME)
        else:
            moment = value.sql
        return self.sql(
            "COALESCE(TO_CHAR({0}, {1}), '')", moment, Param(pattern, K.TEXT), kind=K.TEXT
        )

    def formatted_number(self, value: Compiled, spec: TextFormat) -> Expression:
        """A number in a TEXT number or percent format, as `text.fixed_point` writes it. Not
        TO_CHAR: its patterns overflow to '###' past their digits and its separators follow
        the locale; ROUND (half away from zero, scale = places) cast to text is exact at any
        size, and the thousands are grouped by a fixed pattern over digits only."""
        amount = self.number(value)
        if spec.percent:
            amount = self.sql("{0} * 100", amount, kind=K.DECIMAL)
        places = spec.places
        digits = self.sql(f"CAST(ROUND(ABS({{0}}), {places}) AS text)", amount, kind=K.TEXT)
        if spec.grouped:
            whole = self.sql(
                "REGEXP_REPLACE(SPLIT_PART({0}, '.', 1), {1}, {2}, 'g')",
                digits,
                Param(r"(\d)(?=(\d{3})+$)", K.TEXT),
                Param(r"\1,", K.TEXT),
                kind=K.TEXT,
            )
            if places:
                digits = self.sql(
                    "{0} || '.' || SPLIT_PART({1}, '.', 2)", whole, digits, kind=K.TEXT
                )
            else:
                digits = whole
        return self.sql(
            f"CASE WHEN {{0}} IS NULL THEN '' ELSE "
            f"(CASE WHEN ROUND({{0}}, {places}) < 0 THEN '-' ELSE '' END) || {{1}} || {{2}} END",
            amount,
            digits,
            Param("%" if spec.percent else "", K.TEXT),
            kind=K.TEXT,
        )

    # dates

    def fn_date(self, args, result):
        y, m, d = (
            self.sql("TRUNC(COALESCE({0}, 0))", self.number(arg), kind=K.DECIMAL) for arg in args
        )
        safe_y, safe_m = self.to_int(y, 1, 9999), self.to_int(m, 1, 12)
        first = self.sql("MAKE_DATE({0}, {1}, 1)", safe_y, safe_m, kind=K.DATE)
        return self.sql(
            "CASE WHEN {0} BETWEEN 1 AND 9999 AND {1} BETWEEN 1 AND 12 AND {2} >= 1 "
            "AND {2} <= EXTRACT(DAY FROM {3} + INTERVAL '1 month' - INTERVAL '1 day') "
            "THEN {3} + {4} - 1 END",
            y,
            m,
            d,
            first,
            self.to_int(d, 1, 31),
            kind=K.DATE,
        )

    def _part(self, args, field):
        return self.sql(
            f"CAST(EXTRACT({field} FROM {{0}}) AS numeric)", self.day_of(args[0]), kind=K.DECIMAL
        )

    def fn_year(self, args, result):
        return self._part(args, "YEAR")

    def fn_month(self, args, result):
        return self._part(args, "MONTH")

    def fn_day(self, args, result):
        return self._part(args, "DAY")

    def fn_weekday(self, args, result):
        return self._part(args, "ISODOW")

    def fn_dateadd(self, args, result):
        value, unit = args[0], self.text(args[2])
        unit = self.sql("LOWER(BTRIM({0}))", unit, kind=K.TEXT)
        amount = self.sql("COALESCE({0}, 0)", self.number(args[1]), kind=K.DECIMAL)
        days = self.to_int(amount, -_MAX_DAYS, _MAX_DAYS)
        months = self.to_int(amount, -_MAX_MONTHS, _MAX_MONTHS)
        years = self.to_int(amount, -_MAX_MONTHS // 12, _MAX_MONTHS // 12)
        in_range = (
            "CASE {0} WHEN 'days' THEN ABS({1}) <= 3000000 WHEN 'months' THEN ABS({1}) <= "
            "120000 WHEN 'years' THEN ABS({1}) <= 10000 ELSE FALSE END"
        )
        if value.kind is K.DATETIME:
            by_days = "{2} + MAKE_INTERVAL(days => {3})"
            by_months = "(({2} AT TIME ZONE {6}) + MAKE_INTERVAL(months => {4})) AT TIME ZONE {6}"
            by_years = "(({2} AT TIME ZONE {6}) + MAKE_INTERVAL(years => {5})) AT TIME ZONE {6}"
        else:
            by_days = "{2} + {3}"
            by_months = "CAST({2} + MAKE_INTERVAL(months => {4}) AS date)"
            by_years = "CAST({2} + MAKE_INTERVAL(years => {5}) AS date)"
        return self.sql(
            f"CASE WHEN NOT ({in_range}) THEN NULL WHEN {{0}} = 'days' THEN {by_days} "
            f"WHEN {{0}} = 'months' THEN {by_months} ELSE {by_years} END",
            unit,
            amount,
            self.as_kind(value, result.kind),
            days,
            months,
            years,
            self.tz(),
            kind=result.kind,
        )

    def fn_datedif(self, args, result):
        start, end = self.day_of(args[0]), self.day_of(args[1])
        unit = self.sql("LOWER(BTRIM({0}))", self.text(args[2]), kind=K.TEXT)

        def months(a: str, b: str) -> str:
            return (
                f"((EXTRACT(YEAR FROM {b}) - EXTRACT(YEAR FROM {a})) * 12 + EXTRACT(MONTH FROM "
                f"{b}) - EXTRACT(MONTH FROM {a}) - CASE WHEN EXTRACT(DAY FROM {b}) < "
                f"EXTRACT(DAY FROM {a}) THEN 1 ELSE 0 END)"
            )

        forward, backward = months("{0}", "{1}"), months("{1}", "{0}")
        return self.sql(
            "CASE WHEN {0} IS NULL OR {1} IS NULL THEN NULL "
            "WHEN {2} = 'days' THEN CAST({1} - {0} AS numeric) "
            f"WHEN {{2}} = 'months' THEN CASE WHEN {{1}} >= {{0}} THEN {forward} "
            f"ELSE -{backward} END "
            f"WHEN {{2}} = 'years' THEN CASE WHEN {{1}} >= {{0}} THEN FLOOR({forward} / 12) "
            f"ELSE -FLOOR({backward} / 12) END END",
            start,
            end,
            unit,
            kind=K.DECIMAL,
        )

    def fn_eomonth(self, args, result):
        shift = (
            self.to_int(
                self.sql("COALESCE({0}, 0)", self.number(args[1]), kind=K.DECIMAL),
                -_MAX_MONTHS,
                _MAX_MONTHS,
            )
            if len(args) > 1
            else integer(0)
        )
        return self.sql(
            "CAST(DATE_TRUNC('month', {0}) + MAKE_INTERVAL(months => {1} + 1) "
            "- INTERVAL '1 day' AS date)",
            self.day_of(args[0]),
            shift,
            kind=K.DATE,
        )

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


# TEXT's date formats as TO_CHAR patterns (their separators are literal there too).
_PG_DATE_PATTERNS = {pattern: pattern for pattern in DATE_PATTERNS}
_PG_CLOCKS = {"HH:MM": " HH24:MI", "HH:MM:SS": " HH24:MI:SS"}

# Compiled natively from their nodes on both back ends (with the lazy ones: IF, AND ...).
_CONTEXT_FUNCTIONS = frozenset({"ME", "MY_BRANCH", "TODAY", "NOW", "ISBLANK", "BLANK"})

__all__ = ["Compiled", "compile_formula"]
