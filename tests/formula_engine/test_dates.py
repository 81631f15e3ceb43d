"""Date functions, including month-end handling in DATEADD and EOMONTH, and DATEDIF."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from cardfile.formula_engine import FormulaValueError, evaluate
from tests.formula_engine.helpers import context

pytestmark = pytest.mark.embedded


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("TODAY()", date(2024, 1, 31)),
        ("NOW()", datetime(2024, 1, 31, 10, 30, tzinfo=UTC)),
        ("DATE(2024, 2, 29)", date(2024, 2, 29)),
        ("DATE(2023, 2, 29)", None),
        ("YEAR(d)", Decimal(2024)),
        ("MONTH(d)", Decimal(1)),
        ("DAY(d)", Decimal(31)),
        ("YEAR(NOW())", Decimal(2024)),
        ("YEAR(b)", None),
        ("WEEKDAY(DATE(2024, 1, 29))", Decimal(1)),  # Monday
        ("WEEKDAY(DATE(2024, 2, 4))", Decimal(7)),  # Sunday
        ('DATEADD(d, 1, "months")', date(2024, 2, 29)),
        ('DATEADD(DATE(2023, 1, 31), 1, "months")', date(2023, 2, 28)),
        ('DATEADD(d, -2, "months")', date(2023, 11, 30)),
        ('DATEADD(d, 10, "days")', date(2024, 2, 10)),
        ('DATEADD(DATE(2024, 2, 29), 1, "years")', date(2025, 2, 28)),
        ('DATEADD(d, 1, "MONTHS")', date(2024, 2, 29)),
        ('DATEADD(b, 1, "days")', None),
        ('DATEADD(NOW(), 1, "months")', datetime(2024, 2, 29, 10, 30, tzinfo=UTC)),
        ("EOMONTH(DATE(2024, 2, 10))", date(2024, 2, 29)),
        ("EOMONTH(d, 1)", date(2024, 2, 29)),
        ("EOMONTH(d, -1)", date(2023, 12, 31)),
        ("EOMONTH(d, 13)", date(2025, 2, 28)),
        ("EOMONTH(b)", None),
        ('DATEDIF(DATE(2024, 1, 1), DATE(2024, 3, 1), "days")', Decimal(60)),
        ('DATEDIF(DATE(2024, 1, 31), DATE(2024, 2, 29), "months")', Decimal(0)),
        ('DATEDIF(DATE(2024, 1, 15), DATE(2024, 3, 15), "months")', Decimal(2)),
        ('DATEDIF(DATE(2020, 2, 29), DATE(2024, 2, 28), "years")', Decimal(3)),
        ('DATEDIF(DATE(2020, 2, 29), DATE(2024, 2, 29), "years")', Decimal(4)),
        ('DATEDIF(DATE(2024, 3, 1), DATE(2024, 1, 1), "days")', Decimal(-60)),
        ('DATEDIF(b, d, "days")', None),
        ('DATEDIF(NOW(), DATE(2024, 2, 1), "days")', Decimal(1)),
    ],
)
def test_date_functions(text, expected):
    assert evaluate(text, context(d=date(2024, 1, 31), b=None)) == expected


def test_unit_given_by_a_field_is_checked_at_evaluation():
    with pytest.raises(FormulaValueError, match="Unknown unit 'weeks'") as raised:
        evaluate("DATEADD(TODAY(), 1, unit)", context(unit="weeks"))
    assert raised.value.code == "formula_value"
    assert raised.value.caret().endswith("^" * len("DATEADD(TODAY(), 1, unit)"))
