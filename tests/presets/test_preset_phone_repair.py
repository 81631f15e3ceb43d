"""The shipped phone_repair preset: installed into an empty database, an order walked through its
statuses by the API, totals, discount, balance and commissions on known data, a technician's
restricted view, and the ready notification and uncollected reminder actually delivered."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone
from rest_framework.test import APIClient

from cardfile.core.models import Delivery
from cardfile.metamodel.models import CardLayout, Role
from cardfile.metamodel.notify.models import NotificationRule, Reminder
from cardfile.metamodel.notify.scan import reminders_scan
from cardfile.metamodel.records import record_queryset, record_to_dict
from cardfile.metamodel.saved_views import saved_view_list
from cardfile.metamodel.schema.dynamic import get_registry
from cardfile.presets.services import preset_export, preset_install, preset_load

pytestmark = [pytest.mark.embedded]

User = get_user_model()
ENTITIES = [
    "loyalty_category",
    "client",
    "employee",
    "service",
    "part",
    "device",
    "work_line",
    "part_line",
    "order",
    "payment",
]
DEMO_COUNTS = {
    "loyalty_category": 4,
    "client": 60,
    "employee": 6,
    "service": 30,
    "part": 30,
    "device": 100,
    "order": 120,
}
OPEN_STATES = {"new", "diagnostics", "awaiting_approval", "in_repair", "awaiting_parts"}


# -- helpers -----------------------------------------------------------------------------------


def _install(**options: Any):
    return preset_install(source="phone_repair", **options)


def _rows(entity: str) -> list[dict[str, Any]]:
    schema = get_registry().entity(entity)
    return [record_to_dict(schema, obj) for obj in record_queryset(entity)]


def _amount(value: dict[str, str] | None) -> Decimal:
    return Decimal(value["amount"]) if value else Decimal(0)


def _money(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "EUR"}


def _staff(username: str, role: str, email: str = "") -> User:
    user = User.objects.create_user(username=username, password="s3cret-pass!", email=email)
    user.groups.add(Group.objects.get(name=role))
    return user


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _post(api: APIClient, entity: str, data: dict[str, Any]) -> dict[str, Any]:
    response = api.post(f"/api/v1/records/{entity}/", data, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def _get(api: APIClient, entity: str, record_id: int) -> dict[str, Any]:
    response = api.get(f"/api/v1/records/{entity}/{record_id}/")
    assert response.status_code == 200, response.json()
    return response.json()


def _patch(api: APIClient, entity: str, record: dict[str, Any], **data: Any):
    current = _get(api, entity, record["id"])
    return api.patch(
        f"/api/v1/records/{entity}/{record['id']}/",
        {**data, "version": current["version"]},
        format="json",
    )


def _move(api: APIClient, order: dict[str, Any], to: str, **data: Any) -> dict[str, Any]:
    response = _patch(api, "order", order, status=to, **data)
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == to
    return response.json()


def _errors(response) -> str:
    assert response.status_code == 400, response.json()
    return " ".join(str(m) for messages in response.json()["errors"].values() for m in messages)


def _catalog(api: APIClient) -> dict[str, Any]:
    """A Gold client with a phone, two technicians (25 % and 20 %), two works and a part."""
    gold = _post(api, "loyalty_category", {"name": "Gold", "discount_percent": "10"})
    client = _post(
        api,
        "client",
        {
            "name": "Ann Becker",
            "phone": "+49 151 23456789",
            "email": "ann@example.com",
            "loyalty_category": gold["id"],
        },
    )
    device = _post(
        api,
        "device",
        {
            "client": client["id"],
            "type": "phone",
            "brand": "Apple",
            "model": "iPhone 12",
            "imei": "356789012345678",
            "pin_known": True,
            "pin": "4711",
            "accessories": ["case", "sim_card"],
        },
    )
    lukas = _post(api, "employee", {"name": "Lukas", "commission_percent": "25"})
    aylin = _post(api, "employee", {"name": "Aylin", "commission_percent": "20"})
    screen = _post(
        api,
        "service",
        {"name": "Screen replacement", "price": _money("49.00"), "warranty_days": 90},
    )
    diagnostics = _post(
        api, "service", {"name": "Diagnostics", "price": _money("25.00"), "warranty_days": 0}
    )
    display = _post(
        api,
        "part",
        {
            "name": "Display iPhone 12",
            "purchase_price": _money("62.00"),
            "sale_price": _money("119.00"),
            "warranty_days": 180,
        },
    )
    return {
        "client": client,
        "device": device,
        "lukas": lukas,
        "aylin": aylin,
        "screen": screen,
        "diagnostics": diagnostics,
        "display": display,
    }


# -- install -----------------------------------------------------------------------------------


def test_the_preset_installs_with_its_demo_data_into_an_empty_database(schema_db):
    # when
    result = _install(demo_data=True)

    # then: the whole configuration
    assert (result.name, result.version, result.previous_version) == ("phone_repair", 1, None)
    registry = get_registry()
    assert {s.slug for s in registry.entities()} >= set(ENTITIES)
    order = registry.entity("order")
    assert order.entity.title_field.slug == "number"
    assert [s["value"] for s in order.by_slug["status"].options["states"]] == [
        "new",
        "diagnostics",
        "awaiting_approval",
        "in_repair",
        "awaiting_parts",
        "ready",
        "issued",
        "refused",
    ]
    assert len(order.by_slug["status"].options["transitions"]) == 15
    assert registry.entity("device").by_slug["accessories"].type == "multi_choice"
    assert registry.entity("device").by_slug["photos"].type == "image"
    assert {r.group.name for r in Role.objects.filter(is_owner=False)} >= {
        "manager",
        "technician",
        "receptionist",
    }
    assert set(Reminder.objects.values_list("label", flat=True)) == {
        "Ready but not collected",
        "Order due today",
    }
    assert NotificationRule.objects.count() == 4
    assert CardLayout.objects.filter(entity__slug__in=["client", "device", "order"]).count() == 3
    assert [v.name for v in saved_view_list(entity="order", user=None)] == [
        "Open orders",
        "Repair board",
        "Ready, not collected",
        "Overdue",
        "Unpaid issued",
    ]

    # and the demo data: counts, users, statuses consistent with their dates
    for entity, count in DEMO_COUNTS.items():
        assert record_queryset(entity).count() == count, entity
    assert 110 <= record_queryset("payment").count() <= 140
    assert record_queryset("work_line").count() >= 120
    assert record_queryset("part_line").count() >= 40
    assert result.demo_records >= 470
    assert (
        set(
            User.objects.filter(username__in=["tech1", "tech2", "tech3", "tech4", "reception"])
            .exclude(groups__name__in=["technician", "receptionist"])
            .values_list("username", flat=True)
        )
        == set()
    )
    orders = _rows("order")
    by_status: dict[str, list[dict[str, Any]]] = {}
    for row in orders:
        by_status.setdefault(row["status"], []).append(row)
    assert len(by_status["issued"]) >= 60
    assert set(by_status) >= OPEN_STATES
    today = timezone.localdate()
    for row in by_status["issued"]:
        assert row["ready_at"] is not None
        assert row["issued_at"] is not None
        assert row["ready_at"] <= row["issued_at"]
        received = dt.datetime.fromisoformat(row["received_at"])
        assert (today - received.date()).days <= 125
    assert all(row["refusal_reason"] for row in by_status["refused"])
    assert all(row["diagnosis"] for row in by_status["awaiting_approval"])
    assert all(row["ready_at"] is None for s in OPEN_STATES - {"in_repair"} for row in by_status[s])
    # every issued order is paid in full, except some companies' orders (on invoice)
    companies = {c["id"] for c in _rows("client") if c["kind"] == "company"}
    unpaid = [r for r in by_status["issued"] if _amount(r["balance_due"]) != 0]
    assert {r["client"] for r in unpaid} <= companies
    assert sum(_amount(r["paid"]) for r in orders) == sum(
        _amount(p["amount"]) for p in _rows("payment")
    )

    # installing the same version again changes nothing
    again = _install(demo_data=True)
    assert again.steps == []
    assert record_queryset("order").count() == 120


def test_labels_install_in_russian(schema_db):
    # when
    _install(locale="ru")

    # then
    order = get_registry().entity("order")
    assert order.entity.label == "Заказ-наряд"
    states = {s["value"]: s["label"] for s in order.by_slug["status"].options["states"]}
    assert (states["ready"], states["issued"]) == ("Готов", "Выдан")
    accessories = get_registry().entity("device").by_slug["accessories"].options["choices"]
    assert {c["value"]: c["label"] for c in accessories}["charger"] == "Зарядное устройство"
    moves = {
        (m["from"], m["to"]): m["label"] for m in order.by_slug["status"].options["transitions"]
    }
    assert moves["ready", "issued"] == "Выдать клиенту"
    assert Role.objects.get(group__name="technician").label == "Мастер"
    assert NotificationRule.objects.get(to_state="ready").label == "Сообщить клиенту о готовности"


# -- statuses ----------------------------------------------------------------------------------


def test_an_order_walks_through_every_status_by_the_api(schema_db):
    # given
    _install()
    manager = _api(_staff("marta", "manager"))
    known = _catalog(manager)
    order = _post(
        manager,
        "order",
        {
            "client": known["client"]["id"],
            "device": known["device"]["id"],
            "problem": "Screen cracked.",
            "responsible": known["lukas"]["id"],
        },
    )
    assert order["status"] == "new"
    assert order["number"].startswith("PR-")
    assert order["due_date"] == (timezone.localdate() + dt.timedelta(days=3)).isoformat()

    # a jump outside the graph is refused, naming the allowed states
    message = _errors(_patch(manager, "order", order, status="ready"))
    assert "Allowed next states: Diagnostics, Refused." in message

    # awaiting approval needs a diagnosis
    _move(manager, order, "diagnostics")
    message = _errors(_patch(manager, "order", order, status="awaiting_approval"))
    assert "diagnosis" in message.lower()

    # when: the whole way to issue
    _move(manager, order, "awaiting_approval", diagnosis="Display broken.")
    _move(manager, order, "in_repair")
    _move(manager, order, "awaiting_parts")
    _move(manager, order, "in_repair")
    before = timezone.now()
    ready = _move(manager, order, "ready")
    issued = _move(manager, order, "issued")

    # then: the transitions stamped their moments
    assert dt.datetime.fromisoformat(ready["ready_at"]) >= before.replace(microsecond=0)
    assert issued["issued_at"] >= issued["ready_at"]
    message = _errors(_patch(manager, "order", order, status="in_repair"))
    assert "Allowed next states: none." in message

    # a refusal needs its reason
    other = _post(manager, "order", {"client": known["client"]["id"], "problem": "No sound."})
    message = _errors(_patch(manager, "order", other, status="refused"))
    assert "refusal_reason" in message or "Reason for refusal" in message
    refused = _move(manager, other, "refused", refusal_reason="Too expensive.")
    assert refused["issued_at"] is None


# -- formulas ----------------------------------------------------------------------------------


def test_totals_discount_balance_and_commissions_on_known_data(schema_db):
    # given: a Gold (10 %) client; Lukas takes 25 %, Aylin 20 %
    _install()
    manager = _api(_staff("marta", "manager"))
    known = _catalog(manager)
    lukas, aylin = known["lukas"]["id"], known["aylin"]["id"]

    # when: prices, descriptions and warranties come from the catalogs
    order = _post(
        manager,
        "order",
        {
            "client": known["client"]["id"],
            "device": known["device"]["id"],
            "problem": "Screen cracked.",
            "responsible": lukas,
            "prepayment": _money("50.00"),
            "work_lines": [
                {"service": known["screen"]["id"], "technician": lukas},
                {"service": known["diagnostics"]["id"], "technician": aylin},
            ],
            "part_lines": [{"part": known["display"]["id"], "technician": lukas}],
        },
    )

    # then: 49 + 25 + 119 = 193, less 10 % = 173.70; commissions 12.25 + 5.00 + 29.75
    screen_line, diagnostics_line = order["work_lines"]
    assert (screen_line["description"], screen_line["price"]) == (
        "Screen replacement",
        _money("49.00"),
    )
    assert screen_line["warranty_days"] == 90
    [part_line] = order["part_lines"]
    assert (part_line["price"], part_line["cost"]) == (_money("119.00"), _money("62.00"))
    assert (screen_line["commission"], diagnostics_line["commission"]) == (
        _money("12.25"),
        _money("5.00"),
    )
    assert part_line["commission"] == _money("29.75")
    assert Decimal(order["discount_percent"]) == Decimal("10")
    expected = {
        "works_total": "74.00",
        "parts_total": "119.00",
        "subtotal": "193.00",
        "discount": "19.30",
        "total": "173.70",
        "paid": "0.00",
        "balance_due": "123.70",
        "commission_total": "47.00",
        "parts_cost": "62.00",
        "margin": "64.70",
    }
    assert {k: order[k]["amount"] for k in expected} == expected

    # when: a payment of 100 by card
    _post(
        manager,
        "payment",
        {"order": order["id"], "method": "card", "card_amount": _money("100.00")},
    )

    # then
    order = _get(manager, "order", order["id"])
    assert (order["paid"], order["balance_due"]) == (_money("100.00"), _money("23.70"))

    # when: the screen line gets dearer (60.00)
    lines = [{"id": screen_line["id"], "price": _money("60.00")}, {"id": diagnostics_line["id"]}]
    response = _patch(manager, "order", order, work_lines=lines)
    assert response.status_code == 200, response.json()

    # then: 204 less 20.40 = 183.60; commissions 15.00 + 5.00 + 29.75
    order = _get(manager, "order", order["id"])
    expected = {
        "works_total": "85.00",
        "subtotal": "204.00",
        "discount": "20.40",
        "total": "183.60",
        "balance_due": "33.60",
        "commission_total": "49.75",
        "margin": "71.85",
    }
    assert {k: order[k]["amount"] for k in expected} == expected

    # and a mixed payment is cash plus card; a card payment may not carry cash
    mixed = _post(
        manager,
        "payment",
        {
            "order": order["id"],
            "method": "mixed",
            "cash_amount": _money("10.00"),
            "card_amount": _money("23.60"),
        },
    )
    assert mixed["amount"] == _money("33.60")
    assert _get(manager, "order", order["id"])["balance_due"] == _money("0.00")
    response = manager.post(
        "/api/v1/records/payment/",
        {"order": order["id"], "method": "card", "cash_amount": _money("5.00")},
        format="json",
    )
    assert "choose mixed" in _errors(response)

    # and the client's record counts what they spent on issued orders only
    client = _get(manager, "client", known["client"]["id"])
    assert (client["orders_count"], client["total_spent"]) == (1, _money("0.00"))
    for state in ("diagnostics", "in_repair", "ready", "issued"):
        _move(manager, order, state)
    client = _get(manager, "client", known["client"]["id"])
    assert client["total_spent"] == _money("183.60")


# -- access ------------------------------------------------------------------------------------


def test_a_technician_sees_only_own_orders_and_no_purchase_prices(schema_db):
    # given: the demo shop; tech1 (Lukas Brandt) signs in with a password
    _install(demo_data=True)
    tech = User.objects.get(username="tech1")
    tech.set_password("bench-and-solder-42")
    tech.save()
    api = APIClient()
    response = api.post(
        "/api/v1/auth/token/",
        {"username": "tech1", "password": "bench-and-solder-42"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    api.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    lukas = next(e for e in _rows("employee") if e["user"] == tech.pk)
    orders = _rows("order")
    mine = {o["id"] for o in orders if o["responsible"] == lukas["id"]}
    assert 10 <= len(mine) < len(orders)

    # when
    listed = api.get("/api/v1/records/order/", {"page_size": 200}).json()

    # then: only his orders, without purchase costs or margins
    assert {row["id"] for row in listed["results"]} == mine
    for row in listed["results"]:
        assert "parts_cost" not in row
        assert "margin" not in row
        for line in row["part_lines"]:
            assert "cost" not in line
            assert "cost_amount" not in line
            assert "price" in line
    parts = api.get("/api/v1/records/part/", {"page_size": 50}).json()["results"]
    assert len(parts) == 30
    assert all("purchase_price" not in p and "margin" not in p and "sale_price" in p for p in parts)
    filtered = api.get("/api/v1/records/part/", {"where": "purchase_price > 0"})
    assert filtered.status_code == 400

    # another technician's order does not exist for him; payments are not his business
    other = next(o for o in orders if o["responsible"] not in (lukas["id"], None))
    assert api.get(f"/api/v1/records/order/{other['id']}/").status_code == 404
    assert api.get("/api/v1/records/payment/").status_code == 403

    # he may finish a repair but not issue it
    ready = next(o for o in orders if o["id"] in mine and o["status"] == "ready")
    message = _errors(_patch(api, "order", ready, status="issued"))
    assert "Allowed next states: In repair." in message
    working = next(
        (o for o in orders if o["id"] in mine and o["status"] == "in_repair"), None
    ) or next(o for o in orders if o["id"] in mine and o["status"] == "awaiting_parts")
    # the parts he fits get their purchase price, which he does not see
    part = next(p for p in _rows("part") if p["sku"] == "APL-D-12")
    lines = [{"id": line["id"]} for line in working["part_lines"]]
    lines.append({"part": part["id"], "technician": lukas["id"]})
    response = _patch(api, "order", working, part_lines=lines)
    assert response.status_code == 200, response.json()
    fitted = response.json()["part_lines"][-1]
    assert (fitted["price"], "cost" in fitted) == (_money("119.00"), False)
    stored = next(o for o in _rows("order") if o["id"] == working["id"])
    assert stored["part_lines"][-1]["cost"] == _money("62.00")
    assert _amount(stored["parts_cost"]) >= Decimal("62.00")

    # refusing is the manager's call
    message = _errors(_patch(api, "order", working, status="refused"))
    assert "Refused" not in message.split("Allowed next states:")[1]
    target = "ready" if working["status"] == "in_repair" else "in_repair"
    assert _patch(api, "order", working, status=target).status_code == 200

    # the receptionist issues it, and never sees purchase prices either
    reception = User.objects.get(username="reception")
    front = _api(reception)
    response = _patch(front, "order", ready, status="issued")
    assert response.status_code == 200, response.json()
    assert "parts_cost" not in response.json()
    assert "commission_total" not in response.json()
    for line in response.json()["work_lines"]:
        assert "commission" not in line
    part = front.get("/api/v1/records/part/", {"page_size": 10}).json()["results"][0]
    assert "purchase_price" not in part


# -- notifications -----------------------------------------------------------------------------


def test_the_client_is_told_when_ready_and_reminded_after_seven_days(
    schema_db, django_capture_on_commit_callbacks
):
    # given
    _install()
    manager_user = _staff("marta", "manager", email="marta@example.com")
    manager = _api(manager_user)
    known = _catalog(manager)
    tech = _staff("lukas", "technician")
    response = _patch(manager, "employee", known["lukas"], user=tech.pk)
    assert response.status_code == 200, response.json()

    # when: an order is taken in for Lukas
    with django_capture_on_commit_callbacks(execute=True):
        order = _post(
            manager,
            "order",
            {
                "client": known["client"]["id"],
                "device": known["device"]["id"],
                "problem": "Battery drains.",
                "responsible": known["lukas"]["id"],
            },
        )

    # then: he finds it in the app
    [note] = Delivery.objects.filter(source="rule", record_id=order["id"])
    assert (note.channel, note.user_id) == ("in_app", tech.pk)
    assert note.body.startswith(f"New order {order['number']} (Apple iPhone 12) is yours:")
    _move(manager, order, "diagnostics")
    _move(manager, order, "in_repair")

    # when: the repair is done
    with django_capture_on_commit_callbacks(execute=True):
        ready = _move(manager, order, "ready")

    # then: an SMS and an email to the client
    told = Delivery.objects.filter(source="rule", record_id=order["id"]).exclude(pk=note.pk)
    assert sorted(told.values_list("channel", "address")) == [
        ("email", "ann@example.com"),
        ("sms", "+4915123456789"),
    ]
    assert "is repaired and ready to collect" in told.get(channel="email").body

    # when: nobody came for a week
    ready_at = dt.datetime.fromisoformat(ready["ready_at"])
    with (
        time_machine.travel(ready_at + dt.timedelta(days=6), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        reminders_scan()
    assert not Delivery.objects.filter(source="reminder").exists()
    with (
        time_machine.travel(ready_at + dt.timedelta(days=7, hours=1), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        reminders_scan()

    # then: the client and the manager are reminded
    reminded = Delivery.objects.filter(source="reminder", record_id=order["id"])
    assert {(d.channel, d.address or d.user_id) for d in reminded} >= {
        ("sms", "+4915123456789"),
        ("email", "ann@example.com"),
        ("in_app", manager_user.pk),
    }
    assert "has been ready since" in reminded.filter(channel="email").first().body


# -- export ------------------------------------------------------------------------------------


def _shape(preset) -> dict[str, list[tuple]]:
    """Per entity, each field as the installer takes it (computed definitions included)."""
    keys = ("expression", "through", "field", "aggregate", "target", "choices", "pattern")
    return {
        entity.slug: [
            (
                f["slug"],
                f["type"],
                bool(f.get("required")),
                f.get("default_formula") or "",
                {k: (f.get("options") or {}).get(k) for k in keys},
            )
            for f in entity.fields
        ]
        for entity in preset.entities
    }


def _graph(preset) -> tuple[list, list]:
    [status] = [f for f in preset.entity("order").fields if f["slug"] == "status"]
    states = [
        {"group": "open", "required": [], "color": "", **state}
        for state in status["options"]["states"]
    ]
    moves = [
        {"roles": [], "set": {}, "label": "", **move} for move in status["options"]["transitions"]
    ]
    return states, moves


def test_the_export_gives_back_the_preset_it_was_installed_from(schema_db, tmp_path):
    # given
    _install()
    shipped = preset_load("phone_repair")

    # when
    written = preset_export(directory=tmp_path / "one", name="phone_repair", title="Phone repair")
    preset_export(directory=tmp_path / "two", name="phone_repair", title="Phone repair")

    # then: a valid preset with the same fields, formulas, statuses, roles and messages
    exported = preset_load(tmp_path / "one")
    assert [e.slug for e in exported.entities] == [e.slug for e in shipped.entities]
    assert _shape(exported) == _shape(shipped)
    assert _graph(exported) == _graph(shipped)

    def rules(preset) -> dict[str, dict[str, tuple]]:
        return {
            role["name"]: {
                entity: (rights.get("rule") or "", rights.get("fields") or {})
                for entity, rights in role["permissions"].items()
            }
            for role in preset.roles
        }

    assert rules(exported) == rules(shipped)
    assert rules(exported)["technician"]["order"][0] == "responsible.user = ME()"
    assert rules(exported)["technician"]["part"][1] == {
        "purchase_price": "hidden",
        "margin": "hidden",
    }
    assert sorted(r["label"] for r in exported.reminders + exported.rules) == sorted(
        r["label"] for r in shipped.reminders + shipped.rules
    )
    views = {e.slug: [v["name"] for v in e.data.get("views", [])] for e in exported.entities}
    assert views["order"] == [v["name"] for v in shipped.entity("order").data["views"]]
    # and the same configuration always gives the same files
    for path in written:
        name = path.relative_to(tmp_path / "one")
        assert (tmp_path / "two" / name).read_text() == path.read_text(), name
