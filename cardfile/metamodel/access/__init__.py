"""Permissions, enforced in one place: roles' rights on entities, fields and rows.

`access_for(user)` works out what a user may do (`rights`); the record selectors and services,
the schema API and every other surface ask it through the checks in `enforce`, so there is no
second path to leak through. Roles and their rights are written by `services`.
"""

from .enforce import (
    formula_read_refusals,
    read_refusal,
    require,
    write_refusal,
)
from .rights import (
    FIELD_RULES,
    HIDDEN,
    OPERATIONS,
    READ_ONLY,
    Access,
    EntityAccess,
    access_for,
    access_memo,
)

__all__ = [
    "FIELD_RULES",
    "HIDDEN",
    "OPERATIONS",
    "READ_ONLY",
    "Access",
    "EntityAccess",
    "access_for",
    "access_memo",
    "formula_read_refusals",
    "read_refusal",
    "require",
    "write_refusal",
]
