"""SMS through any HTTP provider: its URL, method, body (a sandboxed template of ``to`` and
``text``), content type, headers and authentication are settings, not code."""

from __future__ import annotations

import json
from typing import Any

import httpx
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cardfile.core.deliveries import DeliveryFailed, channel_register
from cardfile.core.models import Delivery
from cardfile.core.templating import TemplateProblem, template_check, template_render
from cardfile.metamodel.fields.text import phone_e164

from .base import Channel
from .http import answer_text, post_or_get

DEFAULT_TEMPLATES = {
    "json": '{"to": {{ to|tojson }}, "text": {{ text|tojson }}}',
    "form": "to={{ to|urlencode }}&text={{ text|urlencode }}",
}
CONTENT_TYPES = {"json": "application/json", "form": "application/x-www-form-urlencoded"}


@channel_register("sms")
class SmsChannel(Channel):
    """One request to the provider per message; a 2xx answer means sent. A 4xx answer is a
    refusal (no retry, the provider's text is kept), except 429; 5xx or no answer is retried."""

    label = gettext_lazy("SMS")
    position = 20
    address_label = gettext_lazy("phone number")
    enabled_by_default = False
    secret_settings = ("auth.password", "auth.token", "headers.*")
    settings_schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["url"],
        "properties": {
            "url": {"type": "string", "pattern": "^https?://", "maxLength": 2000},
            "method": {"enum": ["POST", "GET"]},
            "content_type": {"enum": ["json", "form"]},
            "body_template": {"type": "string", "maxLength": 5000},
            "headers": {
                "type": "object",
                "additionalProperties": {"type": "string", "maxLength": 2000},
            },
            "auth": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "type": {"enum": ["none", "basic", "bearer"]},
                    "username": {"type": "string", "maxLength": 255},
                    "password": {"type": "string", "maxLength": 255},
                    "token": {"type": "string", "maxLength": 2000},
                },
            },
            "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": 120},
        },
    }

    def normal_address(self, address: str) -> str:
        number = phone_e164(address)
        if number is None:
            raise DeliveryFailed(
                _("%(address)r is not a valid phone number (international numbers start with +).")
                % {"address": address},
                retry=False,
            )
        return number

    def check_settings(self, settings: dict[str, Any]) -> dict[str, list[str]]:
        errors: dict[str, list[str]] = {}
        if "body_template" in settings:
            try:
                template_check(settings["body_template"], field="body_template")
            except TemplateProblem as problem:
                errors["body_template"] = [problem.message]
        auth = settings.get("auth") or {}
        kind = auth.get("type", "none")
        needed = {"basic": ("username", "password"), "bearer": ("token",)}.get(kind, ())
        for key in needed:
            if not auth.get(key):
                errors[f"auth.{key}"] = [_("Needed for %(type)s authentication.") % {"type": kind}]
        return errors

    def send(self, delivery: Delivery, settings: dict[str, Any]) -> None:
        content_type = settings.get("content_type", "json")
        method = settings.get("method", "POST")
        body = self._body(delivery, settings, content_type)
        headers = dict(settings.get("headers") or {})
        auth = settings.get("auth") or {}
        basic = None
        if auth.get("type") == "basic":
            basic = (auth.get("username", ""), auth.get("password", ""))
        elif auth.get("type") == "bearer":
            headers["Authorization"] = f"Bearer {auth.get('token', '')}"
        url = settings["url"]
        if method == "GET":
            url = f"{url}{'&' if '?' in url else '?'}{body}"
            content = None
        else:
            headers.setdefault("Content-Type", CONTENT_TYPES[content_type])
            content = body.encode()
        response = post_or_get(
            method,
            url,
            content=content,
            headers=headers,
            auth=basic,
            timeout=settings.get("timeout", 10),
            provider=_("The SMS provider"),
        )
        if response.is_success:
            return
        retry = response.status_code >= 500 or response.status_code == httpx.codes.TOO_MANY_REQUESTS
        raise DeliveryFailed(
            _("The SMS provider answered %(code)d: %(answer)s")
            % {"code": response.status_code, "answer": answer_text(response)},
            retry=retry,
        )

    def _body(self, delivery: Delivery, settings: dict[str, Any], content_type: str) -> str:
        source = settings.get("body_template") or DEFAULT_TEMPLATES[content_type]
        try:
            body = template_render(
                source, {"to": delivery.address, "text": delivery.body}, field="body_template"
            )
        except TemplateProblem as problem:
            raise DeliveryFailed(
                _("The SMS body template: %(problem)s") % {"problem": problem.message},
                retry=False,
            ) from None
        if content_type == "json" and settings.get("method", "POST") == "POST":
            try:
                json.loads(body)
            except ValueError as error:
                raise DeliveryFailed(
                    _("The SMS body template did not make JSON: %(error)s") % {"error": error},
                    retry=False,
                ) from None
        return body
