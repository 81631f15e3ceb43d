"""PostgreSQL SQL of the scalar formula functions (context, logic, numbers, text, dates).

A mixin of the compiler: ``fn_<name>`` builds one function. Lazy functions (IF, AND ...) and the
context ones take their nodes and are native on both back ends; the others take compiled
arguments and are used on PostgreSQL only (SQLite runs the Python implementation).
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Expression
from django.utils.translation import gettext as _

from cardfile.formula_engine import types as t
from cardfile.formula_engine.errors import FormulaTypeError
from cardfile.formula_engine.functions.text import DATE_PATTERNS, FORMATS, TextFormat
from cardfile.formula_engine.semantics import INEXACT_PLACES, local

from .base import _MAX_DAYS, _MAX_INT, _MAX_MONTHS, _WIDE, Compiled
from .expressions import Param, blank, integer

K = t.Kind

# TEXT's date formats as TO_CHAR patterns (their separators are literal there too).
_PG_DATE_PATTERNS = {pattern: pattern for pattern in DATE_PATTERNS}
_PG_CLOCKS = {"HH:MM": " HH24:MI", "HH:MM:SS": " HH24:MI:SS"}


class ScalarFunctions:
    """``fn_<name>`` for each scalar function; see the module docstring."""

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
