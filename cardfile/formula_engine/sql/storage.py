"""A formula's value in the form its stored column keeps it.

Numbers are rounded half away from zero to the column's decimal places (a whole number for an
integer result), a percent is kept in points like percent fields, money as its amount rounded
to its currency's minor unit (the caller gives those places), so a total shown is the total
kept and sums of shown amounts add up. A number too large for its column (20 digits) is stored
blank, never an error that would stop the write that triggered it.
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Expression

from cardfile.formula_engine import types as t

from .expressions import Param, Sql, output_field, python_call

K = t.Kind
COLUMN_DIGITS = 20
MONEY_PLACES = 4


def storage_places(kind: t.Kind, places: int) -> int:
    if kind is K.INTEGER:
        return 0
    return min(places, MONEY_PLACES) if kind is K.MONEY else places


def storage_form(
    value: Expression, kind_type: t.FormulaType, *, vendor: str, places: int = 2, tz: str = "UTC"
) -> Expression:
    """``value`` (a compiled formula of ``kind_type``) as its column stores it."""
    kind = kind_type.kind
    if kind not in t.NUMERIC:
        return value
    digits = storage_places(kind, places)
    if vendor != "postgresql":
        number = t.FormulaType(K.DECIMAL)
        if kind is K.PERCENT:
            hundred = Param(Decimal(100), K.DECIMAL)
            value = python_call("*", [(value, number), (hundred, number)], number, tz)
        places_param = Param(Decimal(digits), K.DECIMAL)
        return python_call("ROUND", [(value, number), (places_param, number)], number, tz)
    if kind is K.PERCENT:
        value = Sql("{0} * 100", value, output_field=output_field(K.DECIMAL))
    limit = Decimal(10) ** (COLUMN_DIGITS - digits)
    return Sql(
        "CASE WHEN ABS({0}) < {1} THEN ROUND({0}, {2}) END",
        value,
        Param(limit, K.DECIMAL),
        Param(digits, K.INTEGER, sql_type="integer"),
        output_field=output_field(K.DECIMAL),
    )
