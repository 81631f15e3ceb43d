"""Every change of roles, rights, memberships, branches or users bumps the access token, so
the rights each process cached are worked out again; wired in `MetamodelConfig.ready`.

Signals rather than calls in the services, because the Django admin and scripts change these
rows too, and a stale right is a leak."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models.signals import m2m_changed, post_delete, post_save

from cardfile.core.models import Branch
from cardfile.metamodel.models import EntityRights, Role

from .rights import bump_access


def _changed(sender: Any, **kwargs: Any) -> None:
    if kwargs.get("raw"):  # loading fixtures
        return
    update_fields = kwargs.get("update_fields")
    if sender is get_user_model() and update_fields and set(update_fields) <= {"last_login"}:
        return  # signing in changes no right
    bump_access()


def _members_changed(sender: Any, action: str, **kwargs: Any) -> None:
    if action in ("post_add", "post_remove", "post_clear"):
        bump_access()


def connect() -> None:
    for model in (Role, EntityRights, Group, Branch, get_user_model()):
        post_save.connect(_changed, sender=model, dispatch_uid=f"cardfile_access_{model.__name__}")
        post_delete.connect(
            _changed, sender=model, dispatch_uid=f"cardfile_access_del_{model.__name__}"
        )
    for through in (get_user_model().groups.through, Branch.users.through):
        m2m_changed.connect(
            _members_changed, sender=through, dispatch_uid=f"cardfile_access_m2m_{through.__name__}"
        )
