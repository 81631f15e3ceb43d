"""Writes of the core package: branches and the audit log."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction

from .models import AuditLog, Branch


def _diff(before: dict[str, Any] | None, after: dict[str, Any] | None) -> tuple[Any, Any]:
    """Keep only the keys that changed, so the log says what moved and nothing else."""
    if before is None or after is None:
        return before, after
    keys = [k for k in {**before, **after} if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


def audit_log_record(
    *,
    user: AbstractBaseUser | AnonymousUser | None,
    action: str,
    object_type: str,
    object_id: Any,
    object_repr: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditLog | None:
    """Write one audit entry; an update that changed nothing writes none."""
    before, after = _diff(before, after)
    if action == AuditLog.Action.UPDATE and not before and not after:
        return None
    return AuditLog.objects.create(
        user=user if user is not None and user.is_authenticated else None,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        object_repr=str(object_repr)[:300],
        before=before,
        after=after,
    )


@transaction.atomic
def branch_create(
    *, name: str, address: str = "", phone: str = "", user: AbstractBaseUser | None = None
) -> Branch:
    branch = Branch.objects.create(name=name, address=address, phone=phone)
    audit_log_record(
        user=user,
        action=AuditLog.Action.CREATE,
        object_type="branch",
        object_id=branch.pk,
        object_repr=branch.name,
        after={"name": name, "address": address, "phone": phone},
    )
    return branch
