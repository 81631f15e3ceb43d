"""In-app notifications: the bell in the UI. Sending one is writing a Notification row."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cardfile.core.deliveries import DeliveryFailed, channel_register
from cardfile.core.models import Delivery, Notification

from .base import Channel


@channel_register("in_app")
class InAppChannel(Channel):
    """A notification for the delivery's user, at most one per delivery (a second attempt
    finds the first one)."""

    label = gettext_lazy("In-app")
    position = 40
    settings_schema = {"type": "object", "additionalProperties": False, "properties": {}}

    def clean_address(self, address: str, user_id: int | None) -> str:
        if user_id is None:
            raise DeliveryFailed(_("An in-app notification needs a recipient user."), retry=False)
        return ""

    def send(self, delivery: Delivery, settings: dict[str, Any]) -> None:
        if delivery.user_id is None:
            raise DeliveryFailed(
                _("The recipient of this notification no longer exists."), retry=False
            )
        title = delivery.subject or _first_line(delivery.body)
        Notification.objects.get_or_create(
            delivery=delivery,
            defaults={
                "user_id": delivery.user_id,
                "title": title[:300],
                "body": delivery.body if delivery.subject else delivery.body[len(title) :].strip(),
                "url": delivery.url,
                "entity": delivery.entity,
                "record_id": delivery.record_id,
            },
        )


def _first_line(text: str) -> str:
    return (text or "").strip().splitlines()[0] if (text or "").strip() else ""
