"""Branches (shop locations) and the audit log of configuration changes."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Branch(models.Model):
    """A shop location. A business has one or many; records may carry the branch they belong to."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    address = models.TextField(_("address"), blank=True, default="")
    phone = models.CharField(_("phone"), max_length=32, blank=True, default="")
    is_active = models.BooleanField(_("active"), default=True)
    users = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="branches", blank=True, verbose_name=_("users")
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("branch")
        verbose_name_plural = _("branches")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AuditLog(models.Model):
    """Who changed which piece of configuration, when, and from what to what."""

    class Action(models.TextChoices):
        CREATE = "create", _("created")
        UPDATE = "update", _("changed")
        DELETE = "delete", _("moved to trash")
        RESTORE = "restore", _("restored")
        PURGE = "purge", _("purged")

    at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("user"),
    )
    action = models.CharField(_("action"), max_length=16, choices=Action.choices)
    object_type = models.CharField(_("object type"), max_length=40)
    object_id = models.CharField(_("object id"), max_length=64)
    object_repr = models.CharField(_("object"), max_length=300)
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)

    class Meta:
        verbose_name = _("audit log entry")
        verbose_name_plural = _("audit log")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.user} {self.action} {self.object_repr}"


class Job(models.Model):
    """Long-running work (a recompute, an import, an export) as a row the UI shows as progress.

    `cardfile.core.jobs` creates, claims and finishes these rows; nothing else writes them.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")
        CANCELLED = "cancelled", _("cancelled")

    kind = models.CharField(_("kind"), max_length=64)
    title = models.CharField(_("title"), max_length=300)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.QUEUED
    )
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    progress_done = models.BigIntegerField(_("done"), default=0)
    progress_total = models.BigIntegerField(_("total"), default=0)
    message = models.TextField(_("message"), blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="jobs",
        verbose_name=_("started by"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    # Written on every claim and progress report; a running job whose heartbeat is older than
    # CARDFILE_JOB_STALE_SECONDS lost its worker and may be claimed again.
    heartbeat_at = models.DateTimeField(_("last sign of life"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)

    class Meta:
        verbose_name = _("job")
        verbose_name_plural = _("jobs")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title} ({self.status})"

    @property
    def progress_percent(self) -> int:
        """Whole percent done, 0 to 100; a finished job is at 100 whatever it last reported."""
        if self.status == self.Status.DONE:
            return 100
        if self.progress_total <= 0:
            return 0
        done = min(max(self.progress_done, 0), self.progress_total)
        return done * 100 // self.progress_total


class ApiToken(models.Model):
    """A revocable API key of one user. Only a hash of the key is stored; the key itself is
    shown once, when the token is made. A user may hold several (one per script or device)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="api_tokens",
        verbose_name=_("user"),
    )
    name = models.CharField(_("name"), max_length=100, blank=True, default="")
    prefix = models.CharField(_("starts with"), max_length=8)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.user} {self.prefix}… {self.name}".strip()


class Delivery(models.Model):
    """One message to one recipient on one channel: the outbox and the delivery log at once.

    `cardfile.core.deliveries` creates, claims and finishes these rows; ``key`` makes creating
    the same message twice a no-op, the conditional claim makes sending it twice one send.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        SENDING = "sending", _("sending")
        SENT = "sent", _("sent")
        FAILED = "failed", _("failed")
        SKIPPED = "skipped", _("skipped")

    class Source(models.TextChoices):
        REMINDER = "reminder", _("reminder")
        RULE = "rule", _("notification rule")
        MANUAL = "manual", _("manual")

    key = models.CharField(_("idempotency key"), max_length=255, unique=True)
    channel = models.CharField(_("channel"), max_length=16)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deliveries",
        verbose_name=_("recipient"),
    )
    address = models.CharField(_("address"), max_length=255, blank=True, default="")
    subject = models.CharField(_("subject"), max_length=300, blank=True, default="")
    body = models.TextField(_("text"), blank=True, default="")
    # The link an in-app notification opens.
    url = models.CharField(_("link"), max_length=500, blank=True, default="")
    source = models.CharField(
        _("source"), max_length=16, choices=Source.choices, default=Source.MANUAL
    )
    source_id = models.IntegerField(_("source id"), null=True, blank=True)
    entity = models.CharField(_("entity"), max_length=63, blank=True, default="")
    record_id = models.BigIntegerField(_("record"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True, db_index=True)
    # When the current attempt took the row; a `sending` row claimed longer ago than
    # CARDFILE_DELIVERY_STALE_SECONDS lost its worker and may be claimed again.
    claimed_at = models.DateTimeField(_("claimed"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True, default="")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["entity", "record_id"]),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.channel} {self.address or self.user_id} ({self.status})"


class Notification(models.Model):
    """An in-app notification: the bell's unread count and list. Made by the in-app channel,
    at most one per delivery."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        verbose_name=_("user"),
    )
    delivery = models.OneToOneField(
        Delivery,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="notification",
        verbose_name=_("delivery"),
    )
    title = models.CharField(_("title"), max_length=300)
    body = models.TextField(_("text"), blank=True, default="")
    url = models.CharField(_("link"), max_length=500, blank=True, default="")
    entity = models.CharField(_("entity"), max_length=63, blank=True, default="")
    record_id = models.BigIntegerField(_("record"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at"])]

    def __str__(self) -> str:
        return f"{self.user} {self.title}"


class Installation(models.Model):
    """What the first-start setup chose for this installation: one row (id 1) or none yet.

    ``set_up_at`` is null until the setup finished; while it is null and no user exists, the web
    UI opens the setup wizard. A blank ``language`` leaves the language to each browser.
    """

    SINGLETON_ID = 1

    company_name = models.CharField(_("company name"), max_length=200, blank=True, default="")
    currency = models.CharField(_("currency"), max_length=3, blank=True, default="")
    language = models.CharField(_("language"), max_length=16, blank=True, default="")
    preset = models.CharField(_("preset"), max_length=63, blank=True, default="")
    set_up_at = models.DateTimeField(_("set up"), null=True, blank=True)
    updated_at = models.DateTimeField(_("changed"), auto_now=True)

    class Meta:
        verbose_name = _("installation")
        verbose_name_plural = _("installation")
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="core_installation_singleton")
        ]

    def __str__(self) -> str:
        return self.company_name or "Cardfile"

    @property
    def is_set_up(self) -> bool:
        return self.set_up_at is not None
