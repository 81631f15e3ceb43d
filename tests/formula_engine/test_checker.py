"""Type inference, type errors with positions and carets, did-you-mean, dependencies."""

from __future__ import annotations

import pytest

from cardfile.formula_engine import (
    FormulaNameError,
    FormulaTypeError,
    Kind,
    check,
)
from cardfile.formula_engine import types as t

pytestmark = pytest.mark.embedded


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 2", t.INTEGER),
        ("1 + 2.5", t.DECIMAL),
        ("qty / 2", t.DECIMAL),
        ("10% + rate", t.PERCENT),
        ("price * qty", t.money("EUR")),
        ("price + 5", t.money("EUR")),
        ("price * (1 - client.discount)", t.money("EUR")),
        ("price / price", t.DECIMAL),
        ("fee + price", t.money("EUR")),
        ('title & " " & qty', t.TEXT),
        ("qty > 2 AND paid", t.BOOLEAN),
        ('status = "done"', t.BOOLEAN),
        ("received + 7", t.DATE),
        ("received - received", t.INTEGER),
        ("created - created", t.DURATION),
        ("created + labour", t.DATETIME),
        ("labour * 2", t.DURATION),
        ("IF(paid, price, 0)", t.money("EUR")),
        ("IF(paid, price)", t.money("EUR")),
        ("IF(paid, title, status)", t.TEXT),
        ("COALESCE(BLANK(), weight, 1)", t.DECIMAL),
        ("SUM(lines.amount)", t.money("EUR")),
        ("SUM(lines.qty)", t.INTEGER),
        ("COUNT(lines.kind)", t.INTEGER),
        ("AVG(lines.qty)", t.DECIMAL),
        ('SUMIF(lines.amount, lines.kind = "part")', t.money("EUR")),
        ("MAX(lines.amount * 2)", t.money("EUR")),
        ("MIN(received, TODAY())", t.DATE),
        ("ME()", t.USER),
        ("MY_BRANCH() = branch", t.BOOLEAN),
        ("MY_BRANCH()", t.link("branch")),
        ("ROUND(price, 2)", t.money("EUR")),
        ('DATEADD(received, 1, "months")', t.DATE),
        ("-labour", t.DURATION),
        ("BLANK()", t.BLANK),
    ],
)
def test_inferred_types(schema, text, expected):
    assert check(text, schema).type == expected


def test_dependencies_are_the_field_paths_read(schema):
    checked = check("IF(paid, price * (1 - client.discount), SUM(lines.amount)) & title", schema)

    assert checked.dependencies == {
        ("paid",),
        ("price",),
        ("client", "discount"),
        ("lines", "amount"),
        ("title",),
    }


@pytest.mark.parametrize(
    ("text", "offset", "message"),
    [
        ("price + deposit", 8, "EUR and USD"),
        ("price * price", 8, "money"),
        ("1 / price", 4, "money"),
        ('qty + "a"', 6, "text"),
        ("IF(qty, 1, 2)", 3, "condition"),
        ("IF(paid, 1, title)", 12, "like the other"),
        ("paid AND 1", 9, "condition"),
        ("NOT title", 4, "condition"),
        ("-title", 1, "number"),
        ("received + created", 11, "Cannot apply"),
        ('ROUND("x")', 6, "number"),
        ('DATEADD(received, 1, "fortnights")', 21, "Unknown unit"),
        ('TEXT(qty, "0.00" & "")', 10, "text in quotes"),
        ("TEXT(qty, title)", 10, "text in quotes"),
        ('TEXT(qty, "0,00")', 10, "Unknown TEXT format"),
        ('TEXT(title, "0.00")', 5, "a number or money"),
        ('TEXT(price, "0%")', 5, "a number"),
        ('TEXT(qty, "DD.MM.YYYY")', 5, "a date"),
        ('TEXT(received, "DD.MM.YYYY HH:MM")', 5, "a datetime"),
        ("lines.amount", 0, "one value per row"),
        ("SUMIF(lines.amount, paid)", 20, "rows being added up"),
        ("IFS(paid, 1, paid)", 13, "pairs"),
        ("title < 3", 8, "Cannot compare text with integer"),
    ],
)
def test_type_errors_point_at_the_problem(schema, text, offset, message):
    with pytest.raises(FormulaTypeError, match=message) as raised:
        check(text, schema)

    error = raised.value
    assert error.code == "formula_type"
    assert error.position.start == offset
    assert error.expected
    line, carets = error.caret().splitlines()
    assert line == text
    assert carets.index("^") == offset


def test_caret_underlines_the_whole_operand(schema):
    with pytest.raises(FormulaTypeError) as raised:
        check("price + deposit", schema)

    assert raised.value.caret() == "price + deposit\n        ^^^^^^^"


def test_wrong_argument_count(schema):
    with pytest.raises(FormulaTypeError, match="LEFT takes 1-2 arguments, got 3") as raised:
        check('LEFT("a", 1, 2)', schema)
    assert raised.value.expected == ("1-2 arguments",)


@pytest.mark.parametrize(
    ("text", "suggestion"),
    [("titel", "title"), ("client.discont", "discount"), ("clinet.discount", "client")],
)
def test_unknown_field_did_you_mean(schema, text, suggestion):
    with pytest.raises(FormulaNameError) as raised:
        check(f"1 + {text}", schema)

    error = raised.value
    assert error.code == "formula_name"
    assert suggestion in error.suggestions
    assert f"Did you mean {suggestion}" in error.message
    assert error.position.start == 4


def test_unknown_function_did_you_mean(schema):
    with pytest.raises(FormulaNameError, match="Did you mean ROUND") as raised:
        check("RUOND(qty)", schema)
    assert raised.value.suggestions[0] == "ROUND"
    assert raised.value.caret() == "RUOND(qty)\n^^^^^^^^^^"


def test_unknown_name_without_close_match_lists_what_exists(schema):
    with pytest.raises(FormulaNameError) as raised:
        check("zzzzzz", schema)
    assert raised.value.suggestions == ()
    assert "client" in raised.value.expected


def test_kind_values_are_stable():
    assert Kind.MONEY.value == "money"
    assert str(t.money("EUR")) == "money (EUR)"


def test_an_unknown_text_format_lists_the_accepted_ones(schema):
    with pytest.raises(FormulaTypeError) as raised:
        check('TEXT(qty, "yyyy-mm-dd")', schema)

    error = raised.value
    assert '"#,##0.00"' in error.expected
    assert '"DD.MM.YYYY HH:MM:SS"' in error.expected
    assert '"0.0%"' in error.message


@pytest.mark.parametrize(
    "text",
    [
        'TEXT(price, "#,##0.00")',
        'TEXT(rate, "0.0%")',
        'TEXT(qty / 3, "0.000")',
        'TEXT(created, "MM/DD/YYYY HH:MM:SS")',
        'TEXT(received, "DD.MM.YY")',
        'TEXT(BLANK(), "0%")',
        'SUBSTITUTE(title, "a", "b", qty)',
    ],
)
def test_text_formats_and_substitute_instances_check(schema, text):
    assert check(text, schema).type == t.TEXT


@pytest.mark.parametrize(
    ("text", "volatile"),
    [
        ("TODAY()", True),
        ("YEAR(NOW()) + qty", True),
        ("IF(assignee = ME(), 1, 0)", True),
        ("branch = MY_BRANCH()", True),
        ("qty * 2", False),
        ('DATEADD(received, 1, "days")', False),
    ],
)
def test_formulas_calling_today_now_me_or_my_branch_are_volatile(schema, text, volatile):
    assert check(text, schema).volatile is volatile
