"""Blank semantics, decimal exactness, division by zero and money rules in the evaluator."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from cardfile.formula_engine import (
    FormulaNameError,
    FormulaTypeError,
    Money,
    check,
    evaluate,
    parse,
)
from tests.formula_engine.helpers import context

pytestmark = pytest.mark.embedded

EUR = "EUR"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("b + 1", Decimal(1)),
        ("1 + b", Decimal(1)),
        ("b * 5", Decimal(0)),
        ("b + b", None),
        ("-b", None),
        ("b / 5", Decimal(0)),
        ("5 / b", None),
        ('"a" & b & "c"', "ac"),
        ("b = b", True),
        ("b = 0", True),
        ('b = ""', True),
        ("b = FALSE", True),
        ("b < 1", True),
        ("b > 0", False),
        ("b <> 0", False),
        ("IF(b, 1, 2)", Decimal(2)),
        ("NOT b", True),
        ("b AND TRUE", False),
        ("b OR TRUE", True),
        ("ISBLANK(b)", True),
        ('ISBLANK("")', False),
        ("b%", Decimal(0)),
        ("d + b", date(2024, 3, 1)),
        ("b = d", False),
        ("b <> d", True),
        ("b < d", False),
        ("LEN(b)", Decimal(0)),
        ("UPPER(b)", ""),
        ("ROUND(b)", Decimal(0)),
    ],
)
def test_blank_semantics_table(text, expected):
    assert evaluate(text, context(b=None, d=date(2024, 3, 1))) == expected


def test_decimal_arithmetic_is_exact():
    assert evaluate("0.1 + 0.2", context()) == Decimal("0.3")
    assert evaluate("0.1 + 0.2 = 0.3", context()) is True
    assert evaluate("x * 3", context(x=0.1)) == Decimal("0.3")
    # inexact results are rounded to ten places (half away from zero) in both back ends
    assert evaluate("1 / 3", context()) == Decimal("0.3333333333")
    assert evaluate("2 / 3", context()) == Decimal("0.6666666667")
    assert evaluate("SQRT(2)", context()) == Decimal("1.4142135624")
    assert evaluate("2 ^ 0.5", context()) == Decimal("1.4142135624")
    assert evaluate("10 ^ 99", context()) == Decimal(10) ** 99
    assert evaluate("10 ^ 100", context()) is None  # beyond POWER_LIMIT
    assert evaluate("123456789012345678901234567890 + 1", context()) == Decimal(
        "123456789012345678901234567891"
    )


@pytest.mark.parametrize("text", ["1 / 0", "price / 0", "MOD(5, 0)", "x / (2 - 2)", "0 ^ -1"])
def test_division_by_zero_is_blank(text):
    assert evaluate(text, context(price=Money(Decimal(5), EUR), x=Decimal(1))) is None


def test_money_keeps_its_currency():
    values = {"price": Money(Decimal("10.50"), EUR), "qty": 3}

    assert evaluate("price * qty", context(**values)) == Money(Decimal("31.50"), EUR)
    assert evaluate("qty * price - 1.5", context(**values)) == Money(Decimal("30.00"), EUR)
    assert evaluate("price / 2", context(**values)) == Money(Decimal("5.25"), EUR)
    assert evaluate("price / price", context(**values)) == Decimal(1)
    assert evaluate("price * 10%", context(**values)) == Money(Decimal("1.050"), EUR)
    assert evaluate("-price", context(**values)) == Money(Decimal("-10.50"), EUR)
    assert evaluate('"total: " & price', context(**values)) == "total: 10.50 EUR"
    assert evaluate("price > 10", context(**values)) is True


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("price + other", "EUR and USD"),
        ("price = other", "EUR and USD"),
        ("price * price", "multiplied by money"),
        ("2 / price", "divided by money"),
        ("price ^ 2", "power"),
    ],
)
def test_money_rules_are_enforced_at_evaluation(text, message):
    values = {"price": Money(Decimal(1), EUR), "other": Money(Decimal(1), "USD")}

    with pytest.raises(FormulaTypeError, match=message) as raised:
        evaluate(text, context(**values))
    assert raised.value.caret().startswith(text)


def test_currency_known_only_at_evaluation(schema):
    # fee has no fixed currency, so the checker accepts it; the evaluator refuses USD + EUR
    checked = check("fee + price", schema)

    with pytest.raises(FormulaTypeError, match="USD and EUR"):
        evaluate(checked, context(fee=Money(Decimal(1), "USD"), price=Money(Decimal(1), EUR)))
    assert evaluate(
        checked, context(fee=Money(Decimal(1), EUR), price=Money(Decimal(2), EUR))
    ) == Money(Decimal(3), EUR)


def test_text_comparison_ignores_case():
    assert evaluate('"Done" = "DONE"', context()) is True
    assert evaluate('"a" < "B"', context()) is True


def test_dates_arithmetic():
    values = {"d": date(2024, 3, 1), "e": date(2024, 2, 1)}
    assert evaluate("d - e", context(**values)) == Decimal(29)
    assert evaluate("d - 1", context(**values)) == date(2024, 2, 29)
    assert evaluate("1 + d", context(**values)) == date(2024, 3, 2)


def test_evaluate_accepts_text_ast_and_checked_formula(schema):
    record = context(qty=2, price=Money(Decimal(3), EUR))

    assert evaluate("qty * price", record) == Money(Decimal(6), EUR)
    assert evaluate(parse("qty * price"), record) == Money(Decimal(6), EUR)
    assert evaluate(check("qty * price", schema), record) == Money(Decimal(6), EUR)


def test_missing_value_and_unknown_function_at_evaluation():
    with pytest.raises(FormulaNameError, match="No value for field nope"):
        evaluate("1 + nope", context())
    with pytest.raises(FormulaNameError, match="Unknown function FOO"):
        evaluate("FOO(1)", context())
    with pytest.raises(FormulaTypeError, match="does not take 3"):
        evaluate("ABS(1, 2, 3)", context())


def test_many_values_outside_an_aggregate_are_refused():
    with pytest.raises(FormulaTypeError, match="one value per row"):
        evaluate("lines.qty + 1", context(lines__qty=[1, 2]))


def test_comparing_unrelated_values_is_a_type_error():
    with pytest.raises(FormulaTypeError, match="Cannot compare"):
        evaluate('d = "x"', context(d=date(2024, 1, 1)))
    with pytest.raises(FormulaTypeError, match="Expected TRUE or FALSE"):
        evaluate('IF("x", 1, 2)', context())


def test_durations_scale_exactly_to_the_microsecond():
    span = timedelta(seconds=975608)
    # 975608 s / 7 = 139372.571428571... s: half away from zero to a whole microsecond
    assert evaluate("span / 7", context(span=span)) == timedelta(
        seconds=139372, microseconds=571429
    )
    assert evaluate("span * 0.5", context(span=timedelta(microseconds=3))) == timedelta(
        microseconds=2
    )
    assert evaluate("span / b", context(span=span, b=None)) is None
    assert evaluate("span * b", context(span=span, b=None)) == timedelta(0)


def test_blank_money_over_money_is_zero():
    price = Money(Decimal(4), EUR)
    assert evaluate("b / price", context(b=None, price=price)) == Decimal(0)
