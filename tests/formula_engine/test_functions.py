"""Logic, math, text and context functions: normal, blank and error cases."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from cardfile.formula_engine import FormulaTypeError, Money, RecordContext, check, evaluate
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
        ('CONTAINS("iPhone Screen", "phone")', True),
        ('CONTAINS("iPhone", "android")', False),
        ("TEXT(1.50)", "1.5"),
        ("TEXT(500)", "500"),
        ("TEXT(-0.0)", "0"),
        ("TEXT(TRUE)", "TRUE"),
        ("TEXT(b)", ""),
        ("ME()", 7),
        ("MY_BRANCH()", 3),
    ],
)
def test_function_values(text, expected):
    assert evaluate(text, context(n=5, b=None)) == expected


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


def test_every_registry_entry_is_complete():
    # the SQL compiler fills `sql` later; everything else is there for every function
    for name, function in REGISTRY.items():
        assert name == function.name == name.upper()
        assert callable(function.type_rule)
        assert callable(function.python)
        assert function.max_args is None or function.max_args >= function.min_args
        assert function.sql is None
