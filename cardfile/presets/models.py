"""What the installer remembers of each installed preset."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class PresetInstallation(models.Model):
    """One preset installed here: its name, version, and what the installer last applied.

    ``applied`` maps each object the preset made (entities, fields, roles, views, layouts,
    reminders, rules) to its id and the values the installer gave it, so an upgrade changes an
    attribute only while it still holds that value (the owner has not changed it), and knows an
    object the owner deleted from one it never made.
    """

    name = models.CharField(_("name"), max_length=63, unique=True)
    version = models.PositiveIntegerField(_("version"))
    title = models.CharField(_("title"), max_length=200, blank=True, default="")
    locale = models.CharField(_("locale"), max_length=16, blank=True, default="")
    currency = models.CharField(_("currency"), max_length=3, blank=True, default="")
    demo_data = models.BooleanField(_("demo data loaded"), default=False)
    applied = models.JSONField(_("applied values"), default=dict)
    installed_at = models.DateTimeField(_("installed at"), auto_now_add=True)
    upgraded_at = models.DateTimeField(_("upgraded at"), null=True, blank=True)

    class Meta:
        verbose_name = _("preset installation")
        verbose_name_plural = _("preset installations")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"
