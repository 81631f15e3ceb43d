from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "cardfile.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        # Job handlers register themselves in each app's jobs.py (see cardfile.core.jobs).
        autodiscover_modules("jobs")
