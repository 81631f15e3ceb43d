"""Reads of the connectors package: channels with their settings (secrets masked), a user's
in-app notifications, and the delivery log as far as the user may see it."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from cardfile.core.deliveries import channel_names
from cardfile.core.exceptions import NotFound, PermissionDenied
from cardfile.core.models import Delivery, Notification
from cardfile.core.selectors import MAX_ID
from cardfile.metamodel.access import access_for
from cardfile.metamodel.schema.dynamic import get_registry

from .channels.base import Channel, settings_masked
from .models import ChannelConfig
from .services import channel_of

User = AbstractBaseUser | AnonymousUser


# -- channels ------------------------------------------------------------------------------------


def channel_as_dict(channel: Channel, row: ChannelConfig | None) -> dict[str, Any]:
    """A channel as the API and the UI show it: set secrets are masked."""
    return {
        "name": channel.name,
        "label": str(channel.label),
        "enabled": row.enabled if row is not None else channel.enabled_by_default,
        "settings": settings_masked(channel, row.settings or {}) if row is not None else {},
        "settings_schema": channel.settings_schema,
        "secret_settings": list(channel.secret_settings),
        "updated_at": row.updated_at if row is not None else None,
        "updated_by": row.updated_by.get_username() if row and row.updated_by else None,
    }


def channels_list() -> list[dict[str, Any]]:
    """Every registered channel with its configuration: email, SMS, Telegram, in-app, then
    any other."""
    rows = {row.name: row for row in ChannelConfig.objects.select_related("updated_by")}
    channels = sorted((channel_of(name) for name in channel_names()), key=lambda c: c.position)
    return [channel_as_dict(channel, rows.get(channel.name)) for channel in channels]


def channel_detail(name: str) -> dict[str, Any]:
    """One channel with its configuration, or NotFound."""
    channel = channel_of(name)
    row = ChannelConfig.objects.select_related("updated_by").filter(name=name).first()
    return channel_as_dict(channel, row)


# -- notifications -------------------------------------------------------------------------------


def notifications_for(user: User, unread_only: bool = False) -> QuerySet[Notification]:
    """The user's in-app notifications, newest first."""
    if not user.is_authenticated:
        return Notification.objects.none()
    rows = Notification.objects.filter(user_id=user.pk).order_by("-created_at", "-id")
    return rows.filter(read_at__isnull=True) if unread_only else rows


def unread_count(user: User) -> int:
    """How many of the user's notifications are unread (the bell's number)."""
    return notifications_for(user, unread_only=True).count()


# -- the delivery log ----------------------------------------------------------------------------


def deliveries_list(
    user: User,
    status: str | None = None,
    *,
    entity: str | None = None,
    record_id: int | None = None,
) -> QuerySet[Delivery]:
    """The deliveries the user may see, newest first: owners all of them; a role with
    ``configure`` on entities those about these entities; anyone else is refused."""
    access = access_for(user)
    rows = Delivery.objects.select_related("user").order_by("-created_at", "-id")
    if not access.is_owner:
        if not user.is_authenticated:
            raise PermissionDenied(_("Sign in to see the delivery log."), operation="configure")
        entities = [
            schema.slug for schema in get_registry().entities() if access.can_configure(schema)
        ]
        if not entities:
            raise PermissionDenied(
                _(
                    "Your roles do not allow you to see the delivery log: that needs an owner "
                    "role or the configure right on an entity."
                ),
                operation="configure",
            )
        rows = rows.filter(entity__in=entities)
    if status:
        rows = rows.filter(status=status)
    if entity:
        rows = rows.filter(entity=entity)
    if record_id is not None:
        rows = rows.filter(record_id=record_id)
    return rows


def delivery_get(user: User, delivery_id: int) -> Delivery:
    """One delivery the user may see, or NotFound (also for one they may not)."""
    rows = deliveries_list(user)
    found = rows.filter(pk=delivery_id).first() if 0 < delivery_id <= MAX_ID else None
    if found is None:
        raise NotFound(_("There is no delivery #%(id)s.") % {"id": delivery_id})
    return found
