"""Field types: one small class each, in one registry (see `base.FieldType`)."""

from . import autonumber, computed, files, number, relations, simple, status, text  # noqa: F401
from .base import (
    FieldOptionsError,
    FieldType,
    FieldValueError,
    field_type_names,
    get_field_type,
    register,
)

__all__ = [
    "FieldOptionsError",
    "FieldType",
    "FieldValueError",
    "field_type_names",
    "get_field_type",
    "register",
]
