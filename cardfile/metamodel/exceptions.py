"""The metamodel's error tree (rooted in `cardfile.core.exceptions.CardfileError`)."""

from cardfile.core.exceptions import CardfileError, NotFound
from cardfile.metamodel.fields.base import FieldOptionsError, FieldValueError
from cardfile.metamodel.schema.services import SchemaValidationError
from cardfile.metamodel.schema.sync import SchemaChangeError

__all__ = [
    "CardfileError",
    "FieldOptionsError",
    "FieldValueError",
    "NotFound",
    "SchemaChangeError",
    "SchemaValidationError",
]
