"""A repair-order status for tests: the shop schema plus order.status with five states.

new -> diagnostics (anyone), diagnostics -> ready (managers only; needs a price),
ready -> issued (anyone; sets closed_at = NOW()), new -> cancelled (anyone),
* -> cancelled (managers only).
"""

from __future__ import annotations

from cardfile.metamodel.records import record_create
from cardfile.metamodel.schema.dynamic import get_registry
from cardfile.metamodel.schema.services import field_create
from tests.builders import build_shop_schema, grant

STATES = [
    {"value": "new", "label": "New", "color": "#0d6efd", "group": "open"},
    {"value": "diagnostics", "label": "Diagnostics", "color": "orange", "group": "in_progress"},
    {
        "value": "ready",
        "label": "Ready",
        "color": "green",
        "group": "done",
        "required": ["price"],
    },
    {"value": "issued", "label": "Issued", "color": "gray", "group": "done"},
    {"value": "cancelled", "label": "Cancelled", "color": "red", "group": "cancelled"},
]
TRANSITIONS = [
    {"from": "new", "to": "diagnostics", "label": "Start diagnostics"},
    {"from": "diagnostics", "to": "ready", "roles": ["manager"]},
    {"from": "ready", "to": "issued", "set": {"closed_at": "NOW()"}, "label": "Issue"},
    {"from": "new", "to": "cancelled"},
    {"from": "*", "to": "cancelled", "roles": ["manager"]},
]
STATUS_OPTIONS = {"states": STATES, "initial": "new", "transitions": TRANSITIONS}


def build_status_schema(user=None):
    """The shop schema; order gains price (decimal), closed_at (datetime) and status."""
    build_shop_schema(user)
    return add_status_fields(user)


def add_status_fields(user=None):
    """Order (of a schema built already) gains price, closed_at and status."""
    field_create(entity="order", slug="price", label="Price", type="decimal", user=user)
    field_create(entity="order", slug="closed_at", label="Closed at", type="datetime", user=user)
    field_create(
        entity="order",
        slug="status",
        label="Status",
        type="status",
        options=STATUS_OPTIONS,
        user=user,
    )
    return get_registry()


def staff(user, role):
    """Give ``user`` the role ``role`` with read, create and update on clients and orders."""
    return grant(user, "client", "order", ops=("read", "create", "update"), role=role)


def new_order(**data):
    """An order (as the system) for a fresh client."""
    client = record_create(entity="client", data={"name": "Ann"})
    return record_create(entity="order", data={"client": client.pk, **data})
