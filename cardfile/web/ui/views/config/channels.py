"""Message channels (owners only): each registered channel switched on or off, its settings as
a form generated from the channel's ``settings_schema``, and a test message.

Secrets are never sent to the browser: a secret that is set shows as set, and an input left
empty keeps it (the service's merge patch keeps a secret given as the mask). Every check is the
service's (`channel_update`): its errors come back by setting and are shown at the input."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from cardfile.connectors.channels.base import MASK
from cardfile.connectors.selectors import channel_detail, channels_list, delivery_get
from cardfile.connectors.services import channel_update
from cardfile.core.deliveries import Message, deliveries_create
from cardfile.core.exceptions import CardfileError

from .common import FormErrors, checkbox, form_errors, owner_view
from .deliveries import STATUS_CLASSES

PREFIX = "s."
# Names people read for the settings the built-in channels have; others are shown as keys.
LABELS = {
    "url": gettext_lazy("Provider URL"),
    "method": gettext_lazy("HTTP method"),
    "content_type": gettext_lazy("Body format"),
    "body_template": gettext_lazy("Body template"),
    "headers": gettext_lazy("HTTP headers"),
    "auth": gettext_lazy("Authentication"),
    "type": gettext_lazy("Type"),
    "username": gettext_lazy("User name"),
    "password": gettext_lazy("Password"),
    "token": gettext_lazy("Token"),
    "timeout": gettext_lazy("Timeout (seconds)"),
    "from_email": gettext_lazy("Sender address"),
    "host": gettext_lazy("SMTP server"),
    "port": gettext_lazy("Port"),
    "security": gettext_lazy("Connection security"),
    "base_url": gettext_lazy("Bot API address"),
}
HELP = {
    "email.host": gettext_lazy(
        "Leave empty to send through the server's own mail settings (EMAIL_URL)."
    ),
    "sms.body_template": gettext_lazy(
        "A template of {{ to }} and {{ text }}; empty: the default body for the format."
    ),
    "telegram.token": gettext_lazy("The token @BotFather gave the bot, such as 123456:ABC-DEF."),
    "telegram.base_url": gettext_lazy("Empty: https://api.telegram.org."),
}
# Strings longer than this, or named ..._template, get a text area.
LONG_TEXT = 2000


@dataclass
class SettingInput:
    """One input of a channel's settings form (a group or a key/value map holds others)."""

    path: str  # "auth.username"
    kind: str  # text, textarea, integer, number, boolean, enum, secret, group, map
    label: str
    value: Any = None
    choices: list[str] = field(default_factory=list)
    required: bool = False
    help: str = ""
    secret_set: bool = False
    secret_values: bool = False  # a map whose values are secret
    errors: list[str] = field(default_factory=list)
    children: list[SettingInput] = field(default_factory=list)
    rows: list[tuple[str, str]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return PREFIX + self.path

    @property
    def dom_id(self) -> str:
        return "cs-" + self.path.replace(".", "-")


def _is_secret(channel: dict[str, Any], dotted: str) -> bool:
    return dotted in channel["secret_settings"]


def _kind(channel: dict[str, Any], key: str, dotted: str, schema: dict[str, Any]) -> str:
    if "enum" in schema:
        return "enum"
    kind = schema.get("type")
    if kind == "object":
        return "group" if "properties" in schema else "map"
    if _is_secret(channel, dotted):
        return "secret"
    if kind in ("integer", "number", "boolean"):
        return kind
    long = schema.get("maxLength", 0) > LONG_TEXT or key.endswith("template")
    return "textarea" if long else "text"


def setting_inputs(
    channel: dict[str, Any],
    values: dict[str, Any],
    errors: FormErrors,
    schema: dict[str, Any] | None = None,
    prefix: str = "",
) -> list[SettingInput]:
    """The inputs for ``schema``'s properties (the channel's settings schema at the top),
    holding ``values`` (secrets masked) and the errors under ``settings.<path>``."""
    schema = channel["settings_schema"] if schema is None else schema
    required = set(schema.get("required", ()))
    inputs = []
    for key, sub in schema.get("properties", {}).items():
        dotted = f"{prefix}{key}"
        kind = _kind(channel, key, dotted, sub)
        value = values.get(key) if isinstance(values, dict) else None
        item = SettingInput(
            path=dotted,
            kind=kind,
            label=str(sub.get("title") or LABELS.get(key) or key.replace("_", " ").capitalize()),
            required=key in required,
            help=str(HELP.get(f"{channel['name']}.{dotted}", "")),
            errors=list(errors.get(f"settings.{dotted}", [])),
        )
        if kind == "group":
            item.children = setting_inputs(
                channel, value if isinstance(value, dict) else {}, errors, sub, f"{dotted}."
            )
        elif kind == "map":
            item.secret_values = _is_secret(channel, f"{dotted}.*")
            item.rows = [
                (k, "" if item.secret_values and v == MASK else str(v))
                for k, v in (value if isinstance(value, dict) else {}).items()
            ]
            item.errors += [
                f"{key_}: {m}" if key_ != f"settings.{dotted}" else m
                for key_, found in errors.items()
                if key_.startswith(f"settings.{dotted}.")
                for m in found
            ]
        elif kind == "secret":
            item.secret_set = value == MASK
        elif kind == "enum":
            item.choices = [str(c) for c in sub["enum"]]
            item.value = "" if value is None else str(value)
        else:
            item.value = value
        inputs.append(item)
    return inputs


def _shown_at_inputs(inputs: list[SettingInput], errors: FormErrors) -> set[str]:
    """The error keys some input shows: its own, and under a map every key of it."""
    keys = set()
    for item in inputs:
        keys.add(f"settings.{item.path}")
        keys |= _shown_at_inputs(item.children, errors)
        if item.kind == "map":
            keys |= {k for k in errors if k.startswith(f"settings.{item.path}.")}
    return keys


# -- the form back into a merge patch -----------------------------------------------------------


def _number(raw: str, kind: str) -> Any:
    """The typed number, or the text itself so that the schema names what is wrong."""
    text = raw.strip()
    try:
        return int(text)
    except ValueError:
        pass
    if kind == "number":
        try:
            return float(text)
        except ValueError:
            pass
    return text


def settings_patch(
    request: HttpRequest, channel: dict[str, Any], inputs: list[SettingInput]
) -> dict[str, Any]:
    """The merge patch the form means: an empty input removes its setting, an empty secret
    keeps it (unless "remove" is ticked), header rows replace the headers."""
    post = request.POST
    patch: dict[str, Any] = {}
    for item in inputs:
        key = item.path.rsplit(".", 1)[-1]
        raw = post.get(item.name, "")
        if item.kind == "group":
            patch[key] = settings_patch(request, channel, item.children)
        elif item.kind == "map":
            patch[key] = _map_patch(request, item)
        elif item.kind == "secret":
            if checkbox(request, f"{item.name}.clear"):
                patch[key] = None
            elif raw:
                patch[key] = raw
        elif item.kind == "boolean":
            patch[key] = checkbox(request, item.name)
        elif item.kind in ("integer", "number"):
            patch[key] = _number(raw, item.kind) if raw.strip() else None
        elif item.kind == "textarea":
            patch[key] = raw if raw.strip() else None
        else:
            patch[key] = raw.strip() or None
    return patch


def _map_patch(request: HttpRequest, item: SettingInput) -> dict[str, Any]:
    """The rows as a patch of the map: rows given set, keys no longer there removed, an empty
    secret value kept."""
    names = request.POST.getlist(f"{item.name}.key")
    values = request.POST.getlist(f"{item.name}.value")
    current = dict(item.rows)
    patch: dict[str, Any] = dict.fromkeys(current)
    for name, value in zip(names, values, strict=False):
        name = name.strip()
        if not name:
            continue
        if item.secret_values and not value and name in current:
            patch[name] = MASK  # left empty: keep the value that is set
        else:
            patch[name] = value
    return patch


def _shown(
    channel: dict[str, Any], values: dict[str, Any], patch: dict[str, Any], prefix: str = ""
) -> dict[str, Any]:
    """What the form shows after a refused save: the patch over the (masked) settings; a
    secret shows as it is stored, a new one typed is not sent back."""
    shown = dict(values)
    for key, value in patch.items():
        dotted = f"{prefix}{key}"
        if _is_secret(channel, dotted):
            continue
        if value is None:
            shown.pop(key, None)
        elif isinstance(value, dict):
            current = shown.get(key) if isinstance(shown.get(key), dict) else {}
            shown[key] = _shown(channel, current, value, f"{dotted}.")
        else:
            shown[key] = value
    return shown


# -- views --------------------------------------------------------------------------------------


def _card(channel: dict[str, Any], errors: FormErrors | None = None) -> dict[str, Any]:
    errors = errors or FormErrors()
    inputs = setting_inputs(channel, channel["settings"], errors)
    return {
        **channel,
        "inputs": inputs,
        "errors": errors,
        "other_errors": errors.other(_shown_at_inputs(inputs, errors) | {"enabled"}),
    }


def _page(request: HttpRequest, cards: list[dict[str, Any]], status: int = 200) -> HttpResponse:
    context = {"channels": cards, "section": "channels", "owner_email": request.user.email}
    return render(request, "ui/config/channels.html", context, status=status)


@owner_view
def channel_index(request: HttpRequest) -> HttpResponse:
    return _page(request, [_card(channel) for channel in channels_list()])


@require_POST
@owner_view
def channel_save(request: HttpRequest, name: str) -> HttpResponse:
    channel = channel_detail(name)
    inputs = setting_inputs(channel, channel["settings"], FormErrors())
    patch = settings_patch(request, channel, inputs)
    enabled = checkbox(request, "enabled")
    try:
        channel_update(name=name, enabled=enabled, settings=patch, user=request.user)
    except CardfileError as error:
        shown = _shown(channel, channel["settings"], patch)
        refused = dict(channel, enabled=enabled, settings=shown)
        card = _card(refused, FormErrors(*form_errors(error)))
        cards = [card if c["name"] == name else _card(c) for c in channels_list()]
        return _page(request, cards, status=400)
    messages.success(request, _("Channel %(label)s saved.") % {"label": channel["label"]})
    return redirect(reverse("ui:config-channels") + f"#channel-{name}")


@require_POST
@owner_view
def channel_test(request: HttpRequest, name: str) -> HttpResponse:
    """Send a test message through the channel to the address typed (in-app: to oneself) and
    show how it went; in the background modes it may still be pending."""
    channel = channel_detail(name)
    address = request.POST.get("address", "").strip()
    now = date_format(timezone.localtime(), "SHORT_DATETIME_FORMAT")
    message = Message(
        key=f"test:{name}:{uuid.uuid4().hex}",
        channel=name,
        subject=_("Cardfile test message"),
        body=_("This is a test of the %(channel)s channel, sent by %(user)s at %(time)s.")
        % {"channel": channel["label"], "user": request.user.get_username(), "time": now},
        user_id=request.user.pk if name == "in_app" else None,
        address="" if name == "in_app" else address,
        source="manual",
        url=reverse("ui:config-channels"),
    )
    result: dict[str, Any] = {"channel": channel}
    try:
        created = deliveries_create(messages=[message])
    except CardfileError as error:
        result["error"] = error.message
    else:
        delivery = delivery_get(request.user, created[0])
        result.update(
            delivery=delivery,
            status_class=STATUS_CLASSES.get(delivery.status, "text-bg-light"),
            log_url=reverse("ui:config-deliveries") + f"?channel={name}",
        )
    if request.htmx:
        return render(request, "ui/config/_channel_test_result.html", result)
    if "error" in result:
        messages.error(request, result["error"])
    else:
        delivery = result["delivery"]
        text = _("Test message #%(id)s: %(status)s.") % {
            "id": delivery.pk,
            "status": delivery.get_status_display(),
        }
        if delivery.last_error:
            text = f"{text} {delivery.last_error}"
        level = messages.ERROR if delivery.status in ("failed", "skipped") else messages.SUCCESS
        messages.add_message(request, level, text)
    return redirect(reverse("ui:config-channels") + f"#channel-{name}")


urlpatterns = [
    path("channels/", channel_index, name="config-channels"),
    path("channels/<str:name>/", channel_save, name="config-channel"),
    path("channels/<str:name>/test/", channel_test, name="config-channel-test"),
]
