from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MetamodelConfig(AppConfig):
    name = "cardfile.metamodel"
    label = "metamodel"
    verbose_name = _("Metamodel")
