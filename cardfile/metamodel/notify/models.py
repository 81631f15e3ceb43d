"""Reminder and notification-rule definitions, and the sent-log that makes a reminder go once.

Imported by `cardfile.metamodel.models`, so the tables belong to the metamodel app.
"""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

LABEL_MAX_LENGTH = 200
SUBJECT_MAX_LENGTH = 300


class OffsetUnit(models.TextChoices):
    MINUTES = "minutes", _("minutes")
    HOURS = "hours", _("hours")
    DAYS = "days", _("days")
    MONTHS = "months", _("months")


class RepeatUnit(models.TextChoices):
    DAYS = "days", _("days")
    MONTHS = "months", _("months")


class RuleEvent(models.TextChoices):
    CREATED = "created", _("record created")
    UPDATED = "updated", _("record changed")
    STATUS_CHANGED = "status_changed", _("status changed")


def default_at_time() -> dt.time:
    return dt.time(9, 0)


class _Message(models.Model):
    """What a reminder and a rule share: whom to tell, how, and what to say."""

    label = models.CharField(_("name"), max_length=LABEL_MAX_LENGTH)
    # a boolean formula over the record; blank: always
    condition = models.TextField(_("condition"), blank=True, default="")
    # [{"field": "client.email"} | {"role": "manager"} | {"user": "anna"}]
    recipients = models.JSONField(_("recipients"), default=list)
    # ["email", "sms", "telegram", "in_app"]
    channels = models.JSONField(_("channels"), default=list)
    subject = models.CharField(_("subject"), max_length=SUBJECT_MAX_LENGTH, blank=True, default="")
    template = models.TextField(_("message template"))
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class Reminder(_Message):
    """A message due at a moment computed from a date or datetime field of each record:
    ``value + offset`` (a date field's value taken at ``at_time``), and with a repetition again
    every ``repeat_every`` ``repeat_unit`` after that. The scan (`notify.scan`) looks at due
    moments in ``(scanned_until - lookback, now]`` and moves ``scanned_until`` on."""

    entity = models.ForeignKey(
        "metamodel.Entity", on_delete=models.CASCADE, related_name="reminders"
    )
    field = models.ForeignKey("metamodel.Field", on_delete=models.CASCADE, related_name="+")
    offset_amount = models.IntegerField(_("offset"), default=0)
    offset_unit = models.CharField(
        _("offset unit"), max_length=8, choices=OffsetUnit.choices, default=OffsetUnit.DAYS
    )
    at_time = models.TimeField(_("at time"), default=default_at_time)
    repeat_every = models.PositiveIntegerField(_("repeat every"), null=True, blank=True)
    repeat_unit = models.CharField(
        _("repeat unit"), max_length=8, choices=RepeatUnit.choices, null=True, blank=True
    )
    scanned_until = models.DateTimeField(_("scanned until"), default=timezone.now)

    class Meta:
        verbose_name = _("reminder")
        verbose_name_plural = _("reminders")
        ordering = ["entity_id", "id"]

    def __str__(self) -> str:
        return self.label


class ReminderSent(models.Model):
    """One reminder decided for one record and due moment. Written in the transaction that
    creates its deliveries; the constraint makes a second decision impossible."""

    reminder = models.ForeignKey(Reminder, on_delete=models.CASCADE, related_name="sent")
    record_id = models.BigIntegerField()
    due_at = models.DateTimeField()
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("reminder sent")
        verbose_name_plural = _("reminders sent")
        constraints = [
            models.UniqueConstraint(
                fields=["reminder", "record_id", "due_at"], name="reminder_sent_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.reminder_id}/{self.record_id} @ {self.due_at:%Y-%m-%d %H:%M}"


class NotificationRule(_Message):
    """A message sent when a record of ``entity`` is created, changed (``field``: only when
    that field changed) or moves to another state (``field``: the status field; ``to_state``:
    only into that state)."""

    entity = models.ForeignKey(
        "metamodel.Entity", on_delete=models.CASCADE, related_name="notification_rules"
    )
    event = models.CharField(_("event"), max_length=16, choices=RuleEvent.choices)
    field = models.ForeignKey(
        "metamodel.Field", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    to_state = models.CharField(_("into state"), max_length=100, blank=True, default="")

    class Meta:
        verbose_name = _("notification rule")
        verbose_name_plural = _("notification rules")
        ordering = ["entity_id", "id"]
        indexes = [models.Index(fields=["entity", "event"], name="notification_rule_event_idx")]

    def __str__(self) -> str:
        return self.label
