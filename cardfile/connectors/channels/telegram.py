"""Telegram through the Bot API: ``{base_url}/bot{token}/sendMessage`` with the chat id."""

from __future__ import annotations

import re
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cardfile.core.deliveries import DeliveryFailed, channel_register
from cardfile.core.models import Delivery

from .base import Channel
from .http import answer_text, post_or_get

DEFAULT_BASE_URL = "https://api.telegram.org"
MAX_TEXT = 4096  # the Bot API's limit for one message
_CHAT_ID = re.compile(r"^(-?\d{1,20}|@[A-Za-z][A-Za-z0-9_]{4,31})$")


@channel_register("telegram")
class TelegramChannel(Channel):
    """A bot sends the text (the subject as its first line) to a chat id or @channel. Too many
    requests (429) and server errors are retried; other refusals keep Telegram's description."""

    label = gettext_lazy("Telegram")
    position = 30
    address_label = gettext_lazy("Telegram chat id")
    enabled_by_default = False
    secret_settings = ("token",)
    settings_schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["token"],
        "properties": {
            "token": {"type": "string", "pattern": r"^[0-9]+:[A-Za-z0-9_-]+$", "maxLength": 200},
            "base_url": {"type": "string", "pattern": "^https?://", "maxLength": 500},
            "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": 120},
        },
    }

    def normal_address(self, address: str) -> str:
        if not _CHAT_ID.match(address):
            raise DeliveryFailed(
                _("%(address)r is not a Telegram chat id (a number, or @channel_name).")
                % {"address": address},
                retry=False,
            )
        return address

    def send(self, delivery: Delivery, settings: dict[str, Any]) -> None:
        token = settings.get("token") or ""
        if not token:
            raise DeliveryFailed(_("The Telegram channel has no bot token."), retry=False)
        base_url = (settings.get("base_url") or DEFAULT_BASE_URL).rstrip("/")
        text = f"{delivery.subject}\n\n{delivery.body}" if delivery.subject else delivery.body
        address = delivery.address
        chat_id: int | str = address if address.startswith("@") else int(address)
        response = post_or_get(
            "POST",
            f"{base_url}/bot{token}/sendMessage",
            json={"chat_id": chat_id, "text": text[:MAX_TEXT]},
            timeout=settings.get("timeout", 10),
            provider="Telegram",
            secrets=(token,),
        )
        try:
            ok = response.json().get("ok") is True
        except (ValueError, AttributeError):
            ok = False
        if response.is_success and ok:
            return
        code = response.status_code
        raise DeliveryFailed(
            _("Telegram answered %(code)d: %(answer)s")
            % {"code": code, "answer": answer_text(response).replace(token, "••••")},
            retry=code == 429 or code >= 500,
        )
