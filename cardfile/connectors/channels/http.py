"""One HTTP call to a provider, its failures as `DeliveryFailed`, its answer as short text."""

from __future__ import annotations

from typing import Any

import httpx
from django.utils.translation import gettext as _

from cardfile.core.deliveries import DeliveryFailed

from .base import MASK

MAX_ANSWER = 500


def post_or_get(
    method: str,
    url: str,
    *,
    provider: str,
    content: bytes | None = None,
    json: Any = None,
    headers: dict[str, str] | None = None,
    auth: tuple[str, str] | None = None,
    timeout: float = 10,
    secrets: tuple[str, ...] = (),
) -> httpx.Response:
    """The provider's answer, whatever its status; no answer at all (refused, timed out) is a
    `DeliveryFailed` to retry. ``secrets`` (a token in the URL) never reach the message."""
    try:
        return httpx.request(
            method,
            url,
            content=content,
            json=json,
            headers=headers,
            auth=auth,
            timeout=timeout,
            follow_redirects=False,
        )
    except httpx.HTTPError as error:
        text = str(error) or type(error).__name__
        for secret in secrets:
            if secret:
                text = text.replace(secret, MASK)
        raise DeliveryFailed(
            _("%(provider)s could not be reached: %(error)s")
            % {"provider": provider, "error": text},
            retry=True,
        ) from None


def answer_text(response: httpx.Response) -> str:
    """What the provider said: the description or message of a JSON answer, else its text."""
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict):
        for key in ("description", "message", "error", "detail"):
            if isinstance(data.get(key), str) and data[key]:
                return data[key][:MAX_ANSWER]
    text = response.text.strip()
    return text[:MAX_ANSWER] or response.reason_phrase
