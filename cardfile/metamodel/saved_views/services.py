"""Writing saved views. A view without a user is shared with everyone who may read the entity;
creating or changing one needs the ``configure`` right. A personal view belongs to its user
alone. Every change is audited."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from cardfile.core.exceptions import InvalidInput, PermissionDenied
from cardfile.core.models import AuditLog
from cardfile.core.services import audit_log_record
from cardfile.metamodel.access import Access
from cardfile.metamodel.fields import FieldValueError
from cardfile.metamodel.models import SavedView
from cardfile.metamodel.schema.dynamic import EntitySchema

from .config import NAME_MAX_LENGTH, User, clean_config
from .selectors import readable_entity, saved_view_get


def _as_dict(view: SavedView) -> dict[str, Any]:
    return {"name": view.name, "shared": view.shared, "config": view.config}


def _audit(user: User, action: str, view: SavedView, before=None, after=None) -> None:
    audit_log_record(
        user=user,
        action=action,
        object_type="saved_view",
        object_id=view.pk,
        object_repr=f"{view.entity.slug}: {view.name}",
        before=before,
        after=after,
    )


def _require_configure(access: Access, schema: EntitySchema) -> None:
    if not access.can_configure(schema):
        raise PermissionDenied(
            _("Only users who may configure %(entity)s can change its shared views.")
            % {"entity": schema.slug},
            operation="configure",
            entity=schema.slug,
        )


def _clean_name(schema: EntitySchema, name: Any, owner_id: int | None, exclude: int | None) -> str:
    if not isinstance(name, str) or not name.strip():
        raise FieldValueError(_("A view needs a name."))
    name = name.strip()
    if len(name) > NAME_MAX_LENGTH:
        raise FieldValueError(_("A name has at most %(n)d characters.") % {"n": NAME_MAX_LENGTH})
    same = SavedView.objects.filter(entity_id=schema.entity.pk, user_id=owner_id, name=name)
    if exclude is not None:
        same = same.exclude(pk=exclude)
    if same.exists():
        raise FieldValueError(_("There is already a view named %(name)s.") % {"name": name})
    return name


def _owner_id(user: User) -> int | None:
    return user.pk if user is not None and user.is_authenticated else None


@transaction.atomic
def saved_view_create(
    *, entity: str, name: str, config: dict[str, Any], shared: bool = False, user: User
) -> SavedView:
    """Save a view of ``entity``: the user's own, or ``shared`` (needs ``configure``)."""
    schema, access = readable_entity(entity, user)
    if shared:
        _require_configure(access, schema)
    owner_id = None if shared else _owner_id(user)
    if not shared and owner_id is None:
        _require_configure(access, schema)  # the system saves shared views only
    errors: dict[str, list[str]] = {}
    formula = None
    try:
        name = _clean_name(schema, name, owner_id, None)
    except FieldValueError as error:
        errors["name"] = [error.message]
    try:
        config = clean_config(schema, config, access)
    except InvalidInput as error:
        errors.update(error.errors)
        formula = error.formula
    if errors:
        raise InvalidInput(errors, formula=formula)
    position = (
        SavedView.objects.filter(entity_id=schema.entity.pk).aggregate(Max("position"))[
            "position__max"
        ]
        or 0
    )
    view = SavedView.objects.create(
        entity=schema.entity, user_id=owner_id, name=name, config=config, position=position + 1
    )
    _audit(user, AuditLog.Action.CREATE, view, after=_as_dict(view))
    return view


def _changeable(entity: str, view_id: int, user: User) -> tuple[EntitySchema, Access, SavedView]:
    schema, access = readable_entity(entity, user)
    view = saved_view_get(entity, view_id, user)
    if view.shared:
        _require_configure(access, schema)
    return schema, access, view


@transaction.atomic
def saved_view_update(
    *,
    entity: str,
    view_id: int,
    user: User,
    name: str | None = None,
    config: dict[str, Any] | None = None,
    shared: bool | None = None,
) -> SavedView:
    """Rename a view, replace its settings or share it (or take it back as one's own); a
    shared view, before or after, needs ``configure``."""
    schema, access, view = _changeable(entity, view_id, user)
    before = _as_dict(view)
    if shared is not None and shared != view.shared:
        _require_configure(access, schema)
        view.user_id = None if shared else _owner_id(user)
    errors: dict[str, list[str]] = {}
    formula = None
    if name is not None or shared is not None:
        try:
            view.name = _clean_name(
                schema, view.name if name is None else name, view.user_id, view.pk
            )
        except FieldValueError as error:
            errors["name"] = [error.message]
    if config is not None:
        try:
            view.config = clean_config(schema, config, access)
        except InvalidInput as error:
            errors.update(error.errors)
            formula = error.formula
    if errors:
        raise InvalidInput(errors, formula=formula)
    view.save()
    _audit(user, AuditLog.Action.UPDATE, view, before=before, after=_as_dict(view))
    return view


@transaction.atomic
def saved_view_delete(*, entity: str, view_id: int, user: User) -> None:
    """Delete a view (one's own, or a shared one with ``configure``)."""
    _schema, _access, view = _changeable(entity, view_id, user)
    before = _as_dict(view)
    _audit(user, AuditLog.Action.DELETE, view, before=before)
    view.delete()
