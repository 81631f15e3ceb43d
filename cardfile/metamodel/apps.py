from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MetamodelConfig(AppConfig):
    name = "cardfile.metamodel"
    label = "metamodel"
    verbose_name = _("Metamodel")

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from cardfile.formula_engine.sql.sqlite import on_connection_created

        # SQLite runs formula arithmetic and functions through Python (exact decimals).
        connection_created.connect(on_connection_created, dispatch_uid="cardfile_formula_sqlite")

        from .access.signals import connect

        connect()  # a change of rights reaches every process's cache

        from .notify.rules import connect as connect_rules

        connect_rules()  # notification rules hear record events
