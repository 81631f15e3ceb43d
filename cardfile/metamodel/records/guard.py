"""The record service's side of permissions: may this user touch this row for this operation.

A row outside the user's read rules answers exactly like a missing row (`NotFound`), so its
existence is not told; a row they may read but not change or delete is a `PermissionDenied`.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from cardfile.core.exceptions import NotFound, PermissionDenied
from cardfile.metamodel.access import Access, access_for, require
from cardfile.metamodel.access.enforce import operation_name
from cardfile.metamodel.schema.dynamic import EntitySchema


def writer_access(user: Any, operation: str, schema: EntitySchema) -> Access:
    """The user's `Access`, once they may do ``operation`` on some rows of ``schema``."""
    access = access_for(user)
    require(access, operation, schema)
    return access


def check_row(
    access: Access, schema: EntitySchema, record_id: int, operation: str, missing: str
) -> None:
    """Refuse ``operation`` on the row unless the user's rules allow it. ``missing`` is the
    message the caller gives for a row that does not exist."""
    if access.unrestricted:
        return
    rows = schema.model._base_manager.filter(pk=record_id)
    if not access.visible(schema, rows).exists():
        raise NotFound(missing, code="not_found")
    if operation != "read" and not access.visible(schema, rows, operation).exists():
        raise PermissionDenied(
            _("Your roles do not allow you to %(operation)s this %(entity)s record.")
            % {"operation": operation_name(operation), "entity": schema.slug},
            operation=operation,
            entity=schema.slug,
        )
