"""Both formula back ends on real records: a curated list of formulas over links, lines and
edge cases gives the same value in SQL as in Python (the random differential test is
tests/formula_engine/test_differential.py), on PostgreSQL and on SQLite."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from cardfile.metamodel.formulas import (
    formula_filter,
    formula_values_python,
    formula_values_sql,
    selectors,
)
from cardfile.metamodel.records import record_create, record_queryset
from tests.builders import build_shop_schema

pytestmark = [pytest.mark.embedded]
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

EXPRS = [
    "1 + 2",
    "1/3",
    "client.discount",
    'client.name & "!"',
    "SUM(lines.price)",
    "COUNT(lines)",
    "SUM(lines.qty * lines.price) * (1 - client.discount)",
    "MAX(lines.item)",
    "MIN(lines.qty)",
    'SUMIF(lines.qty, lines.item = "screen")',
    "COUNTIF(lines.qty > 1)",
    "AVG(lines.qty)",
    "TEXT(created_at)",
    "YEAR(TODAY())",
    'DATEADD(DATE(2024,1,31), 1, "months")',
    'DATEDIF(DATE(2024,1,31), DATE(2024, 3, 1), "months")',
    "EOMONTH(DATE(2024,2,10), 0)",
    "ROUND(2.5)",
    "ROUNDUP(1.234, 2)",
    "ROUNDDOWN(-1.239, 2)",
    "FLOOR(2.7, 0.5)",
    "MOD(-1, 3)",
    "2^0.5",
    "0^0",
    "10^100",
    "SQRT(2)",
    'TRIM("  a   b ")',
    'LEFT("hello", 2)',
    'MID("hello", 2, 3)',
    'UPPER("école")',
    'CONTAINS("Hello", "ELL")',
    "TEXT(15%)",
    "TEXT(SUM(lines.price))",
    'state = "NEW"',
    'IF(COUNT(lines) > 1, "many", "few")',
    "number",
    "ISBLANK(client.email)",
    "DATE(2024, 2, 30)",
    "NOW() - created_at",
    "TEXT(NOW() - created_at)",
    "WEEKDAY(DATE(2024,1,1))",
    'SWITCH(state, "new", 1, "ready", 2, 0)',
    'COALESCE(client.email, "none")',
    "LEN(client.name)",
    # TEXT with a format: rounding, sign and grouping of to_char's replacement, dates
    'TEXT(0, "0.00")',
    'TEXT(-0.004, "0.00")',
    'TEXT(-0.005, "0.00")',
    'TEXT(1234567.005, "#,##0.00")',
    'TEXT(-1234567.5, "#,##0")',
    'TEXT(999.9995, "0.000")',
    'TEXT(123, "#,##0")',
    'TEXT(-999.5, "#,##0")',
    'TEXT(2.5, "0")',
    'TEXT(0.155, "0.0%")',
    'TEXT(-0.004, "0%")',
    'TEXT(client.discount, "0.0%")',
    'TEXT(SUM(lines.price), "#,##0.00")',
    'TEXT(SUM(lines.qty * lines.price) * 1000.005, "0.0")',
    'TEXT(AVG(lines.qty), "0.0")',
    'TEXT(BLANK(), "0.00")',
    'TEXT(DATE(999, 3, 4), "DD.MM.YY")',
    'TEXT(DATE(999, 3, 4), "YYYY-MM-DD")',
    'TEXT(DATE(2024, 2, 9), "MM/DD/YYYY")',
    'TEXT(TODAY(), "DD/MM/YYYY")',
    'TEXT(created_at, "DD.MM.YYYY HH:MM:SS")',
    'TEXT(NOW(), "YYYY-MM-DD HH:MM")',
    'TEXT(DATEADD(created_at, 1, "days"), "DD.MM.YY")',
    # SUBSTITUTE's instance
    'SUBSTITUTE("a-b-c", "-", "+", 2)',
    'SUBSTITUTE("aaaa", "aa", "x", 2)',
    'SUBSTITUTE("a-b-c", "-", "+", 3)',
    'SUBSTITUTE("a-b-c", "-", "+", 0)',
    'SUBSTITUTE("a-b-c", "-", "+", -1)',
    'SUBSTITUTE("a-b-c", "-", "+", 1.9)',
    'SUBSTITUTE("a.b.c", ".", "\\1", AVG(lines.qty))',
    'SUBSTITUTE(client.name, "v", "[.*]", 1)',
    'SUBSTITUTE("", "a", "b", 1)',
    'SUBSTITUTE("abc", "", "x", 1)',
    # exact MOD / FLOOR / CEILING, ROUND past its digits
    "MOD(5, -3)",
    "MOD(0.3, 0.1)",
    "MOD(SUM(lines.price), 7)",
    "MOD(7, 0)",
    "FLOOR(-2.5, 0)",
    "CEILING(2.1, 0.5)",
    "CEILING(-2.1, 0.5)",
    "FLOOR(-2.1, -0.5)",
    "ROUND(1.5, 40)",
    "ROUNDUP(1.5, 40)",
    "ROUNDDOWN(-1.5, 99)",
    "ROUND(1234.5, -99)",
    "ROUNDUP(0.000000001 * 0.000000001 * 0.000000001 * 0.000000001 * 0.00001, 40)",
    "ROUND(0.000000001 * 0.000000001 * 0.000000001 * 0.000000001 * 0.00001, 50)",
    # found by the differential test: text extremes reading the record itself, counts in
    # ROUNDUP, durations divided exactly, blank money over money, extremes of choices
    "MAX(client.name & lines.item)",
    'MIN(IF(ISBLANK(client.email), "x", lines.item))',
    "ROUNDUP(COUNT(lines.qty))",
    "ROUNDUP(COUNTIF(lines.qty > 1))",
    "(NOW() - created_at) / 7",
    "(NOW() - created_at) * 1.5",
    "MIN(lines.price) / SUM(lines.price)",
    'MAX(state, "ready")',
]

# Numbers past the 15 digits of a double: exact on PostgreSQL; SQLite stores decimals as doubles
# (as Django does), so they are compared there only.
EXACT_EXPRS = [
    "MOD(100000000000000000000000000001, 3)",
    "FLOOR(1234567890123456789012345678.9, 1)",
    "CEILING(-1234567890123456789012345678.9, 1)",
    "FLOOR(100000000000000000000000000000, 0.0000000001)",
    'TEXT(10^40, "#,##0.00")',
    'TEXT(-123456789012345678901234567890.125, "#,##0.00")',
]


@pytest.fixture
def orders(schema_db, owner):
    build_shop_schema()
    c = record_create(
        entity="client", data={"name": "Ivan", "phone": "+49 30 1234567", "discount": "10"}
    )
    o = record_create(
        entity="order",
        data={
            "client": c.pk,
            "lines": [
                {"item": "screen", "qty": 2, "price": {"amount": "120.50", "currency": "EUR"}},
                {"item": "Battery", "qty": 1, "price": {"amount": "30", "currency": "EUR"}},
            ],
        },
    )
    empty = record_create(entity="order", data={"client": c.pk, "lines": []})
    return o, empty


def test_sql_and_python_agree(orders):
    # one schema for all formulas (building it is the slow part); every disagreement is listed
    disagreements = []
    exact = EXACT_EXPRS if connection.vendor == "postgresql" else []
    for expression in EXPRS + exact:
        sql = formula_values_sql(entity="order", formula=expression, now=NOW)
        python = formula_values_python(entity="order", formula=expression, now=NOW)
        assert set(sql) == {order.pk for order in orders}
        if sql != python:
            disagreements.append(f"{expression}: SQL {sql} != Python {python}")
    assert not disagreements, "\n".join(disagreements)


def test_text_date_formats_agree_in_the_installation_time_zone(orders, monkeypatch):
    # given an installation east of UTC, where NOW (12:00 UTC) is already the next day
    monkeypatch.setattr(
        selectors.timezone, "get_default_timezone", lambda: ZoneInfo("Pacific/Kiritimati")
    )
    late = datetime(2026, 2, 28, 23, 59, 59, tzinfo=UTC)
    formats = [
        'TEXT(NOW(), "DD.MM.YYYY HH:MM:SS")',
        'TEXT(TODAY(), "MM/DD/YYYY")',
        'TEXT(created_at, "DD.MM.YY HH:MM")',
        'TEXT(DATEADD(NOW(), 1, "months"), "YYYY-MM-DD HH:MM")',
    ]
    # when / then
    for expression in formats:
        sql = formula_values_sql(entity="order", formula=expression, now=late)
        assert sql == formula_values_python(entity="order", formula=expression, now=late)
    now_text = formula_values_sql(entity="order", formula=formats[0], now=late)
    assert set(now_text.values()) == {"01.03.2026 13:59:59"}


def test_a_condition_filters_in_the_database(orders):
    full, _empty = orders
    rows = formula_filter(record_queryset("order"), entity="order", expression="SUM(lines.qty) > 2")
    assert [row.pk for row in rows] == [full.pk]
