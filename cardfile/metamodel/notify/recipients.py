"""Who receives a reminder or a rule's message for one record, on which channel, at which address.

A recipient is ``{"field": "<path>"}`` (a field of the record, or of a record it links to:
``client.email``), ``{"role": "<name>"}`` (its active members) or ``{"user": "<username>"}``.
What a recipient gives depends on the channel:

============  ======================  =================  ================  ===========
channel       email field             phone field        text field        user
============  ======================  =================  ================  ===========
email         the address             -                  -                 user.email
sms           -                       the number         -                 - (no phone)
telegram      -                       -                  the chat id       - (no chat)
in_app        -                       -                  -                 the user
============  ======================  =================  ================  ===========

A field that is blank for this record still gives a message, with no address: the outbox logs
it as skipped with the reason, so the owner sees that the client has no email. A combination
the table leaves out gives nothing (the definition was accepted because the recipient reaches
another of the channels); the reason is returned for the log.

`record_messages` is what reminders and rules share: the texts rendered for one record and
resolved to messages.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import phonenumbers
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import models
from django.utils import translation
from django.utils.translation import gettext as _

from cardfile.core.deliveries import Message
from cardfile.core.templating import template_render
from cardfile.metamodel.schema.dynamic import EntitySchema, SchemaRegistry

from .context import template_context

# The user-valued system columns a recipient path may end in.
SYSTEM_USERS = ("created_by", "updated_by")
# Field types a path may end in, and the channels each reaches.
REACHES: dict[str, tuple[str, ...]] = {
    "email": ("email",),
    "phone": ("sms",),
    "text": ("telegram",),
    "user": ("email", "in_app"),
}
KEY_MAX_LENGTH = 255


@dataclass(frozen=True)
class Target:
    """One resolved recipient: a user, or an address of one kind (or a blank one)."""

    kind: str  # "email" | "phone" | "text" | "user"
    value: Any  # an address text, a user, or "" when the record's field is blank
    source: str  # "client.email", "role:manager", "user:anna" (for keys and reasons)


@dataclass
class Resolved:
    messages: list[Message] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # why a recipient gave nothing


def message_key(*parts: Any) -> str:
    """An idempotency key from ``parts``; one too long keeps its start and a digest."""
    key = ":".join(str(part) for part in parts)
    if len(key) <= KEY_MAX_LENGTH:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"{key[: KEY_MAX_LENGTH - 33]}#{digest}"


def normal_phone(text: str) -> str:
    """A phone number in E.164 where it parses (the installation's region for local numbers)."""
    try:
        number = phonenumbers.parse(text, settings.CARDFILE_PHONE_REGION)
    except phonenumbers.NumberParseException:
        return text.strip()
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _walk(
    registry: SchemaRegistry, schema: EntitySchema, obj: models.Model | None, path: str
) -> Target | None:
    """The value at ``path`` for ``obj``: links followed (a trashed or missing one is blank)."""
    steps = path.split(".")
    for position, slug in enumerate(steps):
        last = position == len(steps) - 1
        if last and slug in SYSTEM_USERS:
            user_id = None if obj is None else getattr(obj, f"{slug}_id")
            return _user_target(user_id, path)
        f = schema.by_slug.get(slug)
        if f is None:
            return None  # the schema changed since the definition was saved
        if not last:
            if f.type != "link":
                return None
            target = registry.entity_by_id(f.options["target_id"])
            linked = None if obj is None else getattr(obj, f"{f.attname}_id")
            obj = (
                None
                if linked is None
                else target.model._base_manager.filter(pk=linked, deleted_at__isnull=True).first()
            )
            schema = target
            continue
        if f.type == "user":
            return _user_target(None if obj is None else getattr(obj, f"{f.attname}_id"), path)
        if f.type not in REACHES:
            return None
        value = None if obj is None else getattr(obj, f.attname)
        text = "" if value is None else str(value).strip()
        if f.type == "phone" and text:
            text = normal_phone(text)
        return Target(f.type, text, path)
    return None


def _user_target(user_id: int | None, source: str) -> Target:
    user = None
    if user_id is not None:
        user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    return Target("user", user or "", source)


def targets(
    registry: SchemaRegistry, schema: EntitySchema, obj: models.Model, recipients: list[dict]
) -> tuple[list[Target], list[str]]:
    """Every recipient of ``obj`` as targets, and why some gave none."""
    found: list[Target] = []
    skipped: list[str] = []
    user_model = get_user_model()
    for spec in recipients:
        if "field" in spec:
            target = _walk(registry, schema, obj, spec["field"])
            if target is None:
                skipped.append(
                    _("%(path)s is no longer a recipient field of %(entity)s.")
                    % {"path": spec["field"], "entity": schema.slug}
                )
            else:
                found.append(target)
        elif "role" in spec:
            group = Group.objects.filter(name=spec["role"]).first()
            members = [] if group is None else group.user_set.filter(is_active=True).order_by("pk")
            if not members:
                skipped.append(_("Role %(role)s has no active members.") % {"role": spec["role"]})
            found.extend(Target("user", user, f"role:{spec['role']}") for user in members)
        elif "user" in spec:
            user = user_model.objects.filter(
                **{user_model.USERNAME_FIELD: spec["user"]}, is_active=True
            ).first()
            if user is None:
                skipped.append(
                    _("User %(user)s does not exist or is inactive.") % {"user": spec["user"]}
                )
            else:
                found.append(Target("user", user, f"user:{spec['user']}"))
    return found, skipped


def _address(target: Target, channel: str) -> tuple[bool, int | None, str]:
    """(whether ``target`` reaches ``channel``, the user id, the address)."""
    if target.kind == "user":
        user = target.value or None
        user_id = None if user is None else user.pk
        if channel == "in_app":
            return user is not None, user_id, ""
        if channel == "email":
            # a blank user field: no message; a user without an email: a skipped one
            return user is not None, user_id, (user.email or "") if user is not None else ""
        return False, user_id, ""
    return channel in REACHES[target.kind], None, target.value


def resolve(
    registry: SchemaRegistry,
    schema: EntitySchema,
    obj: models.Model,
    *,
    recipients: list[dict],
    channels: list[str],
    key_prefix: str,
    texts: dict[str, tuple[str, str]],
    source: str,
    source_id: int,
    url: str = "",
) -> Resolved:
    """The messages for ``obj``: one per channel and address (or user), each keyed
    ``<key_prefix>:<channel>:<address or user>``. ``texts`` maps each channel to its
    (subject, body)."""
    result = Resolved()
    found, result.skipped = targets(registry, schema, obj, recipients)
    seen: set[tuple[str, str]] = set()
    for channel in channels:
        for target in found:
            reaches, user_id, address = _address(target, channel)
            if not reaches:
                if target.kind == "user" and channel in ("sms", "telegram") and target.value:
                    result.skipped.append(
                        _("%(who)s is a user; users have no %(channel)s address.")
                        % {"who": target.source, "channel": channel}
                    )
                continue
            who = address.lower() if address else (f"user{user_id}" if user_id else "")
            if not who:
                who = f"blank:{target.source}"
            if (channel, who) in seen:
                continue
            seen.add((channel, who))
            subject, body = texts[channel]
            result.messages.append(
                Message(
                    key=message_key(key_prefix, channel, who),
                    channel=channel,
                    body=body,
                    subject=subject,
                    user_id=user_id,
                    address=address,
                    source=source,
                    source_id=source_id,
                    entity=schema.slug,
                    record_id=obj.pk,
                    url=url,
                )
            )
    return result


def render(definition: Any, context: dict[str, Any]) -> tuple[str, str]:
    """(subject, body) of a reminder's or rule's message, in the installation's language;
    without a subject template the subject is the definition's name."""
    with translation.override(settings.LANGUAGE_CODE):
        body = template_render(definition.template, context)
        subject = definition.label
        if definition.subject:
            subject = template_render(definition.subject, context, field="subject")
    return " ".join(subject.split())[:300], body


def record_messages(
    registry: SchemaRegistry,
    schema: EntitySchema,
    definition: Any,
    obj: models.Model,
    *,
    key_prefix: str,
    source: str,
) -> Resolved:
    """The messages of ``definition`` (a reminder or a rule) for ``obj``: its subject and body
    rendered for the record, to each recipient on each channel (see `resolve`)."""
    context = template_context(registry, schema, obj)
    texts = render(definition, context)
    return resolve(
        registry,
        schema,
        obj,
        recipients=definition.recipients,
        channels=definition.channels,
        key_prefix=key_prefix,
        texts=dict.fromkeys(definition.channels, texts),
        source=source,
        source_id=definition.pk,
        url=context["url"],
    )
