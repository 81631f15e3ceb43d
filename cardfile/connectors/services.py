"""Writes of the connectors package: channel settings, reading notifications."""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cardfile.core.deliveries import DeliveryError, channel_get
from cardfile.core.exceptions import InvalidInput, NotFound, PermissionDenied
from cardfile.core.models import AuditLog, Notification
from cardfile.core.selectors import MAX_ID
from cardfile.core.services import audit_log_record
from cardfile.metamodel.access import access_for

from .channels.base import Channel, settings_masked, settings_merged
from .models import ChannelConfig


class ChannelSettingsError(InvalidInput):
    """Channel settings that were refused; ``errors`` by ``enabled`` or ``settings.<name>``."""

    code = "invalid_channel_settings"


def channel_of(name: str) -> Channel:
    """The registered channel ``name``, or NotFound."""
    try:
        return channel_get(name)  # type: ignore[return-value]
    except DeliveryError:
        raise NotFound(_("There is no channel %(name)r.") % {"name": name}) from None


@transaction.atomic
def channel_update(
    *,
    name: str,
    enabled: bool | None = None,
    settings: dict[str, Any] | None = None,
    user: AbstractBaseUser | AnonymousUser | None,
) -> ChannelConfig:
    """Switch the channel on or off and change its settings (owners only).

    ``settings`` is a JSON merge patch of the current settings: a key given replaces its value,
    ``null`` removes it, an object merges into the object, and a secret given as the mask (or
    left out) keeps its value. The result must fit the channel's schema — its required
    settings once the channel is on — and its templates must compile."""
    if user is not None and not access_for(user).is_owner:
        raise PermissionDenied(
            _("Only owners may change the channel settings."), operation="configure"
        )
    channel = channel_of(name)
    row = ChannelConfig.objects.select_for_update().filter(name=name).first()
    current_enabled = row.enabled if row is not None else channel.enabled_by_default
    current = dict(row.settings or {}) if row is not None else {}
    errors: dict[str, list[str]] = {}
    if enabled is not None and not isinstance(enabled, bool):
        errors["enabled"] = [_("Use true or false.")]
    if settings is not None and not isinstance(settings, dict):
        errors["settings"] = [_("Send the settings as an object.")]
    if errors:
        raise ChannelSettingsError(errors)
    new_enabled = current_enabled if enabled is None else enabled
    new = settings_merged(channel, current, settings) if settings is not None else current
    _check(channel, new, enabled=new_enabled)
    before = _audited(channel, current_enabled, current)
    if row is None:
        row = ChannelConfig(name=name)
    row.enabled = new_enabled
    row.settings = new
    row.updated_by = user if user is not None and user.is_authenticated else None
    row.save()
    audit_log_record(
        user=user,
        action=AuditLog.Action.UPDATE,
        object_type="channel",
        object_id=name,
        object_repr=str(channel.label),
        before=before,
        after=_audited(channel, new_enabled, new),
    )
    return row


def _check(channel: Channel, settings: dict[str, Any], *, enabled: bool) -> None:
    schema = copy.deepcopy(channel.settings_schema)
    if not enabled:
        schema.pop("required", None)  # an unfinished configuration may be kept while off
    errors: dict[str, list[str]] = {}
    for error in jsonschema.Draft202012Validator(schema).iter_errors(settings):
        path = [str(p) for p in error.absolute_path]
        if error.validator == "required":
            for missing in [p for p in error.validator_value if p not in error.instance]:
                key = ".".join(["settings", *path, missing])
                errors.setdefault(key, []).append(_("Needed when the channel is on."))
        elif error.validator == "additionalProperties" and error.validator_value is False:
            known = sorted(error.schema.get("properties", {}))
            for extra in [p for p in error.instance if p not in known]:
                key = ".".join(["settings", *path, extra])
                errors.setdefault(key, []).append(
                    _("Unknown setting; expected one of: %(keys)s.")
                    % {"keys": ", ".join(known) or "-"}
                )
        else:
            errors.setdefault(".".join(["settings", *path]), []).append(error.message)
    if not errors:
        for key, messages in channel.check_settings(settings).items():
            errors.setdefault(f"settings.{key}", []).extend(messages)
    if errors:
        raise ChannelSettingsError(errors)


def _audited(channel: Channel, enabled: bool, settings: dict[str, Any]) -> dict[str, Any]:
    return {"enabled": enabled, "settings": settings_masked(channel, settings)}


# -- notifications -------------------------------------------------------------------------------


@transaction.atomic
def notification_read(*, user: AbstractBaseUser, notification_id: int) -> Notification:
    """Mark one of the user's notifications read (again: no change); NotFound for others'."""
    found = (
        Notification.objects.filter(pk=notification_id, user_id=user.pk).first()
        if 0 < notification_id <= MAX_ID
        else None
    )
    if found is None:
        raise NotFound(_("There is no notification #%(id)s.") % {"id": notification_id})
    if found.read_at is None:
        found.read_at = timezone.now()
        found.save(update_fields=["read_at"])
    return found


@transaction.atomic
def notifications_read_all(*, user: AbstractBaseUser) -> int:
    """Mark all of the user's unread notifications read; how many there were."""
    return Notification.objects.filter(user_id=user.pk, read_at__isnull=True).update(
        read_at=timezone.now()
    )
