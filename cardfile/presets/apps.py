from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PresetsConfig(AppConfig):
    name = "cardfile.presets"
    label = "presets"
    verbose_name = _("Presets")
