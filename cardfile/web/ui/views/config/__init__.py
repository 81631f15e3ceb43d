"""The configurator under /config/: entities, fields, card layouts, roles, users, branches,
the audit log and the trash; reminders, notification rules, channels and the delivery log;
presets (install, upgrade, export) and the company's settings. Each module keeps its own
``urlpatterns``; every view calls the same services and checks as the REST API
(`cardfile.web.api.meta`, `.accounts`, `.notify`, `.notifications`, `.installation`)."""

from __future__ import annotations

from . import (
    accounts,
    audit,
    channels,
    company,
    deliveries,
    entities,
    fields,
    formula,
    layout,
    notify_rules,
    presets,
    reminders,
    roles,
)

urlpatterns = [
    *entities.urlpatterns,
    *fields.urlpatterns,
    *formula.urlpatterns,
    *layout.urlpatterns,
    *roles.urlpatterns,
    *accounts.urlpatterns,
    *audit.urlpatterns,
    *reminders.urlpatterns,
    *notify_rules.urlpatterns,
    *channels.urlpatterns,
    *deliveries.urlpatterns,
    *presets.urlpatterns,
    *company.urlpatterns,
]
