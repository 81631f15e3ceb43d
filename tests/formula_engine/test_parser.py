"""Grammar, precedence, literals and source positions."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cardfile.formula_engine import FormulaSyntaxError, evaluate, parse
from cardfile.formula_engine import ast as a
from tests.formula_engine.helpers import context

pytestmark = pytest.mark.embedded


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 2 * 3", Decimal(7)),
        ("(1 + 2) * 3", Decimal(9)),
        ("10 - 4 - 3", Decimal(3)),
        ("12 / 3 / 2", Decimal(2)),
        ("2 ^ 3 ^ 2", Decimal(512)),  # right-associative
        ("-2 ^ 2", Decimal(-4)),  # ^ binds tighter than unary minus
        ("2 ^ -1", Decimal("0.5")),
        ("200 * 15%", Decimal(30)),
        ("50%%", Decimal("0.005")),
        ('"a" & 1 + 2', "a3"),
        ("1 + 2 = 3", True),
        ("1 < 2 AND 2 < 1 OR TRUE", True),
        ("NOT 1 = 2", True),
        ("NOT(FALSE)", True),
        ("not true or true", True),
        ("TRUE AND NOT FALSE", True),
        ("and(TRUE, false)", False),
        ("Or(FALSE, TRUE)", True),
        ("--3", Decimal(3)),
        ("+3", Decimal(3)),
        ('"say ""hi"""', 'say "hi"'),
        ("1 <> 2", True),
        ("2 >= 2", True),
        ("2 <= 1", False),
        ("2 > 1", True),
    ],
)
def test_precedence_and_literals(text, expected):
    assert evaluate(text, context()) == expected


def test_positions_on_every_node():
    tree = parse("IF(client.discount > 10%,\n  price, 0)")

    assert isinstance(tree, a.Call)
    assert (tree.span.start, tree.span.end, tree.span.line, tree.span.column) == (0, 37, 1, 1)
    comparison, price, zero = tree.args
    assert comparison.op == ">"
    assert comparison.left == a.FieldRef(a.Span(3, 18, 1, 4), ("client", "discount"))
    assert isinstance(comparison.right, a.Percent)
    assert comparison.right.span == a.Span(21, 24, 1, 22)
    assert price.span == a.Span(28, 33, 2, 3)
    assert zero.span.line == 2


def test_function_names_and_keywords_are_case_insensitive():
    assert parse("if(true, 1, 2)") == parse("IF(TRUE, 1, 2)")
    assert parse("a AnD b").op == "AND"


def test_keywords_do_not_swallow_longer_names():
    tree = parse("android + order_total + nothing + truecost")
    refs = [ref.path for ref in a.field_refs(tree)]
    assert sorted(refs) == [("android",), ("nothing",), ("order_total",), ("truecost",)]


def test_call_without_arguments():
    assert parse("TODAY()") == a.Call(a.Span(0, 7, 1, 1), "TODAY", ())


@pytest.mark.parametrize(
    ("text", "offset", "expected"),
    [
        ("1 +", 3, "a number"),
        ("(1", 2, ")"),
        ("a b", 2, "+ or -"),
        ("IF(1,, 2)", 5, "a number"),
        ('"open', 0, 'a text in "double quotes"'),
        ("1 # 2", 2, "+ or -"),
    ],
)
def test_syntax_errors_have_position_and_expected(text, offset, expected):
    with pytest.raises(FormulaSyntaxError) as raised:
        parse(text)

    error = raised.value
    assert error.code == "formula_syntax"
    assert error.position.start == offset
    assert expected in error.expected or not error.expected
    assert error.caret().splitlines()[1].index("^") == offset


def test_syntax_error_caret_text():
    with pytest.raises(FormulaSyntaxError) as raised:
        parse("price *\n  * 2")

    assert raised.value.position.line == 2
    assert raised.value.caret() == "  * 2\n  ^"
    assert raised.value.context == raised.value.caret()


def test_empty_formula_is_refused():
    with pytest.raises(FormulaSyntaxError, match="empty"):
        parse("   ")


def test_caret_on_a_long_line_shows_the_neighbourhood():
    text = "1 + " * 30 + "# + 1"
    with pytest.raises(FormulaSyntaxError) as raised:
        parse(text)

    line, carets = raised.value.caret().splitlines()
    assert len(line) <= 80
    assert line[carets.index("^")] == "#"


def test_errors_belong_to_the_cardfile_error_tree():
    from cardfile.core.exceptions import CardfileError
    from cardfile.formula_engine import FormulaError

    with pytest.raises(CardfileError) as raised:
        parse(")")
    assert isinstance(raised.value, FormulaError)
    assert raised.value.code == "formula_syntax"
    assert str(raised.value) == raised.value.message


def test_grammar_ships_inside_the_package():
    from importlib.resources import files

    assert files("cardfile.formula_engine").joinpath("grammar.lark").is_file()
