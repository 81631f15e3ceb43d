"""Writing reminders and notification rules, in the shape the API speaks.

Only owners and roles with ``configure`` on the entity may manage them. Input is checked as a
whole (`definitions`), every problem reported at once by key; each change writes an audit
entry. A reminder's date field gets an index (through the field service, so the DDL runs in
this transaction and the schema version moves): the scan then reads due rows by range.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cardfile.core.exceptions import InvalidInput, Problems
from cardfile.core.models import AuditLog
from cardfile.core.services import audit_log_record
from cardfile.metamodel.access.definitions import require_configure
from cardfile.metamodel.models import Field
from cardfile.metamodel.schema.dynamic import EntitySchema, get_registry
from cardfile.metamodel.schema.field_services import field_update
from cardfile.metamodel.schema.sync import schema_atomic

from .definitions import (
    clean_at_time,
    clean_channels,
    clean_condition,
    clean_date_field,
    clean_entity,
    clean_keys,
    clean_label,
    clean_offset,
    clean_recipients,
    clean_repeat,
    clean_template,
    one_of,
)
from .models import NotificationRule, Reminder, RuleEvent
from .selectors import User, reminder_as_dict, reminder_get, rule_as_dict, rule_get

MESSAGE_KEYS = ("condition", "recipients", "channels", "template", "subject", "label", "active")
REMINDER_KEYS = ("entity", "field", "offset", "at_time", "repeat", *MESSAGE_KEYS)
RULE_KEYS = ("entity", "event", "field", "to_state", *MESSAGE_KEYS)
# Shown by GET and harmless to send back with a PATCH.
READ_ONLY_KEYS = ("id", "scanned_until")
# A change of any of these starts the reminder's scan afresh from now (no flood of old dues).
TIMING_KEYS = ("entity", "field", "offset", "at_time", "repeat")


class NotifyValidationError(InvalidInput):
    """A reminder or rule that does not fit; ``errors`` by key (``offset.unit``,
    ``recipients[2].field``), ``formula`` where the condition is wrong."""


def _problems() -> Problems:
    return Problems(NotifyValidationError)


def _audit(user: User, action: str, obj: Reminder | NotificationRule, before=None, after=None):
    kind = "reminder" if isinstance(obj, Reminder) else "notification_rule"
    audit_log_record(
        user=user,
        action=action,
        object_type=kind,
        object_id=obj.pk,
        object_repr=f"{obj.entity.slug}: {obj.label}",
        before=before,
        after=after,
    )


def _schema_for(data: Any, user: User, problems: Problems) -> EntitySchema | None:
    """The entity ``data`` names, once the user may configure it."""
    schema = clean_entity(get_registry(), data.get("entity"), problems)
    if schema is not None:
        require_configure(user, schema.slug)
    return schema


def _merged(data: Any, current: dict[str, Any], allowed: tuple[str, ...]) -> dict[str, Any]:
    problems = _problems()
    clean_keys(data, allowed + READ_ONLY_KEYS, problems)
    problems.raise_any()
    merged = {**current, **{k: v for k, v in data.items() if k not in READ_ONLY_KEYS}}
    return {k: v for k, v in merged.items() if k not in READ_ONLY_KEYS}


def _clean_message(
    schema: EntitySchema | None, data: dict[str, Any], default_label: str, problems: Problems
) -> dict[str, Any]:
    channels = clean_channels(data.get("channels"), problems)
    condition = data.get("condition")
    return {
        "condition": "" if schema is None else clean_condition(schema, condition, problems),
        "channels": channels,
        "recipients": clean_recipients(
            get_registry(), schema, data.get("recipients"), channels, problems
        ),
        "template": clean_template("template", data.get("template"), problems, required=True),
        "subject": clean_template("subject", data.get("subject"), problems, required=False),
        "label": clean_label(data.get("label"), default_label, problems),
        "active": problems.boolean("active", data.get("active", True)),
    }


# -- reminders ---------------------------------------------------------------------------------


def _clean_reminder(data: Any, user: User) -> tuple[EntitySchema, Field, dict[str, Any]]:
    problems = _problems()
    clean_keys(data, REMINDER_KEYS, problems)
    schema = _schema_for(data, user, problems)
    f = None if schema is None else clean_date_field(schema, data.get("field"), problems)
    amount, unit = clean_offset(data.get("offset"), problems)
    every, repeat_unit = clean_repeat(data.get("repeat"), problems)
    values = {
        "offset_amount": amount,
        "offset_unit": unit,
        "at_time": clean_at_time(data.get("at_time"), problems),
        "repeat_every": every,
        "repeat_unit": repeat_unit,
    }
    default_label = f"{data.get('entity')}.{data.get('field')}"
    values.update(_clean_message(schema, data, default_label, problems))
    problems.raise_any()
    return schema, f, values


def _ensure_indexed(schema: EntitySchema, f: Field, user: User) -> None:
    """The scan reads due rows by a range of this column: it needs the index."""
    if not f.indexed:
        field_update(entity=schema.slug, field=f.slug, indexed=True, user=user)


@schema_atomic()
def reminder_create(*, data: Any, user: User = None) -> Reminder:
    """A new reminder from the API shape; its field gets an index if it has none."""
    schema, f, values = _clean_reminder(data, user)
    _ensure_indexed(schema, f, user)
    reminder = Reminder.objects.create(
        entity=schema.entity, field_id=f.pk, scanned_until=timezone.now(), **values
    )
    reminder = Reminder.objects.select_related("entity", "field").get(pk=reminder.pk)
    _audit(user, AuditLog.Action.CREATE, reminder, after=reminder_as_dict(reminder))
    return reminder


@schema_atomic()
def reminder_update(*, reminder_id: int, data: Any, user: User = None) -> Reminder:
    """Change the attributes ``data`` gives; the rest stay. A change of its timing (entity,
    field, offset, time, repetition) or switching it back on scans from now on."""
    reminder = reminder_get(reminder_id=reminder_id, user=user)
    reminder = (
        Reminder.objects.select_for_update().select_related("entity", "field").get(pk=reminder.pk)
    )
    before = reminder_as_dict(reminder)
    merged = _merged(data, before, REMINDER_KEYS)
    schema, f, values = _clean_reminder(merged, user)
    _ensure_indexed(schema, f, user)
    restart = any(merged.get(k) != before.get(k) for k in TIMING_KEYS) or (
        values["active"] and not reminder.active
    )
    for name, value in values.items():
        setattr(reminder, name, value)
    reminder.entity = schema.entity
    reminder.field_id = f.pk
    if restart:
        reminder.scanned_until = timezone.now()
    reminder.save()
    reminder = Reminder.objects.select_related("entity", "field").get(pk=reminder.pk)
    after = reminder_as_dict(reminder)
    _audit(
        user,
        AuditLog.Action.UPDATE,
        reminder,
        before={k: v for k, v in before.items() if k != "scanned_until"},
        after={k: v for k, v in after.items() if k != "scanned_until"},
    )
    return reminder


@transaction.atomic
def reminder_delete(*, reminder_id: int, user: User = None) -> None:
    """Delete a reminder and its sent-log."""
    reminder = reminder_get(reminder_id=reminder_id, user=user)
    _audit(user, AuditLog.Action.DELETE, reminder, before=reminder_as_dict(reminder))
    reminder.delete()


# -- notification rules ------------------------------------------------------------------------


def _states(f: Field) -> list[str]:
    return [
        state["value"] if isinstance(state, dict) else str(state)
        for state in f.options.get("states", [])
    ]


def _clean_trigger(
    schema: EntitySchema | None, data: dict[str, Any], problems: Problems
) -> dict[str, Any]:
    """The event, the watched field and the state entered."""
    event = data.get("event")
    if event not in RuleEvent.values:
        problems.add(
            "event",
            _("%(value)r is not an event; use one of: %(events)s.")
            % {"value": event, "events": one_of(RuleEvent.values)},
        )
        return {"event": "", "field": None, "to_state": ""}
    slug = data.get("field") or None
    to_state = data.get("to_state") or ""
    if schema is None:
        return {"event": event, "field": None, "to_state": ""}
    f = None
    if slug is not None:
        f = schema.by_slug.get(slug) if isinstance(slug, str) else None
        if f is None:
            problems.add(
                "field",
                _("%(entity)s has no field %(field)r.") % {"entity": schema.slug, "field": slug},
            )
    if event == RuleEvent.CREATED and slug is not None:
        problems.add("field", _("A rule on created records watches no field; leave it empty."))
    if event == RuleEvent.STATUS_CHANGED:
        statuses = [g.slug for g in schema.fields if g.type == "status"]
        if slug is None or (f is not None and f.type != "status"):
            problems.add(
                "field",
                _("Name the status field of %(entity)s whose changes fire the rule: %(fields)s.")
                % {"entity": schema.slug, "fields": one_of(statuses) or "-"},
            )
            f = None
        if (
            f is not None
            and to_state
            and (not isinstance(to_state, str) or to_state not in _states(f))
        ):
            problems.add(
                "to_state",
                _("%(value)r is not a state of %(field)s: %(states)s.")
                % {"value": to_state, "field": f.slug, "states": one_of(_states(f))},
            )
    elif to_state:
        problems.add("to_state", _("Only a rule on status changes takes a state."))
    return {"event": event, "field": f, "to_state": to_state if isinstance(to_state, str) else ""}


def _clean_rule(data: Any, user: User) -> tuple[EntitySchema, dict[str, Any]]:
    problems = _problems()
    clean_keys(data, RULE_KEYS, problems)
    schema = _schema_for(data, user, problems)
    values = _clean_trigger(schema, data, problems)
    default_label = f"{data.get('entity')}: {data.get('event')}"
    values.update(_clean_message(schema, data, default_label, problems))
    problems.raise_any()
    return schema, values


@transaction.atomic
def rule_create(*, data: Any, user: User = None) -> NotificationRule:
    """A new notification rule from the API shape."""
    schema, values = _clean_rule(data, user)
    rule = NotificationRule.objects.create(entity=schema.entity, **values)
    rule = NotificationRule.objects.select_related("entity", "field").get(pk=rule.pk)
    _audit(user, AuditLog.Action.CREATE, rule, after=rule_as_dict(rule))
    return rule


@transaction.atomic
def rule_update(*, rule_id: int, data: Any, user: User = None) -> NotificationRule:
    """Change the attributes ``data`` gives; the rest stay."""
    rule = rule_get(rule_id=rule_id, user=user)
    before = rule_as_dict(rule)
    schema, values = _clean_rule(_merged(data, before, RULE_KEYS), user)
    for name, value in values.items():
        setattr(rule, name, value)
    rule.entity = schema.entity
    rule.save()
    rule = NotificationRule.objects.select_related("entity", "field").get(pk=rule.pk)
    _audit(user, AuditLog.Action.UPDATE, rule, before=before, after=rule_as_dict(rule))
    return rule


@transaction.atomic
def rule_delete(*, rule_id: int, user: User = None) -> None:
    rule = rule_get(rule_id=rule_id, user=user)
    _audit(user, AuditLog.Action.DELETE, rule, before=rule_as_dict(rule))
    rule.delete()
