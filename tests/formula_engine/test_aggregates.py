"""Aggregates over child rows: SUM, COUNT, AVG, MIN, MAX, SUMIF, COUNTIF."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cardfile.formula_engine import Money, check, evaluate
from tests.formula_engine.helpers import context

pytestmark = pytest.mark.embedded

EUR = "EUR"


def lines():
    return context(
        lines__amount=[Money(Decimal("10.10"), EUR), Money(Decimal("5.20"), EUR), None],
        lines__qty=[2, 1, 4],
        lines__kind=["part", "labour", "Part"],
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SUM(lines.amount)", Money(Decimal("15.30"), EUR)),
        ("SUM(lines.qty)", Decimal(7)),
        ("SUM(lines.qty * 2)", Decimal(14)),
        ("SUM(lines.amount * lines.qty)", Money(Decimal("25.40"), EUR)),
        ("COUNT(lines.amount)", Decimal(2)),
        ("COUNT(lines.kind)", Decimal(3)),
        ("AVG(lines.qty)", Decimal("2.3333333333")),  # inexact: ten places
        ("AVG(lines.amount)", Money(Decimal("7.65"), EUR)),
        ("MIN(lines.qty)", Decimal(1)),
        ("MAX(lines.amount)", Money(Decimal("10.10"), EUR)),
        ('SUMIF(lines.amount, lines.kind = "part")', Money(Decimal("10.10"), EUR)),
        ('SUMIF(lines.qty, lines.kind = "part")', Decimal(6)),
        ('SUMIF(lines.qty, lines.kind = "none")', Decimal(0)),
        ('COUNTIF(lines.kind = "part")', Decimal(2)),
        ("COUNTIF(lines.qty > 1)", Decimal(2)),
        ("SUM(ROUND(lines.qty / 3, 0))", Decimal(2)),
        ("SUM(lines.qty) + COUNT(lines.kind)", Decimal(10)),
        ("SUM(1, 2, 3)", Decimal(6)),
    ],
)
def test_aggregates(text, expected):
    assert evaluate(text, lines()) == expected


def test_aggregates_of_no_rows():
    empty = context(lines__amount=[], lines__qty=[], lines__kind=[])

    assert evaluate("SUM(lines.qty)", empty) == Decimal(0)
    assert evaluate("COUNT(lines.kind)", empty) == Decimal(0)
    assert evaluate("AVG(lines.qty)", empty) is None
    assert evaluate("MAX(lines.qty)", empty) is None
    assert evaluate('SUMIF(lines.qty, lines.kind = "part")', empty) == Decimal(0)


def test_checked_aggregate_evaluates(schema):
    checked = check('SUMIF(lines.amount, lines.kind = "part") / SUM(lines.amount)', schema)

    assert checked.dependencies == {("lines", "amount"), ("lines", "kind")}
    assert evaluate(checked, lines()) == Decimal("0.6601307190")  # 10.10 / 15.30, ten places
