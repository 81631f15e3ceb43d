"""Errors of formula definitions (computed fields, default formulas, validation rules)."""

from __future__ import annotations

from typing import Any


class FormulaDefinitionError(Exception):
    """A definition that does not fit: ``errors`` by key as the schema API reports them
    (``options.expression``, ``validation_rules[2].condition``), ``formula`` the position
    of the first formula problem (`FormulaError.as_dict`)."""

    def __init__(self, errors: dict[str, list[str]], formula: dict[str, Any] | None = None) -> None:
        super().__init__(next(iter(errors.values()))[0])
        self.errors = errors
        self.formula = formula
