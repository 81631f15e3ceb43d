"""Both formula back ends on real records: a curated list of formulas over links, lines and
edge cases gives the same value in SQL as in Python (the random differential test is
tests/formula_engine/test_differential.py), on PostgreSQL and on SQLite."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cardfile.metamodel.formulas import formula_filter, formula_values_python, formula_values_sql
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
    for expression in EXPRS:
        sql = formula_values_sql(entity="order", formula=expression, now=NOW)
        python = formula_values_python(entity="order", formula=expression, now=NOW)
        assert set(sql) == {order.pk for order in orders}
        if sql != python:
            disagreements.append(f"{expression}: SQL {sql} != Python {python}")
    assert not disagreements, "\n".join(disagreements)


def test_a_condition_filters_in_the_database(orders):
    full, _empty = orders
    rows = formula_filter(record_queryset("order"), entity="order", expression="SUM(lines.qty) > 2")
    assert [row.pk for row in rows] == [full.pk]
