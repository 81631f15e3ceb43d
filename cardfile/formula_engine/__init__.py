"""The formula engine: grammar, parser, type checker and Python evaluator.

Public API: `parse` (text to syntax tree), `check` (type-check against a `SchemaView`) and
`evaluate` (value for one record). Semantics (blank, rounding, money) are written down in
`cardfile.formula_engine.semantics`; percent: ``15%`` is 0.15; strings are double-quoted with
``""`` for a literal quote.
"""

from cardfile.formula_engine.checker import CheckedFormula, check
from cardfile.formula_engine.errors import (
    FormulaError,
    FormulaNameError,
    FormulaSyntaxError,
    FormulaTypeError,
    FormulaValueError,
)
from cardfile.formula_engine.evaluator import RecordContext, evaluate
from cardfile.formula_engine.parser import MAX_DEPTH, MAX_LENGTH, parse
from cardfile.formula_engine.semantics import Money
from cardfile.formula_engine.types import FieldInfo, FormulaType, Kind, SchemaView

__all__ = [
    "MAX_DEPTH",
    "MAX_LENGTH",
    "CheckedFormula",
    "FieldInfo",
    "FormulaError",
    "FormulaNameError",
    "FormulaSyntaxError",
    "FormulaType",
    "FormulaTypeError",
    "FormulaValueError",
    "Kind",
    "Money",
    "RecordContext",
    "SchemaView",
    "check",
    "evaluate",
    "parse",
]
