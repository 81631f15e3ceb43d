"""Notification rules: fired after commit by record events, with conditions, recipients through
links and roles, and templates that see the record's fields, links and lines.

The tests commit (``transaction=True``): events fire after the commit, and deliveries are sent
eagerly after theirs (CARDFILE_TASK_MODE=eager), outside any transaction as in production.
Emails land in Django's test outbox, in-app notifications as rows.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core import mail

from cardfile.core.models import AuditLog, Delivery, Notification
from cardfile.metamodel.notify import rules as rules_module
from cardfile.metamodel.notify.services import (
    NotifyValidationError,
    rule_create,
    rule_delete,
    rule_update,
)
from cardfile.metamodel.records import record_create, record_update
from cardfile.metamodel.schema.services import field_create
from tests.builders import grant
from tests.notify_builders import new_client, rule_data
from tests.status_builders import build_status_schema

pytestmark = [pytest.mark.embedded, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def shop(schema_db, owner):
    registry = build_status_schema(owner)
    field_create(entity="order", slug="technician", label="Technician", type="user", user=owner)
    return registry


def _rule(owner, **overrides: Any):
    return rule_create(data=rule_data(**overrides), user=owner)


def _order(client=None, **data: Any):
    client = client or new_client()
    return record_create(entity="order", data={"client": client.pk, **data})


def _update(order, **data: Any):
    order.refresh_from_db()
    return record_update(
        entity="order", record_id=order.pk, data={**data, "version": order.version}
    )


def _rule_deliveries(**filters: Any) -> list[Delivery]:
    return list(Delivery.objects.filter(source="rule", **filters).order_by("id"))


# -- definitions -------------------------------------------------------------------------------


def test_a_rule_is_saved_and_audited(shop, owner):
    rule = _rule(owner, event="status_changed", field="status", to_state="ready")
    assert (rule.event, rule.field.slug, rule.to_state) == ("status_changed", "status", "ready")
    assert rule.label == "order: status_changed"
    rule = rule_update(rule_id=rule.pk, data={"to_state": "issued", "label": "Issued"}, user=owner)
    assert (rule.to_state, rule.label) == ("issued", "Issued")
    rule_delete(rule_id=rule.pk, user=owner)
    actions = AuditLog.objects.filter(object_type="notification_rule").values_list(
        "action", flat=True
    )
    assert sorted(actions) == ["create", "delete", "update"]


def test_events_fields_and_states_are_checked(shop, owner):
    def errors(**overrides: Any) -> dict[str, list[str]]:
        with pytest.raises(NotifyValidationError) as caught:
            _rule(owner, **overrides)
        return caught.value.errors

    assert "deleted" in errors(event="deleted")["event"][0]
    assert "watches no field" in errors(event="created", field="state")["field"][0]
    assert "status" in errors(event="status_changed", field="state")["field"][0]
    assert "status" in errors(event="status_changed")["field"][0]
    message = errors(event="status_changed", field="status", to_state="done")["to_state"][0]
    assert "new, diagnostics, ready, issued, cancelled" in message
    assert "to_state" in errors(event="updated", to_state="ready")
    assert "no field" in errors(event="updated", field="colour")["field"][0]


def test_a_broken_template_is_refused_with_its_line(shop, owner):
    with pytest.raises(NotifyValidationError) as caught:
        _rule(owner, template="Hello {{ record.client.name }}\nYour order {% if %} is ready")
    [message] = caught.value.errors["template"]
    assert message.startswith("Line 2: ")


# -- firing ------------------------------------------------------------------------------------


def test_a_created_rule_emails_the_client_through_the_link(shop, owner):
    # given
    _rule(owner)
    client = new_client("Ann")

    # when
    order = _order(client)

    # then: one delivery, sent after the commit
    [delivery] = _rule_deliveries()
    assert (delivery.channel, delivery.address, delivery.status) == (
        "email",
        "ann@example.com",
        "sent",
    )
    assert delivery.record_id == order.pk
    [email] = mail.outbox
    assert email.to == ["ann@example.com"]
    assert email.subject.startswith("New order RO-")
    assert email.body.startswith("Hello Ann, we took order RO-")


def test_an_updated_rule_with_a_field_fires_only_when_that_field_changed(shop, owner):
    # given
    _rule(owner, event="updated", field="state", template="{{ record.state }}")
    _rule(owner, event="updated", template="anything changed", label="any")
    order = _order()

    # when: another field changes
    _update(order, price="12")

    # then: only the rule without a field
    assert [d.body for d in _rule_deliveries()] == ["anything changed"]

    # when: the state changes
    _update(order, state="ready")

    # then
    assert sorted(d.body for d in _rule_deliveries()) == ["anything changed"] * 2 + ["ready"]


def test_a_status_rule_fires_for_its_state_with_a_condition(shop, owner):
    # given
    _rule(
        owner,
        event="status_changed",
        field="status",
        to_state="diagnostics",
        template="{{ record.client.name }}: {{ record.status }}",
        condition='client.name = "Ann"',
    )
    _rule(owner, event="status_changed", field="status", to_state="cancelled", label="x")
    ann = _order(new_client("Ann"))
    bob = _order(new_client("Bob"))

    # when
    _update(ann, status="diagnostics")
    _update(bob, status="diagnostics")

    # then: Ann's order only, and not the rule for another state
    [delivery] = _rule_deliveries()
    assert (delivery.record_id, delivery.body) == (ann.pk, "Ann: Diagnostics")


def test_role_members_get_in_app_notifications_and_emails(shop, owner, clerk):
    # given: two managers, one without an email address
    user_model = get_user_model()
    anna = user_model.objects.create_user(username="anna", email="anna@shop.example")
    grant(anna, "order", role="manager")
    grant(clerk, "order", role="manager")
    user_model.objects.create_user(username="gone", is_active=False).groups.add(anna.groups.get())
    _rule(
        owner,
        recipients=[{"role": "manager"}],
        channels=["in_app", "email"],
        subject="Order {{ record.number }}",
        template="{{ record.client.name }} ordered.\n{{ url }}",
    )

    # when
    order = _order(new_client("Ann"))

    # then
    sent = {(d.channel, d.user_id, d.address, d.status) for d in _rule_deliveries()}
    assert sent == {
        ("in_app", anna.pk, "", "sent"),
        ("in_app", clerk.pk, "", "sent"),
        ("email", anna.pk, "anna@shop.example", "sent"),
        ("email", clerk.pk, "", "skipped"),
    }
    notes = Notification.objects.order_by("user_id")
    assert [n.user_id for n in notes] == sorted([anna.pk, clerk.pk])
    assert notes[0].title.startswith("Order RO-")
    assert notes[0].url == f"http://localhost:8000/r/order/{order.pk}/"
    assert f"/r/order/{order.pk}/" in notes[0].body


def test_the_template_sees_fields_links_and_lines_formatted(shop, owner):
    # given
    _rule(
        owner,
        template=(
            "{{ entity }} {{ record.number }} for {{ record.client }} ({{ record.client.email }})\n"
            "{% for line in record.lines %}{{ line.item }} x{{ line.qty }} {{ line.price }}\n"
            "{% endfor %}price {{ record.price }}, state {{ record.state }}, id {{ record.id }}"
            "{{ record.missing }}{{ record._cf }}"
        ),
    )
    client = new_client("Ann")

    # when
    order = _order(
        client,
        price="1234.5",
        lines=[
            {"item": "Screen", "qty": 1, "price": {"amount": "120", "currency": "EUR"}},
            {"item": "Glue", "qty": 2, "price": {"amount": "3.5", "currency": "USD"}},
        ],
    )

    # then
    [delivery] = _rule_deliveries()
    number = delivery.body.split()[1]
    assert number.startswith("RO-")
    assert delivery.body == (
        f"Order {number} for Ann (ann@example.com)\n"
        "Screen x1 €120.00\n"
        "Glue x2 $3.50\n"
        f"price 1,234.50, state new, id {order.pk}"
    )


def test_an_event_delivered_twice_sends_once(shop, owner):
    _rule(owner)
    order = _order()
    payload = {"entity": "order", "record_id": order.pk, "user_id": None, "version": 1}

    assert rules_module.on_record_event(event="record_created", **payload) == 0

    assert len(_rule_deliveries()) == 1
    assert len(mail.outbox) == 1


def test_a_failing_rule_touches_neither_the_write_nor_the_other_rules(shop, owner):
    # given: a rule whose template fails when rendered
    _rule(owner, template="{{ 1 / 0 }}", label="broken")
    _rule(owner, template="fine", label="fine")

    # when
    order = _order()

    # then
    assert order.pk is not None
    assert [d.body for d in _rule_deliveries()] == ["fine"]


def test_inactive_rules_and_other_entities_do_not_fire(shop, owner):
    _rule(owner, active=False)
    _rule(
        owner,
        entity="client",
        recipients=[{"field": "email"}],
        template="Welcome, {{ record.name }}",
        label="client",
    )
    _order()  # creates a client too
    assert [d.entity for d in _rule_deliveries()] == ["client"]
