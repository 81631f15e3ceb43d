"""Hostile input: arbitrary text, deep nesting and very long formulas fail only as FormulaError."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cardfile.formula_engine import (
    MAX_DEPTH,
    MAX_LENGTH,
    FormulaError,
    FormulaSyntaxError,
    check,
    evaluate,
    parse,
)
from tests.formula_engine.helpers import ORDER_FIELDS, DictSchemaView, context

pytestmark = pytest.mark.embedded

SCHEMA = DictSchemaView(ORDER_FIELDS)
RECORD = context(qty=2, title="x", paid=True, b=None)

_TOKENS = st.sampled_from(
    [
        "1",
        "2.5",
        '"a"',
        "qty",
        "title",
        "paid",
        "b",
        "TRUE",
        "(",
        ")",
        ",",
        "+",
        "-",
        "*",
        "/",
        "^",
        "%",
        "&",
        "=",
        "<>",
        "<",
        "AND",
        "OR",
        "NOT",
        "IF(",
        "SUM(",
        "ROUND(",
        "LEN(",
        "DATEADD(",
        "MAX(",
        " ",
    ]
)


def _attempt(text: str) -> None:
    try:
        checked = check(text, SCHEMA)
    except FormulaError:
        checked = None
    with contextlib.suppress(FormulaError):
        evaluate(checked or text, RECORD)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text())
def test_arbitrary_text_raises_only_formula_errors(text):
    _attempt(text)


@settings(max_examples=300, deadline=None)
@given(st.lists(_TOKENS, max_size=30).map("".join))
def test_token_soup_raises_only_formula_errors(text):
    _attempt(text)


@settings(max_examples=30, deadline=None)
@given(
    depth=st.integers(min_value=MAX_DEPTH + 1, max_value=3000),
    shape=st.sampled_from(["(", "-", "NOT ", "ABS(", "1+", "2^", "IF(TRUE,"]),
)
def test_deep_nesting_is_refused_cleanly(depth, shape):
    closing = ")" * depth if shape.endswith("(") or shape.endswith(",") else ""
    text = shape * depth + "1" + closing

    with pytest.raises(FormulaSyntaxError) as raised:
        parse(text)
    assert "too" in raised.value.message
    assert raised.value.caret()


def test_nesting_at_the_limit_is_accepted():
    text = "(" * MAX_DEPTH + "1" + ")" * MAX_DEPTH
    assert evaluate(text, RECORD) == 1


@settings(max_examples=10, deadline=None)
@given(st.integers(min_value=MAX_LENGTH + 1, max_value=200_000))
def test_long_input_is_refused_cleanly(length):
    text = ("1+" * length)[:length]

    with pytest.raises(FormulaSyntaxError, match="too long") as raised:
        parse(text)
    assert raised.value.expected


def test_long_flat_sum_within_limit_is_refused_by_depth_not_recursion():
    # a 4,000-term sum is a left-leaning tree 4,000 deep: refused as too deep, no RecursionError
    with pytest.raises(FormulaSyntaxError, match="nested too deeply"):
        parse("+".join(["1"] * 4000))


@pytest.mark.parametrize(
    "text",
    [
        'DATEADD(TODAY(), 99999999999, "days")',
        'DATEADD(TODAY(), 99999999999, "months")',
        "TODAY() + 99999999999",
        "YEAR(TODAY() - 9999999)",
    ],
)
def test_out_of_range_dates_are_formula_errors(text):
    with pytest.raises(FormulaError, match="out of range") as raised:
        evaluate(text, RECORD)
    assert raised.value.code == "formula_value"
    assert raised.value.caret()


@pytest.mark.parametrize("text", ["DATE(10^30, 1, 1)", "DATE(2024, 13, 1)", "POWER(10, 10^9)"])
def test_impossible_numbers_are_blank(text):
    assert evaluate(text, RECORD) is None
