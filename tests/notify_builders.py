"""Builders for reminder and notification-rule tests: the shop schema with dates, a user field
and a Telegram chat id, and definitions in the API's shape."""

from __future__ import annotations

from typing import Any

from cardfile.metamodel.records import record_create
from cardfile.metamodel.schema.dynamic import get_registry
from cardfile.metamodel.schema.services import field_create
from tests.builders import build_shop_schema


def build_reminder_schema(user=None):
    """The shop schema; order gains due (date), pickup_at (datetime) and technician (user),
    client gains telegram (text: a chat id)."""
    build_shop_schema(user)
    field_create(entity="order", slug="due", label="Due", type="date", user=user)
    field_create(entity="order", slug="pickup_at", label="Pick-up", type="datetime", user=user)
    field_create(entity="order", slug="technician", label="Technician", type="user", user=user)
    field_create(entity="client", slug="telegram", label="Telegram", type="text", user=user)
    return get_registry()


def new_client(name: str = "Ann", **data: Any):
    data.setdefault("email", f"{name.lower()}@example.com")
    return record_create(entity="client", data={"name": name, **data})


def new_order(client=None, **data: Any):
    client = client or new_client()
    return record_create(entity="order", data={"client": client.pk, **data})


def reminder_data(**overrides: Any) -> dict[str, Any]:
    """A reminder the day before an order's due date, by email to its client."""
    return {
        "entity": "order",
        "field": "due",
        "offset": {"amount": -1, "unit": "days"},
        "recipients": [{"field": "client.email"}],
        "channels": ["email"],
        "subject": "Order {{ record.number }}",
        "template": "Hello {{ record.client.name }}, order {{ record.number }} is due "
        "{{ record.due }}.",
        **overrides,
    }


def rule_data(**overrides: Any) -> dict[str, Any]:
    """A rule on created orders, by email to the client."""
    return {
        "entity": "order",
        "event": "created",
        "recipients": [{"field": "client.email"}],
        "channels": ["email"],
        "subject": "New order {{ record.number }}",
        "template": "Hello {{ record.client.name }}, we took order {{ record.number }}.",
        **overrides,
    }
