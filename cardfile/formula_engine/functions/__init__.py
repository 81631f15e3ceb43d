"""Formula functions: one registry, filled by the group modules imported here."""

from cardfile.formula_engine.functions import aggregates, context, dates, logic, math, text
from cardfile.formula_engine.functions.registry import REGISTRY, Arg, FormulaFunction

__all__ = [
    "REGISTRY",
    "Arg",
    "FormulaFunction",
    "aggregates",
    "context",
    "dates",
    "logic",
    "math",
    "text",
]
