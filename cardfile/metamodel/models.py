"""Metadata tables: entities, fields, the schema version, archived columns, counters, history.

The tables that hold user records are not here: they are generated from these rows
(`schema/dynamic.py`) and named from ids (`cf_e12`, column `f57`), never from user text.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

SLUG_MAX_LENGTH = 63
slug_validator = RegexValidator(
    r"^[a-z][a-z0-9_]*\Z",
    _("Use lowercase latin letters, digits and underscores, starting with a letter."),
    code="invalid_slug",
)


class SchemaState(models.Model):
    """One row. ``token`` changes with every committed schema change; processes key their
    cache of generated models on it. A token, not the counter alone, because a counter value
    seen inside a transaction that rolled back could be reused by another process."""

    version = models.BigIntegerField(default=1)
    token = models.CharField(max_length=32)
    # Changes with every committed change of roles, rights, memberships or branches; processes
    # key their cache of users' rights on it (`cardfile.metamodel.access`).
    access_token = models.CharField(max_length=32, default="", blank=True)
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("schema state")

    def __str__(self) -> str:
        return f"schema v{self.version}"


class Entity(models.Model):
    """A user-defined kind of record (Client, Order...). Its table is ``cf_e<id>``."""

    slug = models.CharField(_("slug"), max_length=SLUG_MAX_LENGTH, validators=[slug_validator])
    label = models.CharField(_("label"), max_length=200)
    label_plural = models.CharField(_("plural label"), max_length=200, blank=True, default="")
    description = models.TextField(_("description"), blank=True, default="")
    title_field = models.ForeignKey(
        "Field",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("title field"),
    )
    position = models.IntegerField(default=0)
    # The menu group the entity is listed under in the web UI ("Sales", "Catalogs"); blank:
    # the ungrouped top of the menu. Groups appear in the order of their first entity.
    nav_group = models.CharField(_("menu group"), max_length=100, blank=True, default="")
    # [{"condition": "<boolean formula>", "message": "...", "field": "<slug>" | null}]: a record
    # is saved only if no condition is FALSE (blank passes, as in SQL CHECK constraints).
    validation_rules = models.JSONField(_("validation rules"), default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(_("in trash since"), null=True, blank=True)

    class Meta:
        verbose_name = _("entity")
        verbose_name_plural = _("entities")
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["slug"], condition=Q(deleted_at__isnull=True), name="entity_live_slug_uniq"
            )
        ]

    def __str__(self) -> str:
        return self.label or self.slug

    @property
    def table_name(self) -> str:
        return f"cf_e{self.pk}"

    @property
    def model_name(self) -> str:
        return f"E{self.pk}"


class Field(models.Model):
    """A field of an entity. Its column is ``f<id>`` (``f<id>_<rev>`` after a type change)."""

    entity = models.ForeignKey(Entity, on_delete=models.CASCADE, related_name="fields")
    slug = models.CharField(_("slug"), max_length=SLUG_MAX_LENGTH, validators=[slug_validator])
    label = models.CharField(_("label"), max_length=200)
    type = models.CharField(_("type"), max_length=32)
    required = models.BooleanField(_("required"), default=False)
    unique = models.BooleanField(_("unique"), default=False)
    indexed = models.BooleanField(_("indexed"), default=False)
    default = models.JSONField(_("default value"), null=True, blank=True)
    # A formula computed for a new record that leaves the field out (instead of ``default``).
    default_formula = models.TextField(_("default formula"), blank=True, default="")
    options = models.JSONField(_("options"), default=dict, blank=True)
    help_text = models.TextField(_("help text"), blank=True, default="")
    position = models.IntegerField(default=0)
    # Bumped when a type change moves the values to a new column; the old one is archived.
    column_rev = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(_("in trash since"), null=True, blank=True)

    class Meta:
        verbose_name = _("field")
        verbose_name_plural = _("fields")
        ordering = ["entity_id", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["entity", "slug"],
                condition=Q(deleted_at__isnull=True),
                name="field_live_slug_uniq",
            )
        ]

    def __str__(self) -> str:
        return f"{self.entity.slug}.{self.slug}" if self.entity_id else self.slug

    @property
    def attname(self) -> str:
        """The attribute on the generated model; stable across renames and type changes."""
        return f"f{self.pk}"

    @property
    def column(self) -> str:
        return f"f{self.pk}" if not self.column_rev else f"f{self.pk}_{self.column_rev}"


class ArchivedColumn(models.Model):
    """A column kept after a type change, so the values before the change stay recoverable."""

    field = models.ForeignKey(Field, on_delete=models.CASCADE, related_name="archived_columns")
    column_rev = models.PositiveIntegerField()
    type = models.CharField(max_length=32)
    options = models.JSONField(default=dict)
    default = models.JSONField(null=True, blank=True)
    archived_at = models.DateTimeField(auto_now_add=True)
    archived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    failed_count = models.PositiveIntegerField(
        default=0, help_text=_("Values that did not convert and were left blank.")
    )

    class Meta:
        verbose_name = _("archived column")
        ordering = ["-archived_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["field", "column_rev"], name="archived_column_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.field} ({self.type}, {self.archived_at:%Y-%m-%d %H:%M})"

    @property
    def column(self) -> str:
        return f"f{self.field_id}" if not self.column_rev else f"f{self.field_id}_{self.column_rev}"


class AutonumberCounter(models.Model):
    """The last number given by an autonumber field, per period (``RO-2026-`` restarts yearly)."""

    field = models.ForeignKey(Field, on_delete=models.CASCADE, related_name="+")
    period = models.CharField(max_length=64, blank=True, default="")
    last = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["field", "period"], name="autonumber_period_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.field_id}:{self.period}={self.last}"


class RecordHistory(models.Model):
    """One change of one record: who, when, and each changed field's value before and after.

    ``changes`` is keyed by field id, so a rename never orphans history:
    ``{"57": [before, after], ...}``; child-table lines appear under their field's id as
    ``{"added": [...], "changed": [...], "removed": [...]}``.
    """

    class Action(models.TextChoices):
        CREATE = "create", _("created")
        UPDATE = "update", _("changed")
        DELETE = "delete", _("moved to trash")
        RESTORE = "restore", _("restored")

    entity = models.ForeignKey(Entity, on_delete=models.CASCADE, related_name="+")
    record_id = models.BigIntegerField()
    action = models.CharField(max_length=16, choices=Action.choices)
    at = models.DateTimeField(auto_now_add=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    version = models.PositiveIntegerField(default=1)
    changes = models.JSONField(default=dict)

    class Meta:
        verbose_name = _("record history entry")
        verbose_name_plural = _("record history")
        ordering = ["entity_id", "record_id", "id"]
        indexes = [models.Index(fields=["entity", "record_id", "id"], name="history_record_idx")]

    def __str__(self) -> str:
        return f"{self.entity_id}/{self.record_id} {self.action} v{self.version}"


class Role(models.Model):
    """A set of rights given to users: a Django group (membership is ``user.groups``) with a
    label, and for an owner role every right on everything, the schema and the roles included.

    Rights per entity are `EntityRights` rows; a user's rights are the union over their roles.
    """

    group = models.OneToOneField(
        "auth.Group", on_delete=models.CASCADE, related_name="cardfile_role"
    )
    label = models.CharField(_("label"), max_length=200)
    description = models.TextField(_("description"), blank=True, default="")
    is_owner = models.BooleanField(
        _("owner"),
        default=False,
        help_text=_("Owners may do everything, configure the schema and manage roles and users."),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("role")
        verbose_name_plural = _("roles")
        ordering = ["group__name"]

    def __str__(self) -> str:
        return self.label or self.group.name

    @property
    def name(self) -> str:
        return self.group.name


class EntityRights(models.Model):
    """What one role may do with one entity: operations, field rules and a row rule.

    ``fields`` maps field ids (as text, so a rename changes nothing) to ``"hidden"`` or
    ``"read_only"``. ``rule`` is a boolean formula over the record (``master = ME()``); blank
    means every row. For a line entity (the target of a child table) only ``fields`` counts:
    its lines are read and written through the parent, with the parent's rights.
    """

    OPERATIONS = ("read", "create", "update", "delete", "export", "print", "configure")
    # one boolean column per operation: ``can_<operation>``

    role = models.ForeignKey(Role, on_delete=models.CASCADE, related_name="rights")
    entity = models.ForeignKey(Entity, on_delete=models.CASCADE, related_name="+")
    can_read = models.BooleanField(_("read"), default=False)
    can_create = models.BooleanField(_("create"), default=False)
    can_update = models.BooleanField(_("update"), default=False)
    can_delete = models.BooleanField(_("delete"), default=False)
    can_export = models.BooleanField(_("export"), default=False)
    can_print = models.BooleanField(_("print"), default=False)
    can_configure = models.BooleanField(_("configure"), default=False)
    fields = models.JSONField(_("field rules"), default=dict, blank=True)
    rule = models.TextField(_("row rule"), blank=True, default="")

    class Meta:
        verbose_name = _("entity rights")
        verbose_name_plural = _("entity rights")
        constraints = [
            models.UniqueConstraint(fields=["role", "entity"], name="entity_rights_role_entity")
        ]

    def __str__(self) -> str:
        return f"{self.role} / {self.entity_id}"


class CardLayout(models.Model):
    """How an entity's record card is arranged; an entity without one gets the default card
    (every field in order, child tables full width).

    ``layout`` names fields by id, so a rename changes nothing::

        {"tabs": [{"label": "Main", "sections": [{"label": "Client", "columns": [
            [{"field": 57}, {"field": 58, "visible_if": "type = \"company\""}], [...]]}]}]}

    ``visible_if`` is a boolean formula over the record; the field shows when it is not FALSE.
    """

    entity = models.OneToOneField(Entity, on_delete=models.CASCADE, related_name="card_layout")
    layout = models.JSONField(_("layout"), default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("card layout")
        verbose_name_plural = _("card layouts")

    def __str__(self) -> str:
        return f"layout of {self.entity_id}"


class SavedView(models.Model):
    """A named list view of an entity: columns, sort, filter and search. A view without
    ``user`` is shared with everyone who may read the entity; otherwise it is the user's own.

    ``config``: ``{"columns": [<field id>...], "sort": "-created_at,name", "where": "<formula>",
    "search": "", "filters": [<filter builder rows>], "page_size": 50, "kanban_field": <id>}``.
    """

    entity = models.ForeignKey(Entity, on_delete=models.CASCADE, related_name="saved_views")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("owner"),
    )
    name = models.CharField(_("name"), max_length=200)
    config = models.JSONField(_("settings"), default=dict, blank=True)
    position = models.IntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")
        ordering = ["entity_id", "position", "id"]
        indexes = [models.Index(fields=["entity", "user"], name="saved_view_entity_user_idx")]

    def __str__(self) -> str:
        return self.name

    @property
    def shared(self) -> bool:
        return self.user_id is None


# Reminders and notification rules live in their sub-package; imported here so Django finds them.
from cardfile.metamodel.notify.models import (  # noqa: E402, F401
    NotificationRule,
    Reminder,
    ReminderSent,
)
