"""SQLite functions for the SQL back end: exact decimal arithmetic and the formula functions.

SQLite has no exact decimals (Django stores them as doubles) and no Unicode-aware ``lower``,
so on SQLite the compiler calls ``cf_call(op, signature, *args)``, which reads its arguments
from SQLite's storage forms, runs the one Python implementation (`semantics` and the function
registry) and gives the result back in SQLite's storage form; ``cf_sum`` adds exactly. This is
how Django itself implements date functions on SQLite. A value error inside gives blank (the
query goes on), where the Python evaluator reports it.

The signature is the kinds of the arguments and of the result, with the time zone:
``"n,n>n@UTC"``. Codes: ``n`` number, ``m`` or ``m:EUR`` money, ``t`` text, ``b`` boolean,
``d`` date, ``T`` datetime, ``D`` duration, ``i`` a link or user id.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from cardfile.formula_engine import types as t
from cardfile.formula_engine.evaluator import RecordContext
from cardfile.formula_engine.functions import REGISTRY
from cardfile.formula_engine.semantics import (
    Money,
    combine,
    compare,
    negate,
    normalize,
    to_text,
)

logger = logging.getLogger(__name__)
K = t.Kind
_BIGINT = 2**63
_CODES = {
    K.INTEGER: "n",
    K.DECIMAL: "n",
    K.PERCENT: "n",
    K.MONEY: "m",
    K.TEXT: "t",
    K.CHOICE: "t",
    K.BOOLEAN: "b",
    K.DATE: "d",
    K.DATETIME: "T",
    K.DURATION: "D",
    K.LINK: "i",
    K.USER: "i",
    K.BLANK: "t",
}


def code(kind_type: t.FormulaType) -> str:
    """The signature code of a formula type (money carries its currency)."""
    base = _CODES[kind_type.kind]
    if base == "m" and kind_type.currency:
        return f"m:{kind_type.currency}"
    return base


def signature(args: list[t.FormulaType], result: t.FormulaType, tz_name: str) -> str:
    return ",".join(code(arg) for arg in args) + ">" + code(result) + "@" + tz_name


# -- storage forms -----------------------------------------------------------------------------


def _number(value: Any) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)


def from_sqlite(value: Any, kind_code: str) -> Any:
    """A value as SQLite stores it (what Django writes) -> the formula's runtime value."""
    if value is None:
        return None
    base, _sep, currency = kind_code.partition(":")
    if base == "n":
        return _number(value)
    if base == "m":
        return Money(_number(value), currency or None)
    if base == "b":
        return bool(value)
    if base == "d":
        return date.fromisoformat(str(value)[:10])
    if base == "T":
        moment = datetime.fromisoformat(str(value))
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    if base == "D":
        return timedelta(microseconds=int(value))
    if base == "i":
        return int(value)
    return str(value) if not isinstance(value, float) else to_text(_number(value))


def to_sqlite(value: Any, kind: t.Kind | str) -> Any:
    """A runtime value -> the form Django stores on SQLite, so native comparisons agree."""
    if value is None:
        return None
    base = _CODES[kind] if isinstance(kind, t.Kind) else kind.partition(":")[0]
    if isinstance(value, Money):
        value = value.amount
    if base in ("n", "m"):
        number = Decimal(value)
        if number == number.to_integral_value() and abs(number) < _BIGINT:
            return int(number)
        return float(number)
    if base == "b":
        return int(bool(value))
    if base == "T":
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return str(moment.astimezone(UTC).replace(tzinfo=None))
    if base == "d":
        return value.isoformat()
    if base == "D":
        return value // timedelta(microseconds=1)
    if base == "i":
        return int(value)
    return value


@lru_cache(maxsize=1024)
def _parse_signature(text: str) -> tuple[tuple[str, ...], str, ZoneInfo | Any]:
    kinds, _arrow, rest = text.partition(">")
    result, _at, tz_name = rest.partition("@")
    tz = UTC if tz_name in ("", "UTC") else ZoneInfo(tz_name)
    return tuple(kinds.split(",")) if kinds else (), result, tz


_ARITHMETIC = frozenset({"+", "-", "*", "/", "^"})
_COMPARISONS = frozenset({"=", "<>", "<", "<=", ">", ">="})


_KIND_NAMES = {"d": "date", "T": "datetime", "D": "duration"}


def _apply(name: str, args: list[Any], kinds: tuple[str, ...], tz: Any) -> Any:
    if name in _ARITHMETIC:
        left_kind, right_kind = (_KIND_NAMES.get(k[:1], "number") for k in kinds)
        return combine(name, args[0], args[1], left_kind, right_kind)
    if name in _COMPARISONS:
        return compare(name, *args)
    if name == "&":
        return to_text(args[0], tz) + to_text(args[1], tz)
    if name == "NEG":
        return negate(args[0])
    if name == "PCT":  # a percent field's points -> its fraction; blank stays blank
        return None if args[0] is None else args[0] / Decimal(100)
    if name == "KEY":  # the ordering key of a text: compared lower-cased by code point
        return to_text(args[0], tz).lower()
    return REGISTRY[name].python(RecordContext(tz=tz), *args)


def cf_call(name: str, signature_text: str, *raw: Any) -> Any:
    kinds, result_kind, tz = _parse_signature(signature_text)
    try:
        args = [normalize(from_sqlite(value, kind)) for value, kind in zip(raw, kinds, strict=True)]
        return to_sqlite(_apply(name, args, kinds, tz), result_kind)
    except Exception:  # noqa: BLE001 - a value error in one row gives blank, as documented
        logger.debug("cf_call(%s) gave blank for %r", name, raw, exc_info=True)
        return None


class ExactSum:
    """``cf_sum(x)``: the exact decimal sum of a column of doubles (blank when all are blank)."""

    def __init__(self) -> None:
        self.total: Decimal | None = None

    def step(self, value: Any) -> None:
        if value is not None:
            self.total = (self.total or Decimal(0)) + _number(value)

    def finalize(self) -> Any:
        return None if self.total is None else to_sqlite(self.total, "n")


class _FirstText:
    """``cf_min_text(value, order...)``: the text first in lower-case code-point order (ties: the
    first line), as `semantics.compare` orders text; ``cf_max_text`` the last."""

    descending = False

    def __init__(self) -> None:
        self.best: tuple[Any, ...] | None = None

    def step(self, value: Any, *order: Any) -> None:
        if value is None:
            return
        text = str(value)
        key = (text.lower(), tuple(-o if self.descending else o for o in order))
        if self.best is None or (key > self.best[0] if self.descending else key < self.best[0]):
            self.best = (key, text)

    def finalize(self) -> Any:
        return None if self.best is None else self.best[1]


class _LastText(_FirstText):
    descending = True


def install(connection: Any) -> None:
    """Register the functions on a new SQLite connection (``connection_created``)."""
    if connection.vendor != "sqlite":
        return
    raw = connection.connection
    raw.create_function("cf_call", -1, cf_call, deterministic=True)
    raw.create_aggregate("cf_sum", 1, ExactSum)
    raw.create_aggregate("cf_min_text", -1, _FirstText)
    raw.create_aggregate("cf_max_text", -1, _LastText)


def on_connection_created(sender: Any, connection: Any, **kwargs: Any) -> None:
    install(connection)
