from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConnectorsConfig(AppConfig):
    name = "cardfile.connectors"
    label = "connectors"
    verbose_name = _("Connectors")

    def ready(self) -> None:
        # The channels register themselves with the outbox (cardfile.core.deliveries).
        from . import channels  # noqa: F401
