"""Django expression building blocks for the SQL back end: SQL from our own templates, typed
parameters and the output field of each formula type.

Templates are written here, never taken from formula text: values reach SQL only as query
parameters, and names only as the `Scope`'s own column references.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import models
from django.db.models import Expression, Func

from cardfile.formula_engine import types as t

from . import sqlite

K = t.Kind
_SLOT = re.compile(r"\{(\d+)\}")

# PostgreSQL types of the parameters, so a literal never arrives as "unknown".
_PG_TYPES = {
    K.INTEGER: "numeric",
    K.DECIMAL: "numeric",
    K.PERCENT: "numeric",
    K.MONEY: "numeric",
    K.TEXT: "text",
    K.CHOICE: "text",
    K.BOOLEAN: "boolean",
    K.DATE: "date",
    K.DATETIME: "timestamptz",
    K.DURATION: "interval",
    K.LINK: "bigint",
    K.USER: "bigint",
    K.BLANK: "text",
}


def output_field(kind: t.Kind) -> models.Field:
    """The Django field that reads a value of ``kind`` back from the database."""
    if kind in t.NUMERIC:
        return models.DecimalField()
    if kind is K.BOOLEAN:
        return models.BooleanField()
    if kind is K.DATE:
        return models.DateField()
    if kind is K.DATETIME:
        return models.DateTimeField()
    if kind is K.DURATION:
        return models.DurationField()
    if kind in (K.LINK, K.USER):
        return models.BigIntegerField()
    return models.TextField()


class Sql(Func):
    """SQL from a template with numbered slots: ``Sql("COALESCE({0}, 0) + {1}", a, b)``.

    A slot is wrapped in parentheses unless what fills it is one term (a name, a parameter, a
    function call or something already in parentheses), so precedence never depends on it and
    deep formulas stay within SQLite's parser depth; a slot used twice repeats its parameters
    in order."""

    def __init__(self, template: str, *expressions: Any, output_field: models.Field) -> None:
        if "%" in template:
            raise ValueError("templates must not contain %")
        super().__init__(*expressions, output_field=output_field)
        self.sql_template = template

    def as_sql(self, compiler, connection, **extra_context):  # noqa: ARG002
        compiled = [compiler.compile(source) for source in self.get_source_expressions()]
        pieces: list[str] = []
        params: list[Any] = []
        position = 0
        for match in _SLOT.finditer(self.sql_template):
            pieces.append(self.sql_template[position : match.start()])
            sql, slot_params = compiled[int(match.group(1))]
            pieces.append(sql if _one_term(sql) else f"({sql})")
            params.extend(slot_params)
            position = match.end()
        pieces.append(self.sql_template[position:])
        sql = "".join(pieces)
        # Bracketed unless one term, so ``a OR b`` stays whole inside ``... AND <it> = true``.
        return (sql if _one_term(sql) else f"({sql})"), params


def _one_term(sql: str) -> bool:
    """Whether ``sql`` is a single term: nothing outside brackets and quotes but a name."""
    depth, quote = 0, ""
    for index, char in enumerate(sql):
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0 and index != len(sql) - 1 and sql[0] == "(":
                return False  # "(a) + (b)"
        elif depth == 0 and not (char.isalnum() or char in "_.%"):
            return False
    return depth == 0 and not quote


class Param(Expression):
    """A typed query parameter (a literal of the formula, ME(), NOW() ...)."""

    def __init__(self, value: Any, kind: t.Kind, *, sql_type: str | None = None) -> None:
        super().__init__(output_field=output_field(kind))
        self.value = value
        self.kind = kind
        self.sql_type = sql_type or _PG_TYPES[kind]

    def as_sql(self, compiler, connection):
        if connection.vendor == "postgresql":
            return f"CAST(%s AS {self.sql_type})", [self.value]
        return "%s", [sqlite.to_sqlite(self.value, self.kind)]

    def __repr__(self) -> str:
        return f"Param({self.value!r}, {self.kind.value})"


def python_call(
    name: str, args: list[tuple[Expression, t.FormulaType]], result: t.FormulaType, tz_name: str
) -> Sql:
    """SQLite: ``name`` (an operator or function) computed by its Python implementation through
    ``cf_call``, with the formula types of the arguments and of the result."""
    signature = sqlite.signature([kind for _expr, kind in args], result, tz_name)
    slots = ", ".join(f"{{{i}}}" for i in range(len(args) + 2))
    return Sql(
        f"cf_call({slots})",
        Param(name, t.Kind.TEXT),
        Param(signature, t.Kind.TEXT),
        *[expr for expr, _kind in args],
        output_field=output_field(result.kind),
    )


def integer(value: int) -> Param:
    """A small SQL integer (digits, counts, months)."""
    return Param(value, t.Kind.INTEGER, sql_type="integer")


def blank(kind: t.Kind) -> Param:
    return Param(None, kind)


def literal_kind(value: Any) -> t.Kind:
    """The formula kind of a Python literal (used for parameters made by the compiler)."""
    if isinstance(value, bool):
        return K.BOOLEAN
    if isinstance(value, Decimal | int):
        return K.DECIMAL
    if isinstance(value, datetime):
        return K.DATETIME
    if isinstance(value, date):
        return K.DATE
    if isinstance(value, timedelta):
        return K.DURATION
    return K.TEXT
