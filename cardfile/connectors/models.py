"""The settings of each message channel, as owners edit them."""

from __future__ import annotations

from django.conf import settings as django_settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ChannelConfig(models.Model):
    """Whether a channel is on, and its settings (validated against the channel's schema by
    `cardfile.connectors.services.channel_update`). A channel without a row has its defaults."""

    name = models.CharField(_("channel"), max_length=16, unique=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    settings = models.JSONField(_("settings"), default=dict, blank=True)
    updated_at = models.DateTimeField(_("changed"), auto_now=True)
    updated_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("changed by"),
    )

    class Meta:
        verbose_name = _("channel settings")
        verbose_name_plural = _("channel settings")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
