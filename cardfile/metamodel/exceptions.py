"""The metamodel's error tree (rooted in `cardfile.core.exceptions.CardfileError`)."""

from cardfile.core.exceptions import CardfileError, NotFound
from cardfile.metamodel.fields.base import FieldOptionsError, FieldValueError
from cardfile.metamodel.records.exceptions import (
    RecordConflict,
    RecordProtected,
    RecordValidationError,
    RecordWriteRefused,
)
from cardfile.metamodel.schema.services import SchemaValidationError
from cardfile.metamodel.schema.sync import SchemaChangeError

__all__ = [
    "CardfileError",
    "FieldOptionsError",
    "FieldValueError",
    "NotFound",
    "RecordConflict",
    "RecordProtected",
    "RecordValidationError",
    "RecordWriteRefused",
    "SchemaChangeError",
    "SchemaValidationError",
]
