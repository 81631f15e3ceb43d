"""Hypothesis strategies: random well-typed formulas over one fixed schema, and random records.

The schema (`FIELDS`, `SCHEMA`) is an order-like entity ``item`` with one field of every formula
type, a link ``client`` (``name``, ``rate``) and a child table ``lines`` (``qty``, ``amount``,
``tag``, ``due``). `formulas` builds formula text top-down from a target type (number, money,
percent, text, boolean, date, datetime, duration): at each level it picks a literal, a field or a
compound whose operands are again drawn by type, until ``max_depth`` (default 4) leaves only
literals and fields. Every operator and every function of the registry is reachable; ``lines.*``
paths appear only inside the argument of an aggregate (SUM COUNT AVG MIN MAX SUMIF COUNTIF), and
aggregates are not nested inside an aggregate's row expression. Every text passes `check` against
`SCHEMA`. `records` draws one record in the JSON form the record service accepts; `runtime_values`
turns it into the values the Python evaluator reads.

Magnitudes are bounded so that results stay exact in a binary double (2**53, about 9e15) and in
34 significant digits, because SQLite stores decimals as doubles and the back ends are compared:
integer literals and values |x| <= 10**6, decimal literals at most 4 places and |x| <= 10**6.
Multiplication takes one operand from a *small* expression (|x| up to a few hundred: small
literals, LEN, MONTH, DAY, WEEKDAY, COUNT, MOD by a small divisor); powers have a small base and
an exponent in -3..3 (or 0.25/0.5/1.5 of a non-negative base); date offsets and DATEADD amounts are
small, so dates stay far inside the years 1 to 9999 that Python and both databases share.

What it leaves out, and why: money in a second currency (adding or comparing two currencies is
a type error by design, so all money is EUR); MIN/MAX of a bare choice (the checker refuses it:
such arguments become text through ``& ""``); an aggregate inside an aggregate's row expression
(one level of aggregation); ROUND to more than a few digits (beyond the 34-digit context); units
other than the literals "days", "months", "years" (any case).

Text literals use ASCII letters, digits, spaces, a few accented Latin and Cyrillic letters whose
upper/lower case maps one to one (no ß, no dotted I), and the doubled quote ``""``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from hypothesis import strategies as st

from cardfile.formula_engine import FieldInfo, Money, RecordContext
from cardfile.formula_engine import types as t
from tests.formula_engine.helpers import DictSchemaView

ENTITY = "item"
CLIENT_ENTITY = "client"
LINE_ENTITY = "line"
CURRENCY = "EUR"
KIND_CHOICES = ("part", "work", "other")
TAG_CHOICES = ("a", "b")
MAX_DEPTH = 4
NOW = datetime(2024, 1, 31, 10, 30, tzinfo=UTC)

_CHOICE = t.FormulaType(t.Kind.CHOICE)
FIELDS: dict[tuple[str, ...], FieldInfo] = {
    ("n_int",): FieldInfo(t.INTEGER),
    ("n_dec",): FieldInfo(t.DECIMAL),
    ("pct",): FieldInfo(t.PERCENT),
    ("price",): FieldInfo(t.money(CURRENCY)),
    ("title",): FieldInfo(t.TEXT),
    ("note",): FieldInfo(t.TEXT),
    ("kind",): FieldInfo(_CHOICE),
    ("flag",): FieldInfo(t.BOOLEAN),
    ("day",): FieldInfo(t.DATE),
    ("moment",): FieldInfo(t.DATETIME),
    ("span",): FieldInfo(t.DURATION),
    ("client",): FieldInfo(t.link(CLIENT_ENTITY)),
    ("client", "name"): FieldInfo(t.TEXT),
    ("client", "rate"): FieldInfo(t.DECIMAL),
    ("lines",): FieldInfo(t.link(LINE_ENTITY), many=True),
    ("lines", "qty"): FieldInfo(t.INTEGER, many=True),
    ("lines", "amount"): FieldInfo(t.money(CURRENCY), many=True),
    ("lines", "tag"): FieldInfo(_CHOICE, many=True),
    ("lines", "due"): FieldInfo(t.DATE, many=True),
}
SCHEMA = DictSchemaView(FIELDS)

TARGET_TYPES = ("number", "money", "percent", "text", "boolean", "date", "datetime", "duration")
# Types with an order (MIN/MAX, < >); every type (text functions read any value as text).
_ORDERED = ("number", "money", "percent", "text", "date", "datetime", "duration")
_ANY = (*TARGET_TYPES, "link")

# One-to-one case mapping in Python and in PostgreSQL's C.UTF-8 (no ß, no dotted/dotless I).
TEXT_ALPHABET = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 äöüéèàçñÄÖÜÉÈÀÇÑжёяпрЖЁЯПР"
)
UNITS = ("days", "months", "years", "Months")


# --- small combinators ------------------------------------------------------------------------


def _weighted(*choices: tuple[int, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """Pick a strategy by weight; shrinks towards the first choice (put leaves first)."""
    bounds, total = [], 0
    for weight, strategy in choices:
        total += weight
        bounds.append((total, strategy))

    def pick(index: int) -> st.SearchStrategy[Any]:
        return next(strategy for bound, strategy in bounds if index < bound)

    return st.integers(0, total - 1).flatmap(pick)


def _call(name: str, *args: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.tuples(*args).map(lambda parts: f"{name}({', '.join(parts)})")


def _call_list(
    name: str, arg: st.SearchStrategy[str], min_size: int, max_size: int
) -> st.SearchStrategy[str]:
    return st.lists(arg, min_size=min_size, max_size=max_size).map(
        lambda parts: f"{name}({', '.join(parts)})"
    )


def _call_opt(
    name: str, first: st.SearchStrategy[str], optional: st.SearchStrategy[str]
) -> st.SearchStrategy[str]:
    """``NAME(first)`` or ``NAME(first, optional)``."""
    return st.one_of(_call(name, first), _call(name, first, optional))


def _binary(
    left: st.SearchStrategy[str], ops: Sequence[str], right: st.SearchStrategy[str]
) -> st.SearchStrategy[str]:
    return st.tuples(left, st.sampled_from(ops), right).map(lambda p: f"({p[0]} {p[1]} {p[2]})")


def _unary(op: str, operand: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """``(-x)``, ``(+x)`` or ``(NOT x)``."""
    separator = " " if op == "NOT" else ""
    return operand.map(lambda text: f"({op}{separator}{text})")


def _const(text: str) -> st.SearchStrategy[str]:
    return st.just(text)


def _fields(*paths: str) -> st.SearchStrategy[str]:
    return st.sampled_from(paths)


# --- literals ---------------------------------------------------------------------------------


def _number_text(value: int | Decimal) -> str:
    text = format(value, "f") if isinstance(value, Decimal) else str(value)
    return f"(-{text[1:]})" if text.startswith("-") else text


def int_literals(max_abs: int = 10**6) -> st.SearchStrategy[str]:
    return st.one_of(
        st.integers(0, 10), st.integers(-100, 100), st.integers(-max_abs, max_abs)
    ).map(_number_text)


def decimal_literals(max_abs: int = 10**6, max_places: int = 4) -> st.SearchStrategy[str]:
    return (
        st.integers(1, max_places)
        .flatmap(
            lambda places: st.decimals(
                min_value=-max_abs, max_value=max_abs, places=places, allow_nan=False
            )
        )
        .map(_number_text)
    )


def _small_literals() -> st.SearchStrategy[str]:
    return st.one_of(
        st.integers(-10, 10).map(_number_text),
        st.integers(-366, 366).map(_number_text),
        decimal_literals(100, 2),
    )


def text_values(max_size: int = 10) -> st.SearchStrategy[str]:
    return st.text(TEXT_ALPHABET, max_size=max_size)


def text_literals() -> st.SearchStrategy[str]:
    body = st.one_of(
        text_values(8),
        st.sampled_from(KIND_CHOICES + TAG_CHOICES + ("PART", "Work", "A", " a ", "")),
        st.lists(st.one_of(text_values(3), st.just('"')), max_size=3).map("".join),
    )
    return body.map(lambda text: '"' + text.replace('"', '""') + '"')


def _date_literal(*, valid: bool = False) -> st.SearchStrategy[str]:
    """``DATE(y, m, d)`` from literals; unless ``valid``, sometimes an impossible (blank) date."""
    month = st.integers(1, 12) if valid else st.one_of(st.integers(1, 12), st.integers(0, 14))
    day = st.integers(1, 28) if valid else st.one_of(st.integers(1, 28), st.integers(0, 32))
    return st.tuples(st.integers(1990, 2040), month, day).map(
        lambda ymd: f"DATE({ymd[0]}, {ymd[1]}, {ymd[2]})"
    )


_COMPARE = ("=", "<>", "<", "<=", ">", ">=")
_ROW_FIELDS = {
    "number": "lines.qty",
    "small": "lines.qty",
    "money": "lines.amount",
    "text": "lines.tag",
    "date": "lines.due",
}


# --- the grammar, by target type ----------------------------------------------------------------


@functools.cache
def expression(kind: str, depth: int, rows: bool = False) -> st.SearchStrategy[str]:
    """Formula text of type ``kind`` nested at most ``depth`` levels.

    ``rows`` is true inside an aggregate's argument: ``lines.*`` may appear, aggregates may not.
    Kinds: the `TARGET_TYPES`, plus ``small`` (a number of at most a few hundred), ``link``,
    ``rowcond`` (a condition that ranges over the lines, for SUMIF/COUNTIF).
    """
    builder = _BUILDERS[kind]
    leaves = builder.leaves(rows)
    if depth <= 0:
        return leaves
    compounds = builder.compounds(depth - 1, rows)
    return _weighted((2, leaves), (5, compounds))


def _e(kind: str, depth: int, rows: bool) -> st.SearchStrategy[str]:
    return st.deferred(lambda: expression(kind, depth, rows))


def _one_of(strategies: Iterable[st.SearchStrategy[str]]) -> st.SearchStrategy[str]:
    return st.one_of(*strategies)


class _Kind(Protocol):
    """How to build formulas of one kind: its leaves, and compounds of sub-formulas."""

    def leaves(self, rows: bool) -> st.SearchStrategy[str]: ...

    def compounds(self, d: int, rows: bool) -> st.SearchStrategy[str]: ...


def _choices(kind: str, d: int, rows: bool) -> list[st.SearchStrategy[str]]:
    """IF / IFS / SWITCH / COALESCE whose results are all of ``kind``."""
    value = _e(kind, d, rows)
    cond = _e("boolean", d, rows)
    subject_kind = st.sampled_from(("number", "text"))
    switch = subject_kind.flatmap(
        lambda sk: st.tuples(
            _e(sk, d, rows),
            st.lists(st.tuples(_e(sk, d, rows), value), min_size=1, max_size=2),
            st.one_of(st.none(), value),
        )
    ).map(
        lambda p: (
            "SWITCH("
            + ", ".join(
                [p[0], *(f"{case}, {result}" for case, result in p[1])] + [p[2]] * bool(p[2])
            )
            + ")"
        )
    )
    ifs = st.lists(st.tuples(cond, value), min_size=1, max_size=3).map(
        lambda pairs: "IFS(" + ", ".join(f"{c}, {v}" for c, v in pairs) + ")"
    )
    blank_or_value = st.one_of(value, _const("BLANK()"))
    # COALESCE(BLANK()) alone would be of type blank, which fits anywhere: keep one value.
    coalesce = st.tuples(st.lists(blank_or_value, max_size=2), value).map(
        lambda p: "COALESCE(" + ", ".join([*p[0], p[1]]) + ")"
    )
    return [
        _call("IF", cond, value, blank_or_value),
        _call("IF", cond, blank_or_value, value),
        _call("IF", cond, value),
        ifs,
        switch,
        coalesce,
    ]


def _extremes(kind: str, d: int, rows: bool) -> list[st.SearchStrategy[str]]:
    """MIN / MAX over the lines or over a few values of ``kind`` (not inside an aggregate)."""
    if rows:
        return []
    scalar = _e(kind, d, rows)
    row = _e(kind, d, True)
    if kind in _ROW_FIELDS:
        row = st.one_of(_const(_ROW_FIELDS[kind]), row)
    if kind == "text":  # MIN/MAX refuse a choice (kind, lines.tag); `& ""` makes it text
        scalar, row = (s.map(lambda x: f'({x} & "")') for s in (scalar, row))
    return [
        *(_call_list(name, scalar, 1, 3) for name in ("MIN", "MAX")),
        *(_call(name, row) for name in ("MIN", "MAX")),
        *(_call(name, row, scalar) for name in ("MIN", "MAX")),
    ]


class _Number(_Kind):
    """Plain numbers (integer, decimal; a percent is a number too)."""

    def leaves(self, rows):
        fields = ["n_int", "n_dec", "client.rate"] + ["lines.qty"] * rows
        return st.one_of(int_literals(), decimal_literals(), _fields(*fields))

    def compounds(self, d, rows):
        number, small = _e("number", d, rows), _e("small", d, rows)
        # ROUND to hundreds of digits would leave the 34 digits of the decimal context
        digits = st.one_of(st.integers(-2, 4).map(_number_text), _call("MOD", small, _const("5")))
        step = st.one_of(_small_literals(), small)
        date_like = st.one_of(_e("date", d, rows), _e("datetime", d, rows))
        found = [
            _binary(number, ("+", "-"), number),
            _binary(number, ("*",), small),
            _binary(small, ("*",), number),
            _binary(number, ("/",), number),
            _unary("-", number),
            _unary("+", number),
            _e("percent", d, rows),
            _power(d, rows),
            *(_call_opt(name, number, digits) for name in ("ROUND", "ROUNDUP", "ROUNDDOWN")),
            _call("ABS", number),
            *(_call_opt(name, number, step) for name in ("FLOOR", "CEILING")),
            _call("MOD", number, st.one_of(_small_literals(), number)),
            _call("SQRT", number),
            _call("LEN", _stringable(d, rows)),
            *(_call(name, date_like) for name in ("YEAR", "MONTH", "DAY", "WEEKDAY")),
            _datedif(d, rows),
            _binary(_e("date", d, rows), ("-",), _e("date", d, rows)),
            _binary(_e("money", d, rows), ("/",), _e("money", d, rows)),
            *_choices("number", d, rows),
            *_extremes("number", d, rows),
        ]
        if not rows:
            found += _number_aggregates(d)
        return _one_of(found)


def _power(d: int, rows: bool) -> st.SearchStrategy[str]:
    small = _e("small", d, rows)
    whole = st.integers(-3, 3).map(_number_text)
    fraction = st.sampled_from(("0.5", "1.5", "0.25"))
    non_negative = st.one_of(_call("ABS", small), st.integers(0, 100).map(str))
    pairs = st.one_of(st.tuples(small, whole), st.tuples(non_negative, fraction))
    return st.one_of(
        pairs.map(lambda p: f"({p[0]} ^ {p[1]})"), pairs.map(lambda p: f"POWER({p[0]}, {p[1]})")
    )


def _datedif(d: int, rows: bool) -> st.SearchStrategy[str]:
    date_like = st.one_of(_e("date", d, rows), _e("datetime", d, rows))
    return _call("DATEDIF", date_like, date_like, st.sampled_from(UNITS).map(lambda u: f'"{u}"'))


def _number_aggregates(d: int) -> list[st.SearchStrategy[str]]:
    row_number = st.one_of(_const("lines.qty"), _e("number", d, True))
    row_any = st.sampled_from(_ANY + ("rowfield",)).flatmap(
        lambda kind: _fields(*_ROW_FIELDS.values()) if kind == "rowfield" else _e(kind, d, True)
    )
    rowcond = _e("rowcond", d, True)
    return [
        _call_list("SUM", row_number, 1, 2),
        _call("AVG", row_number),
        _call_list("AVG", _e("number", d, False), 1, 3),
        _call_list("COUNT", row_any, 1, 2),
        _call("SUMIF", row_number, rowcond),
        _call("COUNTIF", rowcond),
    ]


class _Small(_Kind):
    """Numbers of at most a few hundred: factors, offsets, exponents, counts, digits."""

    def leaves(self, rows):
        return st.one_of(_small_literals(), *([_const("lines.qty")] * rows))

    def compounds(self, d, rows):
        small = _e("small", d, rows)
        date_like = st.one_of(_e("date", d, rows), _e("datetime", d, rows))
        found = [
            _binary(small, ("+", "-"), small),
            _unary("-", small),
            _call_opt("ROUND", small, st.integers(-1, 2).map(_number_text)),
            _call("ABS", small),
            _call("MOD", _e("number", d, rows), _small_literals()),
            _call("LEN", _e("text", d, rows)),
            *(_call(name, date_like) for name in ("MONTH", "DAY", "WEEKDAY")),
            _call("IF", _e("boolean", d, rows), small, small),
            _call_list("COALESCE", small, 1, 2),
        ]
        if not rows:
            found += [
                _call("COUNT", _fields(*_ROW_FIELDS.values())),
                _call("COUNTIF", _e("rowcond", d, True)),
            ]
        return _one_of(found)


class _Percent(_Kind):
    def leaves(self, rows):
        return st.one_of(_const("pct"), _small_literals().map(lambda x: f"{x}%"))

    def compounds(self, d, rows):
        percent = _e("percent", d, rows)
        digits = st.integers(0, 4).map(str)
        found = [
            _binary(percent, ("+", "-"), percent),
            _unary("-", percent),
            _e("number", d, rows).map(lambda x: f"{x}%"),
            _call_opt("ROUND", percent, digits),
            _call("ABS", percent),
            *_choices("percent", d, rows),
            *_extremes("percent", d, rows),
        ]
        if not rows:
            found.append(_call("SUM", _e("percent", d, True)))
        return _one_of(found)


class _Money(_Kind):
    def leaves(self, rows):
        return _fields("price", *(["lines.amount"] * rows))

    def compounds(self, d, rows):
        money, number, small = (_e(k, d, rows) for k in ("money", "number", "small"))
        found = [
            _binary(money, ("+", "-"), money),
            _binary(money, ("+", "-"), number),
            _binary(number, ("+",), money),
            _binary(money, ("*",), small),
            _binary(small, ("*",), money),
            _binary(money, ("*",), _e("percent", d, rows)),
            _binary(money, ("/",), number),
            _unary("-", money),
            *(
                _call_opt(name, money, st.integers(-2, 3).map(_number_text))
                for name in ("ROUND", "ROUNDUP", "ROUNDDOWN")
            ),
            _call("ABS", money),
            *(_call_opt(name, money, _small_literals()) for name in ("FLOOR", "CEILING")),
            _call("MOD", money, _small_literals()),
            *_choices("money", d, rows),
            *_extremes("money", d, rows),
            # a plain number among money alternatives is taken in the money's currency
            _call("IF", _e("boolean", d, rows), money, number),
            _call("COALESCE", money, number),
            *(_call(name, money, number) for name in ("MIN", "MAX") if not rows),
        ]
        if not rows:
            row_money = st.one_of(_const("lines.amount"), _e("money", d, True))
            found += [
                _call_list("SUM", row_money, 1, 2),
                _call("AVG", row_money),
                _call("SUMIF", row_money, _e("rowcond", d, True)),
            ]
        return _one_of(found)


def _stringable(d: int, rows: bool) -> st.SearchStrategy[str]:
    """Any value read as text (text functions, ``&``, CONCAT, TEXT); mostly text."""
    return _weighted(
        (6, _e("text", d, rows)),
        (1, st.sampled_from(_ANY).flatmap(lambda kind: _e(kind, d, rows))),
    )


class _Text(_Kind):
    def leaves(self, rows):
        fields = ["title", "note", "kind", "client.name"] + ["lines.tag"] * rows
        return st.one_of(text_literals(), _fields(*fields))

    def compounds(self, d, rows):
        text, anything, small = _e("text", d, rows), _stringable(d, rows), _e("small", d, rows)
        found = [
            _binary(anything, ("&",), anything),
            _call_list("CONCAT", anything, 1, 3),
            _call_opt("LEFT", anything, small),
            _call_opt("RIGHT", anything, small),
            _call("MID", anything, small, small),
            *(_call(name, anything) for name in ("UPPER", "LOWER", "TRIM", "TEXT")),
            _call("SUBSTITUTE", anything, text, text),
            *_choices("text", d, rows),
            *_extremes("text", d, rows),
        ]
        return _one_of(found)


def _comparisons(d: int, rows: bool) -> list[st.SearchStrategy[str]]:
    def same(kind: str, ops: Sequence[str] = _COMPARE) -> st.SearchStrategy[str]:
        return _binary(_e(kind, d, rows), ops, _e(kind, d, rows))

    choice_literal = st.sampled_from(KIND_CHOICES + ("PART", "none")).map(lambda c: f'"{c}"')
    return [
        *(same(kind) for kind in _ORDERED),
        same("boolean"),
        _binary(_e("number", d, rows), _COMPARE, _e("percent", d, rows)),
        _binary(_e("money", d, rows), _COMPARE, _e("number", d, rows)),
        _binary(_fields("kind"), ("=", "<>"), choice_literal),
        _binary(_fields("client"), ("=", "<>"), _fields("client", "COALESCE(client, client)")),
        _binary(_fields("ME()"), ("=", "<>"), _fields("ME()", "BLANK()")),
        _binary(_fields("MY_BRANCH()"), ("=", "<>"), _fields("MY_BRANCH()", "BLANK()")),
    ]


class _Boolean(_Kind):
    def leaves(self, rows):
        return st.one_of(_fields("TRUE", "FALSE", "flag", "true"))

    def compounds(self, d, rows):
        boolean = _e("boolean", d, rows)
        anything = st.sampled_from(_ANY).flatmap(lambda kind: _e(kind, d, rows))
        found = [
            *_comparisons(d, rows),
            _binary(boolean, ("AND", "OR"), boolean),
            _unary("NOT", boolean),
            _call_list("AND", boolean, 1, 3),
            _call_list("OR", boolean, 1, 3),
            _call("ISBLANK", anything),
            _call("CONTAINS", _stringable(d, rows), _stringable(d, rows)),
            *_choices("boolean", d, rows),
        ]
        return _one_of(found)


class _RowCondition(_Kind):
    """A condition that refers to the lines (SUMIF/COUNTIF need one); only with ``rows``."""

    def leaves(self, rows):
        tag = st.sampled_from(TAG_CHOICES + ("A", "c")).map(lambda c: f'"{c}"')
        return st.one_of(
            _binary(_const("lines.tag"), ("=", "<>"), tag),
            _binary(_const("lines.qty"), _COMPARE, _small_literals()),
            _binary(_const("lines.due"), _COMPARE, _date_literal(valid=True)),
            _call("ISBLANK", _fields(*_ROW_FIELDS.values())),
        )

    def compounds(self, d, rows):
        rowcond, boolean = _e("rowcond", d, True), _e("boolean", d, True)
        return _one_of(
            [
                *(
                    _binary(_const(path), _COMPARE, _e(kind, d, True))
                    for kind, path in _ROW_FIELDS.items()
                ),
                _binary(rowcond, ("AND", "OR"), boolean),
                _binary(boolean, ("AND", "OR"), rowcond),
                _unary("NOT", rowcond),
                _call("AND", rowcond, boolean),
                _call("OR", boolean, rowcond),
                _call("IF", boolean, rowcond, rowcond),
            ]
        )


class _Date(_Kind):
    def leaves(self, rows):
        return st.one_of(
            _fields("day", "TODAY()", *(["lines.due"] * rows)), _date_literal(valid=False)
        )

    def compounds(self, d, rows):
        date_, small = _e("date", d, rows), _e("small", d, rows)
        date_like = st.one_of(date_, _e("datetime", d, rows))
        unit = st.sampled_from(UNITS).map(lambda u: f'"{u}"')
        found = [
            _binary(date_, ("+", "-"), small),
            _binary(small, ("+",), date_),
            _call("DATEADD", date_, small, unit),
            _call_opt("EOMONTH", date_like, small),
            _call(
                "DATE",
                _call("YEAR", date_like),
                st.one_of(_call("MONTH", date_like), small),
                st.one_of(_call("DAY", date_like), small),
            ),
            *_choices("date", d, rows),
            *_extremes("date", d, rows),
        ]
        return _one_of(found)


class _DateTime(_Kind):
    def leaves(self, rows):
        return _fields("moment", "NOW()")

    def compounds(self, d, rows):
        moment, duration = _e("datetime", d, rows), _e("duration", d, rows)
        unit = st.sampled_from(UNITS).map(lambda u: f'"{u}"')
        return _one_of(
            [
                _binary(moment, ("+", "-"), duration),
                _call("DATEADD", moment, _e("small", d, rows), unit),
                *_choices("datetime", d, rows),
                *_extremes("datetime", d, rows),
            ]
        )


class _Duration(_Kind):
    def leaves(self, rows):
        return _const("span")

    def compounds(self, d, rows):
        duration = _e("duration", d, rows)
        return _one_of(
            [
                _binary(_e("datetime", d, rows), ("-",), _e("datetime", d, rows)),
                _binary(duration, ("+", "-"), duration),
                _unary("-", duration),
                _binary(duration, ("*",), _e("small", d, rows)),
                _binary(duration, ("/",), _e("number", d, rows)),
                *_choices("duration", d, rows),
                *_extremes("duration", d, rows),
            ]
        )


class _Link(_Kind):
    """Link, user and branch values: only compared, tested for blank, counted or turned to text."""

    def leaves(self, rows):
        return _fields("client", "ME()", "MY_BRANCH()")

    def compounds(self, d, rows):
        return _call("COALESCE", _const("client"), _const("client"))


_BUILDERS: dict[str, _Kind] = {
    "number": _Number(),
    "small": _Small(),
    "percent": _Percent(),
    "money": _Money(),
    "text": _Text(),
    "boolean": _Boolean(),
    "rowcond": _RowCondition(),
    "date": _Date(),
    "datetime": _DateTime(),
    "duration": _Duration(),
    "link": _Link(),
}


def formulas(target: str | None = None, *, max_depth: int = MAX_DEPTH) -> st.SearchStrategy[str]:
    """Well-typed formula text of the ``target`` type (any of `TARGET_TYPES` if None)."""
    if target is None:
        return st.sampled_from(TARGET_TYPES).flatmap(lambda kind: expression(kind, max_depth))
    return expression(target, max_depth)


# --- records ----------------------------------------------------------------------------------


def _maybe(strategy: st.SearchStrategy[Any], blank: int = 1) -> st.SearchStrategy[Any]:
    """``strategy`` or None (blank) about one time in eight."""
    return _weighted((blank, st.none()), (8 - blank, strategy))


def _decimal_texts(max_abs: int, places: int = 2) -> st.SearchStrategy[str]:
    values = st.one_of(
        st.decimals(min_value=-100, max_value=100, places=places),
        st.decimals(min_value=-max_abs, max_value=max_abs, places=places),
    )
    return values.map(lambda value: format(value, "f"))


def _ints(max_abs: int) -> st.SearchStrategy[int]:
    return st.one_of(st.integers(-10, 100), st.integers(-max_abs, max_abs))


def money_values() -> st.SearchStrategy[dict[str, str]]:
    return _decimal_texts(10**6).map(lambda amount: {"amount": amount, "currency": CURRENCY})


def date_values() -> st.SearchStrategy[str]:
    return st.dates(date(1990, 1, 1), date(2040, 12, 31)).map(date.isoformat)


def datetime_values() -> st.SearchStrategy[str]:
    return st.datetimes(datetime(1990, 1, 1), datetime(2040, 12, 31, 23, 59, 59)).map(
        lambda moment: moment.replace(microsecond=0, tzinfo=UTC).isoformat()
    )


def _record_text() -> st.SearchStrategy[str]:
    """Non-empty (the record service stores "" as blank), sometimes with runs of spaces."""
    return st.one_of(
        text_values(12).filter(bool),
        st.sampled_from(("  two  spaces ", "PART", "Ёж", "a", "b", "Élan")),
    )


def line_values() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "qty": _maybe(st.integers(-10, 100)),
            "amount": _maybe(money_values()),
            "tag": _maybe(st.sampled_from(TAG_CHOICES)),
            "due": _maybe(date_values()),
        }
    )


def client_values() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"name": _maybe(_record_text()), "rate": _maybe(_decimal_texts(10**4))}
    )


def records(client_ids: Sequence[int] = ()) -> st.SearchStrategy[dict[str, Any]]:
    """One ``item`` in the API's JSON form; ``client`` is one of ``client_ids`` or None."""
    client = _maybe(st.sampled_from(list(client_ids))) if client_ids else st.none()
    return st.fixed_dictionaries(
        {
            "n_int": _maybe(_ints(10**6)),
            "n_dec": _maybe(_decimal_texts(10**6)),
            "pct": _maybe(_decimal_texts(1000)),
            "price": _maybe(money_values()),
            "title": _maybe(_record_text()),
            "note": _maybe(_record_text(), blank=3),
            "kind": _maybe(st.sampled_from(KIND_CHOICES)),
            "flag": _maybe(st.booleans()),
            "day": _maybe(date_values()),
            "moment": _maybe(datetime_values()),
            "span": _maybe(st.one_of(st.integers(0, 10**6), st.integers(-86_400, 86_400))),
            "client": client,
            "lines": st.lists(line_values(), max_size=5),
        }
    )


# --- JSON form -> runtime values (what the Python evaluator reads) ------------------------------


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _money(value: dict[str, str] | None) -> Money | None:
    return None if value is None else Money(Decimal(value["amount"]), value["currency"])


def _date(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


_CONVERT = {
    "n_int": lambda v: None if v is None else Decimal(v),
    "n_dec": _decimal,
    "pct": lambda v: None if v is None else Decimal(v) / 100,
    "price": _money,
    "day": _date,
    "moment": lambda v: None if v is None else datetime.fromisoformat(v),
    "span": lambda v: None if v is None else timedelta(seconds=v),
}
_LINE_CONVERT = {"qty": _CONVERT["n_int"], "amount": _money, "due": _date}


def runtime_values(
    record: dict[str, Any], clients: dict[int, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The record's values by dotted path, as the evaluator reads them (see `semantics`)."""
    values = {
        slug: _CONVERT.get(slug, lambda v: v)(value)
        for slug, value in record.items()
        if slug != "lines"
    }
    client = (clients or {}).get(record.get("client")) or {}
    values["client.name"] = client.get("name")
    values["client.rate"] = _decimal(client.get("rate"))
    for slug in ("qty", "amount", "tag", "due"):
        convert = _LINE_CONVERT.get(slug, lambda v: v)
        values[f"lines.{slug}"] = [convert(line.get(slug)) for line in record.get("lines", ())]
    return values


def record_context(
    record: dict[str, Any],
    clients: dict[int, dict[str, Any]] | None = None,
    *,
    now: datetime = NOW,
    user_id: int | None = None,
    branch_id: int | None = None,
) -> RecordContext:
    """A `RecordContext` for ``record`` (JSON form) at a fixed time."""
    return RecordContext(
        runtime_values(record, clients), user_id=user_id, branch_id=branch_id, now=now
    )
