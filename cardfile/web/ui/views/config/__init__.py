"""The configurator under /config/: entities, fields, card layouts, roles, users, branches,
the audit log and the trash. Each module keeps its own ``urlpatterns``; every view calls the
same services and checks as the REST API (`cardfile.web.api.meta`, `.accounts`)."""

from __future__ import annotations

from . import accounts, audit, entities, fields, formula, layout, roles

urlpatterns = [
    *entities.urlpatterns,
    *fields.urlpatterns,
    *formula.urlpatterns,
    *layout.urlpatterns,
    *roles.urlpatterns,
    *accounts.urlpatterns,
    *audit.urlpatterns,
]
