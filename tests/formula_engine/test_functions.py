"""Logic, math, text and context functions: normal, blank and error cases."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from cardfile.formula_engine import (
    FormulaError,
    FormulaTypeError,
    Money,
    RecordContext,
    check,
    evaluate,
)
from cardfile.formula_engine.functions import REGISTRY
from tests.formula_engine.helpers import context

pytestmark = pytest.mark.embedded

D = Decimal


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('IF(1 < 2, "yes", "no")', "yes"),
        ('IF(1 > 2, "yes", "no")', "no"),
        ('IF(1 > 2, "yes")', None),
        ("IF(TRUE, 1, 1 / 0)", D(1)),
        ('IFS(n > 10, "big", n > 1, "medium", TRUE, "small")', "medium"),
        ('IFS(n > 10, "big")', None),
        ('SWITCH(n, 1, "one", 5, "five", "other")', "five"),
        ('SWITCH(n, 1, "one", "other")', "other"),
        ('SWITCH(n, 1, "one")', None),
        ('SWITCH("A", "a", "letter a")', "letter a"),
        ("AND(TRUE, n > 1, NOT FALSE)", True),
        ("AND(TRUE, b)", False),
        ("OR(FALSE, b, n = 5)", True),
        ("OR(FALSE, FALSE)", False),
        ("ISBLANK(n)", False),
        ("COALESCE(b, b, n)", D(5)),
        ("COALESCE(b)", None),
        ("BLANK()", None),
        ("ROUND(2.5)", D(3)),
        ("ROUND(-2.5)", D(-3)),
        ("ROUND(1.005, 2)", D("1.01")),
        ("ROUND(1234.5, -2)", D(1200)),
        ("ROUNDUP(1.21, 1)", D("1.3")),
        ("ROUNDUP(-1.21, 1)", D("-1.3")),
        ("ROUNDDOWN(1.29, 1)", D("1.2")),
        ("ROUNDDOWN(-1.29, 1)", D("-1.2")),
        ("ABS(-3)", D(3)),
        ("FLOOR(7.5)", D(7)),
        ("FLOOR(-7.5)", D(-8)),
        ("FLOOR(17, 5)", D(15)),
        ("FLOOR(17, 0)", None),
        ("CEILING(7.1)", D(8)),
        ("CEILING(17, 5)", D(20)),
        ("MOD(7, 3)", D(1)),
        ("MOD(-1, 3)", D(2)),
        ("MOD(1, -3)", D(-2)),
        ("POWER(2, 10)", D(1024)),
        ("POWER(-8, 0.5)", None),
        ("SQRT(16)", D(4)),
        ("SQRT(-1)", None),
        ("SQRT(b)", D(0)),
        ("MIN(3, 1, 2)", D(1)),
        ("MAX(3, b, 2)", D(3)),
        ('CONCAT("a", 1, TRUE, b)', "a1TRUE"),
        ('LEFT("Cardfile", 4)', "Card"),
        ('LEFT("Cardfile")', "C"),
        ('RIGHT("Cardfile", 4)', "file"),
        ('RIGHT("Cardfile", 0)', ""),
        ('MID("Cardfile", 2, 3)', "ard"),
        ('MID("Cardfile", 20, 3)', ""),
        ('LEN("Straße")', D(6)),
        ('UPPER("abc")', "ABC"),
        ('LOWER("ABC")', "abc"),
        ('TRIM("  a   b  ")', "a b"),
        ('SUBSTITUTE("a-b-c", "-", "+")', "a+b+c"),
        ('SUBSTITUTE("abc", "", "x")', "abc"),
        ('SUBSTITUTE("a-b-c", "-", "+", 1)', "a+b-c"),
        ('SUBSTITUTE("a-b-c", "-", "+", 2)', "a-b+c"),
        ('SUBSTITUTE("a-b-c", "-", "+", 2.9)', "a-b+c"),
        ('SUBSTITUTE("a-b-c", "-", "+", 3)', "a-b-c"),
        ('SUBSTITUTE("a-b-c", "-", "+", 0)', "a-b-c"),
        ('SUBSTITUTE("a-b-c", "-", "+", -1)', "a-b-c"),
        ('SUBSTITUTE("a-b-c", "-", "+", b)', "a-b-c"),
        ('SUBSTITUTE("aaaa", "aa", "x", 2)', "aax"),
        ('SUBSTITUTE("A-a", "a", "x", 1)', "A-x"),
        ('SUBSTITUTE("abc", "", "x", 1)', "abc"),
        ('SUBSTITUTE(b, "a", "x", 1)', ""),
        ('CONTAINS("iPhone Screen", "phone")', True),
        ('CONTAINS("iPhone", "android")', False),
        ("TEXT(1.50)", "1.5"),
        ("TEXT(500)", "500"),
        ("TEXT(-0.0)", "0"),
        ("TEXT(TRUE)", "TRUE"),
        ("TEXT(b)", ""),
        ('TEXT(0, "0.00")', "0.00"),
        ('TEXT(2.5, "0")', "3"),
        ('TEXT(-2.5, "0")', "-3"),
        ('TEXT(-0.004, "0.00")', "0.00"),
        ('TEXT(-0.005, "0.00")', "-0.01"),
        ('TEXT(1.0005, "0.000")', "1.001"),
        ('TEXT(7, "0.0")', "7.0"),
        ('TEXT(999.5, "#,##0")', "1,000"),
        ('TEXT(1234567.005, "#,##0.00")', "1,234,567.01"),
        ('TEXT(-1234567.005, "#,##0.00")', "-1,234,567.01"),
        ('TEXT(123, "#,##0")', "123"),
        ('TEXT(10^30, "#,##0")', "1,000,000,000,000,000,000,000,000,000,000"),
        ('TEXT(1/3, "0.00")', "0.33"),
        ('TEXT(0.155, "0.0%")', "15.5%"),
        ('TEXT(0.155, "0%")', "16%"),
        ('TEXT(15%, "0%")', "15%"),
        ('TEXT(-0.004, "0%")', "0%"),
        ('TEXT(15%, "0.00")', "0.15"),
        ('TEXT(b, "0.00")', ""),
        ('TEXT(DATE(2024, 2, 9), "YYYY-MM-DD")', "2024-02-09"),
        ('TEXT(DATE(2024, 2, 9), "DD.MM.YYYY")', "09.02.2024"),
        ('TEXT(DATE(2024, 2, 9), "DD/MM/YYYY")', "09/02/2024"),
        ('TEXT(DATE(2024, 2, 9), "MM/DD/YYYY")', "02/09/2024"),
        ('TEXT(DATE(2024, 2, 9), "DD.MM.YY")', "09.02.24"),
        ('TEXT(DATE(999, 3, 4), "YYYY-MM-DD")', "0999-03-04"),
        ('TEXT(DATE(5, 3, 4), "DD.MM.YY")', "04.03.05"),
        ('TEXT(NOW(), "DD.MM.YYYY HH:MM")', "31.01.2024 10:30"),
        ('TEXT(NOW(), "MM/DD/YYYY HH:MM:SS")', "01/31/2024 10:30:00"),
        ('TEXT(NOW(), "YYYY-MM-DD")', "2024-01-31"),
        ("ME()", 7),
        ("MY_BRANCH()", 3),
    ],
)
def test_function_values(text, expected):
    assert evaluate(text, context(n=5, b=None)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # beyond the 28 digits of Python's default context: nothing is divided or rounded
        ("MOD(100000000000000000000000000001, 3)", D(2)),
        ("MOD(-100000000000000000000000000001, 3)", D(1)),
        ("MOD(100000000000000000000000000001, -3)", D(-1)),
        ("MOD(10^40 + 1, 7)", D(10**40 % 7)),
        ("MOD(5, -3)", D(-1)),
        ("MOD(0.3, 0.1)", D(0)),
        ("MOD(7, 0)", None),
        ("FLOOR(1234567890123456789012345678.9, 1)", D("1234567890123456789012345678")),
        ("CEILING(1234567890123456789012345678.1, 1)", D("1234567890123456789012345679")),
        ("CEILING(-1234567890123456789012345678.9, 1)", D("-1234567890123456789012345678")),
        ("FLOOR(-1234567890123456789012345678.1)", D("-1234567890123456789012345679")),
        ("FLOOR(2.7, 0.5)", D("2.5")),
        ("FLOOR(-2.1, -0.5)", D("-2.5")),
        ("CEILING(-0.5)", D(0)),
        ("FLOOR(1, 0)", None),
        # more digits than a value has: it comes back as it is; digits beyond 40 count as 40
        ("ROUND(1.5, 40)", D("1.5")),
        ("ROUNDUP(1.5, 40)", D("1.5")),
        ("ROUNDDOWN(-1.5, 99)", D("-1.5")),
        ("ROUND(1234.5, -99)", D(0)),
        (
            "ROUNDUP(0.000000001 * 0.000000001 * 0.000000001 * 0.000000001 * 0.00001, 40)",
            D("1E-40"),
        ),
        ("ROUND(0.000000001 * 0.000000001 * 0.000000001 * 0.000000001 * 0.00001, 50)", D(0)),
    ],
)
def test_math_is_exact_at_any_length(text, expected):
    assert evaluate(text, context()) == expected


def test_negation_keeps_every_digit():
    assert evaluate("-1234567890123456789012345678.9", context()) == D(
        "-1234567890123456789012345678.9"
    )
    assert str(evaluate("-(1 - 1)", context())) == "0"


def test_text_formats_money_by_its_amount():
    record = context(price=Money(D("1234.5"), "EUR"))
    assert evaluate('TEXT(price, "#,##0.00")', record) == "1,234.50"
    assert evaluate('TEXT(-price, "0")', record) == "-1235"


def test_text_date_formats_see_the_installation_time_zone():
    # 19:00 UTC is 00:30 the next day in Kolkata (UTC+5:30)
    moment = datetime(2024, 2, 29, 19, 0, 5, tzinfo=UTC)
    record = RecordContext({"created": moment}, now=moment, tz=ZoneInfo("Asia/Kolkata"))
    assert evaluate('TEXT(created, "DD.MM.YYYY HH:MM:SS")', record) == "01.03.2024 00:30:05"
    assert evaluate('TEXT(created, "YYYY-MM-DD")', record) == "2024-03-01"
    assert evaluate('TEXT(TODAY(), "DD/MM/YYYY")', record) == "01/03/2024"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('TEXT(1, "0,00")', "Unknown TEXT format"),
        ('TEXT("a", "0.00")', "needs a number"),
        ('TEXT(DATE(2024, 1, 1), "DD.MM.YYYY HH:MM")', "needs a datetime"),
    ],
)
def test_text_formats_refused_when_evaluated_unchecked(text, message):
    # the checker refuses these at definition time; the evaluator still does not guess
    with pytest.raises(FormulaError, match=message):
        evaluate(text, context())


def test_money_through_number_functions():
    record = context(price=Money(D("10.555"), "EUR"))

    assert evaluate("ROUND(price, 2)", record) == Money(D("10.56"), "EUR")
    assert evaluate("ABS(-price)", record) == Money(D("10.555"), "EUR")
    assert evaluate("FLOOR(price, 5)", record) == Money(D(10), "EUR")
    assert evaluate("MAX(price, 20)", record) == D(20)


def test_text_of_dates_and_money():
    record = context(price=Money(D("2.50"), "EUR"))
    assert evaluate("TEXT(price)", record) == "2.50 EUR"
    assert evaluate("TEXT(DATE(2024, 2, 9))", record) == "2024-02-09"
    assert evaluate("TEXT(NOW())", record) == "2024-01-31 10:30:00"
    assert evaluate("TEXT(price * 1.001)", record) == "2.50 EUR"  # the currency's decimals
    assert evaluate("TEXT(labour)", context(labour=timedelta(days=1, minutes=5))) == "24:05:00"
    assert evaluate("TEXT(-labour)", context(labour=timedelta(microseconds=1))) == "-0:00:01"


def test_datetimes_are_seen_in_the_installation_time_zone():
    # 23:30 UTC on 31 January is already 1 February in Moscow (UTC+3)
    moment = datetime(2024, 1, 31, 23, 30, tzinfo=UTC)
    record = RecordContext({"created": moment}, now=moment, tz=ZoneInfo("Europe/Moscow"))
    assert evaluate("TEXT(created)", record) == "2024-02-01 02:30:00"
    assert evaluate("DAY(created)", record) == D(1)
    assert evaluate("MONTH(created)", record) == D(2)
    assert evaluate("TODAY()", record) == date(2024, 2, 1)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ABS(title)", "a number or money"),
        ('ROUND(1, "x")', "a number"),
        ("SQRT(price)", "a number"),
        ("LEFT(title, title)", "a number"),
        ("AND(1, TRUE)", "condition"),
        ('SWITCH(qty, "a", 1)', "like the other"),
        ("YEAR(qty)", "a date"),
        ("SUM(title)", "a number or money"),
        ("MIN(paid)", "a number, money, text or date"),
    ],
)
def test_function_argument_type_errors(schema, text, message):
    with pytest.raises(FormulaTypeError, match=message):
        check(text, schema)


def test_only_functions_of_the_moment_or_the_asker_are_volatile():
    volatile = {name for name, function in REGISTRY.items() if function.volatile}
    assert volatile == {"TODAY", "NOW", "ME", "MY_BRANCH"}


def test_every_registry_entry_is_complete():
    # the SQL compiler fills `sql` later; everything else is there for every function
    for name, function in REGISTRY.items():
        assert name == function.name == name.upper()
        assert callable(function.type_rule)
        assert callable(function.python)
        assert function.max_args is None or function.max_args >= function.min_args
        assert function.sql is None
