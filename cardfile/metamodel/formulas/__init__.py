"""Formulas over the metamodel: the schema as formulas see it, and formulas over records."""

from .schema_view import EntitySchemaView, RowScope, field_formula_type
from .selectors import (
    check_condition,
    formula_check,
    formula_expression,
    formula_filter,
    formula_value_json,
    formula_values_python,
    formula_values_sql,
    record_context,
)

__all__ = [
    "EntitySchemaView",
    "RowScope",
    "check_condition",
    "field_formula_type",
    "formula_check",
    "formula_expression",
    "formula_filter",
    "formula_value_json",
    "formula_values_python",
    "formula_values_sql",
    "record_context",
]
