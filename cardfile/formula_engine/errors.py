"""The formula error tree: every error has a code, a message, a position and what was expected."""

from __future__ import annotations

from collections.abc import Iterable

from cardfile.core.exceptions import CardfileError
from cardfile.formula_engine.ast import Span

_CONTEXT_CHARS = 40


class FormulaError(CardfileError):
    """Root of formula errors. ``caret()`` shows the source line with a caret under the problem."""

    code = "formula_error"

    def __init__(
        self,
        message: str,
        *,
        span: Span | None = None,
        expected: Iterable[str] = (),
        source: str | None = None,
        suggestions: Iterable[str] = (),
    ) -> None:
        super().__init__(message)
        self.span = span
        self.expected = tuple(expected)
        self.source = source
        self.suggestions = tuple(suggestions)

    @property
    def position(self) -> Span | None:
        return self.span

    def with_source(self, source: str) -> FormulaError:
        """Attach the formula text (errors raised deep in the checker do not know it)."""
        if self.source is None:
            self.source = source
        return self

    def caret(self) -> str:
        """The offending source line (trimmed around the problem) and a caret line under it."""
        if self.source is None or self.span is None:
            return ""
        start = min(self.span.start, len(self.source))
        line_start = self.source.rfind("\n", 0, start) + 1
        line_end = self.source.find("\n", start)
        if line_end == -1:
            line_end = len(self.source)
        lo = max(line_start, start - _CONTEXT_CHARS)
        hi = min(line_end, start + _CONTEXT_CHARS)
        text = self.source[lo:hi]
        width = max(1, min(self.span.end, hi) - start)
        return f"{text}\n{' ' * (start - lo)}{'^' * width}"

    @property
    def context(self) -> str:
        return self.caret()

    def as_dict(self) -> dict[str, object]:
        """The error for an API client: where, what was expected, and the caret picture."""
        span = self.span
        return {
            "code": self.code,
            "message": self.message,
            "position": None
            if span is None
            else {"start": span.start, "end": span.end, "line": span.line, "column": span.column},
            "caret": self.caret(),
            "expected": list(self.expected),
            "suggestions": list(self.suggestions),
        }


class FormulaSyntaxError(FormulaError):
    code = "formula_syntax"


class FormulaTypeError(FormulaError):
    code = "formula_type"


class FormulaNameError(FormulaError):
    code = "formula_name"


class FormulaValueError(FormulaError):
    """A value a function cannot work with, found only at evaluation (e.g. a bad unit text)."""

    code = "formula_value"
