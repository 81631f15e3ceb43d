"""Records of user-defined entities: the record service (writes) and selectors (reads).

Writes: `record_create`, `record_update`, `record_delete`, `record_restore`,
`record_bulk_create` (in `services`); reads: `record_queryset`, `record_get`, `record_history`,
`duplicate_values`, and `record_to_dict` (in `selectors`).
"""

from .exceptions import (
    RecordConflict,
    RecordError,
    RecordProtected,
    RecordValidationError,
    RecordWriteRefused,
)
from .selectors import (
    duplicate_values,
    record_get,
    record_history,
    record_queryset,
    record_to_dict,
)
from .services import (
    record_bulk_create,
    record_create,
    record_delete,
    record_restore,
    record_update,
)

__all__ = [
    "RecordConflict",
    "RecordError",
    "RecordProtected",
    "RecordValidationError",
    "RecordWriteRefused",
    "duplicate_values",
    "record_bulk_create",
    "record_create",
    "record_delete",
    "record_get",
    "record_history",
    "record_queryset",
    "record_restore",
    "record_to_dict",
    "record_update",
]
