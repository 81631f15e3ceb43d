"""Reminders and notification rules through /api/v1/meta/: the JSON shape, errors keyed by the
JSON key, who may manage them, and a reminder made through the API being sent by the scan."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from cardfile.core.models import AuditLog, Delivery
from cardfile.metamodel.notify.scan import reminders_scan
from tests.builders import grant
from tests.notify_builders import build_reminder_schema, new_order, reminder_data, rule_data

pytestmark = [pytest.mark.embedded]

REMINDERS = "/api/v1/meta/reminders/"
RULES = "/api/v1/meta/notification-rules/"


@pytest.fixture
def shop(owner):
    return build_reminder_schema(owner)


def _post(api, url, body):
    response = api.post(url, body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_reminders_are_created_read_changed_and_deleted(api, shop):
    # when: the example, a service reminder every six months
    body = reminder_data(
        offset={"amount": -1, "unit": "days"},
        repeat={"every": 6, "unit": "months"},
        condition='state <> "issued"',
        label="Service",
    )
    created = _post(api, REMINDERS, body)

    # then
    assert created["entity"] == "order"
    assert created["field"] == "due"
    assert created["offset"] == {"amount": -1, "unit": "days"}
    assert created["repeat"] == {"every": 6, "unit": "months"}
    assert created["at_time"] == "09:00"
    assert created["recipients"] == [{"field": "client.email"}]
    assert created["channels"] == ["email"]
    assert created["active"] is True
    url = f"{REMINDERS}{created['id']}/"
    assert api.get(url).json() == created
    assert [r["id"] for r in api.get(REMINDERS).json()] == [created["id"]]
    assert api.get(REMINDERS, {"entity": "client"}).json() == []

    # when: changed (what GET gave may be sent back)
    changed = api.patch(url, {**created, "repeat": None, "at_time": "10:30"}, format="json")

    # then
    assert changed.status_code == 200, changed.json()
    assert changed.json()["repeat"] is None
    assert changed.json()["at_time"] == "10:30"
    assert changed.json()["label"] == "Service"

    # when: deleted
    assert api.delete(url).status_code == 204

    # then
    assert api.get(url).status_code == 404
    actions = AuditLog.objects.filter(object_type="reminder").values_list("action", flat=True)
    assert sorted(actions) == ["create", "delete", "update"]


def test_errors_are_keyed_by_the_json_key(api, shop):
    response = api.post(
        REMINDERS,
        reminder_data(
            field="client",
            offset={"amount": "soon", "unit": "days"},
            condition="total >",
            recipients=[{"field": "client.phone"}],
            template="{% for x in %}",
        ),
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    assert set(body["errors"]) == {
        "field",
        "offset.amount",
        "condition",
        "recipients[1]",
        "template",
    }
    assert body["formula"]["path"] == "condition"
    assert body["formula"]["caret"]
    assert body["errors"]["template"][0].startswith("Line 1: ")

    response = api.post(REMINDERS, reminder_data(entity="nothing"), format="json")
    assert response.status_code == 400
    assert "nothing" in response.json()["errors"]["entity"][0]


def test_only_owners_and_configurers_manage_them(api, clerk_api, clerk, shop):
    reminder = _post(api, REMINDERS, reminder_data())
    rule = _post(api, RULES, rule_data())
    grant(clerk, "order", ops=("read", "update"))

    assert clerk_api.post(REMINDERS, reminder_data(), format="json").status_code == 403
    assert clerk_api.get(f"{REMINDERS}{reminder['id']}/").status_code == 403
    assert clerk_api.get(REMINDERS).json() == []
    assert clerk_api.get(f"{RULES}{rule['id']}/").status_code == 403
    assert clerk_api.delete(f"{RULES}{rule['id']}/").status_code == 403

    grant(clerk, "order", ops=("read", "configure"), role="configurer")
    assert [r["id"] for r in clerk_api.get(REMINDERS).json()] == [reminder["id"]]
    assert clerk_api.get(f"{RULES}{rule['id']}/").status_code == 200


def test_anonymous_callers_are_refused(shop):
    from rest_framework.test import APIClient

    assert APIClient().get(REMINDERS).status_code == 401
    assert APIClient().get(RULES).status_code == 401


def test_notification_rules_are_created_read_changed_and_deleted(api, shop):
    created = _post(api, RULES, rule_data(event="updated", field="state", condition="TRUE"))
    assert {k: created[k] for k in ("entity", "event", "field", "to_state", "condition")} == {
        "entity": "order",
        "event": "updated",
        "field": "state",
        "to_state": "",
        "condition": "TRUE",
    }
    url = f"{RULES}{created['id']}/"
    assert api.get(url).json() == created
    assert [r["id"] for r in api.get(RULES).json()] == [created["id"]]

    response = api.patch(url, {"event": "created"}, format="json")
    assert response.status_code == 400
    assert "field" in response.json()["errors"]

    response = api.patch(url, {"event": "created", "field": None}, format="json")
    assert response.status_code == 200, response.json()
    assert (response.json()["event"], response.json()["field"]) == ("created", None)

    response = api.patch(url, {"template": "{{ record.number }"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"]["template"][0].startswith("Line 1: ")

    assert api.delete(url).status_code == 204
    assert api.get(url).status_code == 404


def test_a_reminder_made_through_the_api_is_sent_by_the_scan(api, shop):
    # given
    order = new_order(due="2031-03-10")
    with time_machine.travel(dt.datetime(2031, 3, 1, tzinfo=dt.UTC), tick=False):
        _post(api, REMINDERS, reminder_data())

    # when
    with time_machine.travel(dt.datetime(2031, 3, 9, 9, 5, tzinfo=dt.UTC), tick=False):
        result = reminders_scan()

    # then
    assert result.due == 1
    [delivery] = Delivery.objects.filter(source="reminder")
    assert (delivery.record_id, delivery.address) == (order.pk, "ann@example.com")
