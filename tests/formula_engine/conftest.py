"""Fixtures for formula tests."""

from __future__ import annotations

import pytest

from tests.formula_engine.helpers import ORDER_FIELDS, DictSchemaView


@pytest.fixture
def schema():
    return DictSchemaView(ORDER_FIELDS)
