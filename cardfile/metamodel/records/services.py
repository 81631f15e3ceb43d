"""Writes of records: create, update, bulk create; trash and restore live in `trash`.

Each call validates all of its input first (`cleaning`) and reports every problem at once in
one `RecordValidationError`; then it writes inside one transaction, with history rows, and
publishes its events after commit.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models, transaction
from django.utils.translation import gettext as _

from cardfile.core.exceptions import NotFound
from cardfile.core.models import Branch
from cardfile.metamodel.access import Access
from cardfile.metamodel.schema.dynamic import get_registry

from .cleaning import Cleaner, RowPlan
from .exceptions import RecordValidationError
from .guard import check_row, writer_access
from .selectors import record_to_dict
from .trash import record_delete, record_restore
from .writing import WriteContext, insert_rows, raise_conflict, refuse_lines, update_row

User = AbstractBaseUser | AnonymousUser | None

__all__ = [
    "record_bulk_create",
    "record_create",
    "record_delete",
    "record_restore",
    "record_to_dict",
    "record_update",
]


def _branch_id(cleaner: Cleaner, branch: Branch | int | None, access: Access) -> int | None:
    """The branch new records go to: the one given, else the writer's home branch. A user
    with branches (not an owner) may put records only into their own branches."""
    if branch is None:
        return access.branch_id
    if isinstance(branch, Branch):
        return branch.pk
    if isinstance(branch, bool) or not isinstance(branch, int):
        cleaner.add_error("branch", _("Expected a branch id, got %(value)r.") % {"value": branch})
        return None
    if not Branch.objects.filter(pk=branch).exists():
        cleaner.add_error("branch", _("There is no branch #%(id)s.") % {"id": branch})
        return None
    if not access.unrestricted and access.branch_ids and branch not in access.branch_ids:
        cleaner.add_error(
            "branch",
            _("You may create records only in your branches (%(ids)s).")
            % {"ids": ", ".join(str(pk) for pk in access.branch_ids)},
        )
        return None
    return branch


def record_create(
    *,
    entity: str,
    data: dict[str, Any],
    user: User = None,
    branch: Branch | int | None = None,
) -> models.Model:
    """Create one record (with its child-table lines) and return it."""
    registry = get_registry()
    schema = registry.entity(entity)
    refuse_lines(registry, schema)
    access = writer_access(user, "create", schema)
    with transaction.atomic():
        cleaner = Cleaner(registry, user=user, access=access)
        branch_id = _branch_id(cleaner, branch, access)
        row = cleaner.clean(RowPlan(schema=schema, data=data))
        cleaner.check_database()
        cleaner.raise_if_errors()
        ctx = WriteContext.start(registry, user)
        insert_rows(ctx, schema, [row], branch_id=branch_id)
        ctx.finish()
    return row.obj


def record_bulk_create(
    *,
    entity: str,
    rows: list[dict[str, Any]],
    user: User = None,
    branch: Branch | int | None = None,
) -> list[models.Model]:
    """Create many records, all or none: one INSERT per batch, errors name rows (1-based)."""
    registry = get_registry()
    schema = registry.entity(entity)
    refuse_lines(registry, schema)
    if not isinstance(rows, list | tuple):
        raise RecordValidationError({"rows": [_("Expected a list of records.")]})
    access = writer_access(user, "create", schema)
    with transaction.atomic():
        cleaner = Cleaner(registry, user=user, access=access)
        branch_id = _branch_id(cleaner, branch, access)
        plans = [
            cleaner.clean(
                RowPlan(
                    schema=schema,
                    data=data,
                    prefix=f"rows[{number}].",
                    context=(_("Row %(n)d") % {"n": number},),
                    number=number,
                )
            )
            for number, data in enumerate(rows, start=1)
        ]
        cleaner.check_database()
        cleaner.raise_if_errors(bulk=True)
        ctx = WriteContext.start(registry, user)
        insert_rows(ctx, schema, plans, branch_id=branch_id)
        ctx.finish()
    return [plan.obj for plan in plans]


def _version_of(data: Any, version: Any) -> int:
    if version is None and isinstance(data, dict):
        version = data.get("version")
    if version is None:
        raise RecordValidationError(
            {"version": [_("Give the version of the record your change is based on.")]}
        )
    if isinstance(version, bool) or not str(version).strip().isdigit():
        raise RecordValidationError(
            {"version": [_("Expected a version number, got %(value)r.") % {"value": version}]}
        )
    return int(version)


def record_update(
    *,
    entity: str,
    record_id: int,
    data: dict[str, Any],
    version: int | None = None,
    user: User = None,
) -> models.Model:
    """Change a record based on ``version`` (also read from ``data['version']``); a record
    changed meanwhile raises `RecordConflict` with its current values. Only given fields
    change; a given child table is replaced by the given lines (with ids: kept and updated)."""
    registry = get_registry()
    schema = registry.entity(entity)
    refuse_lines(registry, schema)
    based_on = _version_of(data, version)
    access = writer_access(user, "update", schema)
    with transaction.atomic():
        obj = (
            schema.model._base_manager.select_for_update()
            .filter(pk=record_id, deleted_at__isnull=True)
            .first()
        )
        if obj is None:
            in_trash = schema.model._base_manager.filter(pk=record_id).exists()
            message = (
                _("%(entity)s #%(id)s is in the trash; restore it first.")
                if in_trash
                else _("There is no %(entity)s #%(id)s.")
            )
            raise NotFound(
                message % {"entity": schema.entity.label, "id": record_id}, code="not_found"
            )
        missing = _("There is no %(entity)s #%(id)s.") % {
            "entity": schema.entity.label,
            "id": record_id,
        }
        check_row(access, schema, record_id, "update", missing)
        if obj.version != based_on:
            raise_conflict(registry, schema, obj.pk, access)
        cleaner = Cleaner(registry, user=user, access=access)
        row = cleaner.clean(RowPlan(schema=schema, data=data, obj=obj))
        cleaner.check_database()
        cleaner.raise_if_errors()
        if not row.has_changes():
            return obj
        ctx = WriteContext.start(registry, user)
        update_row(ctx, row)
        ctx.finish()
    return obj
