"""Reading reminder and rule definitions: the ones of entities the user may configure, in the
shape the API speaks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from cardfile.core.exceptions import NotFound
from cardfile.metamodel.access import Access, access_for
from cardfile.metamodel.access.definitions import require_configure
from cardfile.metamodel.schema.dynamic import get_registry

from .models import NotificationRule, Reminder

User = AbstractBaseUser | AnonymousUser | None


def _configurable(queryset: QuerySet, access: Access, entity: str | None) -> QuerySet:
    registry = get_registry()
    if entity is not None:
        queryset = queryset.filter(entity_id=registry.entity(entity).entity.pk)
    if access.can_configure():
        return queryset
    allowed = [s.entity.pk for s in registry.entities() if access.can_configure(s)]
    return queryset.filter(entity_id__in=allowed)


def _live(model: type[Reminder | NotificationRule]) -> QuerySet:
    """The definitions of entities not in the trash, with their entity and field."""
    return model.objects.select_related("entity", "field").filter(entity__deleted_at__isnull=True)


def _one(
    model: type[Reminder | NotificationRule], pk: int, user: User, missing: Callable[[], str]
) -> Any:
    """One definition; `NotFound` saying ``missing()``, or `PermissionDenied` if ``user`` may
    not configure its entity."""
    found = _live(model).filter(pk=pk).first()
    if found is None:
        raise NotFound(missing())
    require_configure(user, found.entity.slug)
    return found


def reminder_list(*, user: User, entity: str | None = None) -> list[Reminder]:
    """The reminders of the entities ``user`` may configure (of ``entity`` alone if given)."""
    return list(_configurable(_live(Reminder), access_for(user), entity))


def reminder_get(*, reminder_id: int, user: User) -> Reminder:
    """One reminder; `NotFound`, or `PermissionDenied` if ``user`` may not configure its
    entity."""
    return _one(
        Reminder,
        reminder_id,
        user,
        lambda: _("There is no reminder #%(id)s.") % {"id": reminder_id},
    )


def rule_list(*, user: User, entity: str | None = None) -> list[NotificationRule]:
    """The notification rules of the entities ``user`` may configure."""
    return list(_configurable(_live(NotificationRule), access_for(user), entity))


def rule_get(*, rule_id: int, user: User) -> NotificationRule:
    return _one(
        NotificationRule,
        rule_id,
        user,
        lambda: _("There is no notification rule #%(id)s.") % {"id": rule_id},
    )


def _message_parts(obj: Reminder | NotificationRule) -> dict[str, Any]:
    return {
        "condition": obj.condition,
        "recipients": list(obj.recipients),
        "channels": list(obj.channels),
        "subject": obj.subject,
        "template": obj.template,
        "label": obj.label,
        "active": obj.active,
    }


def reminder_as_dict(reminder: Reminder) -> dict[str, Any]:
    """The API shape of a reminder."""
    repeat = None
    if reminder.repeat_every and reminder.repeat_unit:
        repeat = {"every": reminder.repeat_every, "unit": reminder.repeat_unit}
    return {
        "id": reminder.pk,
        "entity": reminder.entity.slug,
        "field": reminder.field.slug,
        "offset": {"amount": reminder.offset_amount, "unit": reminder.offset_unit},
        "at_time": reminder.at_time.strftime("%H:%M"),
        "repeat": repeat,
        **_message_parts(reminder),
        "scanned_until": reminder.scanned_until.isoformat() if reminder.scanned_until else None,
    }


def rule_as_dict(rule: NotificationRule) -> dict[str, Any]:
    """The API shape of a notification rule."""
    return {
        "id": rule.pk,
        "entity": rule.entity.slug,
        "event": rule.event,
        "field": rule.field.slug if rule.field_id else None,
        "to_state": rule.to_state,
        **_message_parts(rule),
    }
