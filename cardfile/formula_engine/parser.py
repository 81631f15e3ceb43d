"""Text to syntax tree: lark LALR with an inline transformer, so no step recurses on the input."""

from __future__ import annotations

from decimal import Decimal
from importlib.resources import files

from django.utils.translation import gettext as _
from lark import Lark, Token, Transformer, UnexpectedCharacters, UnexpectedInput
from lark.exceptions import UnexpectedEOF, VisitError

from cardfile.formula_engine import ast
from cardfile.formula_engine.errors import FormulaError, FormulaSyntaxError

MAX_LENGTH = 10_000
MAX_DEPTH = 100

_READABLE = {
    "NUMBER": "a number",
    "STRING": 'a text in "double quotes"',
    "NAME": "a field or function name",
    "TRUE": "TRUE",
    "FALSE": "FALSE",
    "AND": "AND",
    "OR": "OR",
    "NOT": "NOT",
    "COMPARE": "a comparison",
    "ADD": "+ or -",
    "MUL": "* or /",
    "CARET": "^",
    "PERCENT": "%",
    "AMP": "&",
    "LPAR": "(",
    "RPAR": ")",
    "COMMA": ",",
    "DOT": ".",
    "$END": "end of formula",
}


def _span(first: Token | ast.Expression, last: Token | ast.Expression) -> ast.Span:
    if isinstance(first, Token):
        start, line, column = first.start_pos, first.line, first.column
    else:
        start, line, column = first.span.start, first.span.line, first.span.column
    end = last.end_pos if isinstance(last, Token) else last.span.end
    return ast.Span(start, end, line, column)


def _depth(span: ast.Span, *subtrees: ast.Expression) -> int:
    depth = 1 + max((node.depth for node in subtrees), default=0)
    if depth > MAX_DEPTH:
        raise FormulaSyntaxError(
            _("The formula is nested too deeply (more than {limit} levels).").format(
                limit=MAX_DEPTH
            ),
            span=span,
            expected=[_("a flatter formula")],
        )
    return depth


class _Builder(Transformer):
    """Builds AST nodes bottom-up while lark parses (called once per reduction)."""

    def number(self, children):
        (token,) = children
        return ast.NumberLiteral(_span(token, token), Decimal(str(token)))

    def string(self, children):
        (token,) = children
        return ast.TextLiteral(_span(token, token), str(token)[1:-1].replace('""', '"'))

    def boolean(self, children):
        (token,) = children
        return ast.BooleanLiteral(_span(token, token), token.type == "TRUE")

    def path(self, children):
        names = tuple(str(token) for token in children if token.type == "NAME")
        return ast.FieldRef(_span(children[0], children[-1]), names)

    def args(self, children):
        return [child for child in children if not isinstance(child, Token)]

    def call(self, children):
        name, _lpar, args, rpar = children
        args = tuple(args or ())
        span = _span(name, rpar)
        return ast.Call(span, str(name).upper(), args, depth=_depth(span, *args))

    def paren(self, children):
        return children[1]

    def unary(self, children):
        op, operand = children
        span = _span(op, operand)
        symbol = "NOT" if op.type == "NOT" else str(op)
        return ast.Unary(span, symbol, operand, depth=_depth(span, operand))

    def percent(self, children):
        operand, sign = children
        span = _span(operand, sign)
        return ast.Percent(span, operand, depth=_depth(span, operand))

    def binary(self, children):
        left, op, right = children
        span = _span(left, right)
        symbol = str(op).upper()
        return ast.Binary(span, symbol, left, right, depth=_depth(span, left, right))


_PARSER = Lark(
    files("cardfile.formula_engine").joinpath("grammar.lark").read_text(encoding="utf-8"),
    parser="lalr",
    transformer=_Builder(),
)


def _check_size(text: str) -> None:
    if len(text) > MAX_LENGTH:
        raise FormulaSyntaxError(
            _("The formula is too long ({length} characters; at most {limit}).").format(
                length=len(text), limit=MAX_LENGTH
            ),
            span=ast.Span(MAX_LENGTH, len(text), 1, 1),
            expected=[_("a shorter formula")],
            source=text,
        )
    depth, in_string = 0, False
    line, line_start = 1, 0
    for offset, char in enumerate(text):
        if char == '"':
            in_string = not in_string  # "" inside a string toggles twice: still correct
        elif char == "\n":
            line, line_start = line + 1, offset + 1
        elif not in_string and char == "(":
            depth += 1
            if depth > MAX_DEPTH:
                raise FormulaSyntaxError(
                    _("The formula is nested too deeply (more than {limit} levels).").format(
                        limit=MAX_DEPTH
                    ),
                    span=ast.Span(offset, offset + 1, line, offset - line_start + 1),
                    expected=[_("a flatter formula")],
                    source=text,
                )
        elif not in_string and char == ")":
            depth -= 1


def _syntax_error(text: str, error: UnexpectedInput) -> FormulaSyntaxError:
    offset = getattr(error, "pos_in_stream", None)
    token = getattr(error, "token", None)
    at_end = token is not None and token.type == "$END"
    if isinstance(error, UnexpectedEOF) or offset is None or at_end:
        offset = len(text)
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    if isinstance(error, UnexpectedCharacters):
        found = text[offset : offset + 1]
        allowed = error.allowed or ()
    else:
        found = "" if token is None or at_end else str(token)
        allowed = getattr(error, "expected", None) or getattr(error, "accepts", None) or ()
    expected = sorted({_READABLE.get(name, name) for name in allowed if not name.startswith("_")})
    if found:
        message = _("Unexpected {found!r} at line {line}, column {column}.")
    else:
        message = _("The formula ends too early (line {line}, column {column}).")
    return FormulaSyntaxError(
        message.format(found=found, line=line, column=column),
        span=ast.Span(offset, offset + max(1, len(found)), line, column),
        expected=expected,
        source=text,
    )


def parse(text: str) -> ast.Expression:
    """Parse formula text into a syntax tree, or raise `FormulaSyntaxError` with a position."""
    if not isinstance(text, str):
        raise FormulaSyntaxError(_("A formula must be text."))
    _check_size(text)
    if not text.strip():
        raise FormulaSyntaxError(
            _("The formula is empty."),
            span=ast.Span(0, max(1, len(text)), 1, 1),
            expected=[_("an expression")],
            source=text,
        )
    try:
        return _PARSER.parse(text)
    except UnexpectedInput as error:
        raise _syntax_error(text, error) from None
    except VisitError as error:
        if isinstance(error.orig_exc, FormulaError):
            raise error.orig_exc.with_source(text) from None
        raise
    except FormulaError as error:
        raise error.with_source(text) from None
