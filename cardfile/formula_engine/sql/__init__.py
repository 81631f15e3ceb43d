"""The SQL back end of the formula engine: `compile_formula` turns a checked formula into one
Django expression over the columns a `Scope` gives, on PostgreSQL and on SQLite."""

from cardfile.formula_engine.sql.compiler import compile_formula
from cardfile.formula_engine.sql.scope import CompileContext, Scope

__all__ = ["CompileContext", "Scope", "compile_formula"]
