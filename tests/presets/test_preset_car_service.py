"""The shipped car service preset: installed into an empty database, a work order walked through
its statuses by the API, totals, discount, balance and commissions on known data, a mechanic's
restricted view, and the messages the preset sends (car ready, next service reminder)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import yaml
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone
from rest_framework.test import APIClient

from cardfile.core.models import Delivery
from cardfile.metamodel.models import (
    CardLayout,
    Entity,
    NotificationRule,
    Reminder,
    Role,
    SavedView,
)
from cardfile.metamodel.notify.scan import reminders_scan
from cardfile.metamodel.records import record_create, record_update
from cardfile.metamodel.schema.dynamic import get_registry
from cardfile.presets.services import preset_export, preset_install, preset_load

pytestmark = pytest.mark.embedded

User = get_user_model()
RECORDS = "/api/v1/records"
PASSWORD = "s3cret-pass!"
ENTITIES = {
    "loyalty_category": 4,
    "client": 60,
    "employee": 6,
    "work": 30,
    "part": 30,
    "vehicle": 70,
    "work_order": 120,
    "payment": 118,
}
LINES = ("labour_line", "part_line")


# -- helpers -----------------------------------------------------------------------------------


def _model(entity: str):
    return get_registry().entity(entity).model


def _attr(entity: str, field: str) -> str:
    return get_registry().entity(entity).by_slug[field].attname


def _value(entity: str, record_id: int, field: str) -> Any:
    obj = _model(entity)._base_manager.get(pk=record_id)
    return getattr(obj, _attr(entity, field))


def _money(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "EUR"}


def _api(user) -> APIClient:
    """An API client signed in with a token, as the app's clients do."""
    user.set_password(PASSWORD)
    user.save()
    anonymous = APIClient()
    got = anonymous.post(
        "/api/v1/auth/token/",
        {"username": user.get_username(), "password": PASSWORD},
        format="json",
    )
    assert got.status_code == 200, got.content
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {got.json()['token']}")
    return client


def _staff(username: str, role: str):
    user = User.objects.create_user(username=username, password=PASSWORD)
    user.groups.add(Group.objects.get(name=role))
    return user


def _patch(api: APIClient, entity: str, record_id: int, **data: Any):
    version = _model(entity)._base_manager.get(pk=record_id).version
    return api.patch(
        f"{RECORDS}/{entity}/{record_id}/", {**data, "version": version}, format="json"
    )


def _catalog(owner) -> dict[str, int]:
    """Known records: a Gold (10 %) client with a car, two mechanics, works and parts."""
    gold = record_create(
        entity="loyalty_category", data={"name": "Gold", "discount": "10"}, user=owner
    )
    client = record_create(
        entity="client",
        data={
            "name": "Anna Becker",
            "phone": "+49 151 23456789",
            "email": "anna@example.com",
            "loyalty_category": gold.pk,
        },
        user=owner,
    )
    car = record_create(
        entity="vehicle",
        data={
            "plate": "B-AB 123",
            "vin": "WVWZZZ1KZ8W123456",
            "make": "Volkswagen",
            "model": "Golf",
            "year": 2018,
            "owner": client.pk,
        },
        user=owner,
    )
    lukas = record_create(
        entity="employee",
        data={
            "name": "Lukas",
            "position": "mechanic",
            "hourly_rate": _money("60"),
            "commission": "25",
        },
        user=owner,
    )
    elias = record_create(
        entity="employee",
        data={
            "name": "Elias",
            "position": "electrician",
            "hourly_rate": _money("70"),
            "commission": "20",
        },
        user=owner,
    )
    pads = record_create(
        entity="work", data={"code": "B01", "name": "Brake pads", "norm_hours": "1.5"}, user=owner
    )
    diagnostics = record_create(
        entity="work",
        data={"code": "D01", "name": "Diagnostics", "norm_hours": "0.5", "rate": _money("80")},
        user=owner,
    )
    pad_set = record_create(
        entity="part",
        data={"name": "Front pads", "purchase_price": _money("32.50"), "markup": "35"},
        user=owner,
    )
    filter_ = record_create(
        entity="part",
        data={"name": "Oil filter", "purchase_price": _money("7.40"), "markup": "40"},
        user=owner,
    )
    return {
        "client": client.pk,
        "car": car.pk,
        "lukas": lukas.pk,
        "elias": elias.pk,
        "pads": pads.pk,
        "diagnostics": diagnostics.pk,
        "pad_set": pad_set.pk,
        "filter": filter_.pk,
    }


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def bare(schema_db, owner):
    """The preset without demo data."""
    return preset_install(source="car_service", user=owner)


@pytest.fixture
def demo(schema_db, owner):
    """The preset with its demo data."""
    return preset_install(source="car_service", demo_data=True, user=owner)


# -- install -----------------------------------------------------------------------------------


def test_installs_with_demo_data_into_an_empty_database(demo, owner):
    # then: the configuration
    assert (demo.name, demo.version, demo.previous_version) == ("car_service", 1, None)
    slugs = set(Entity.objects.filter(deleted_at__isnull=True).values_list("slug", flat=True))
    assert slugs == set(ENTITIES) | set(LINES)
    roles = set(Role.objects.values_list("group__name", flat=True))
    assert roles - {"owner"} == {"manager", "advisor", "mechanic"}
    assert Reminder.objects.count() == 4
    assert NotificationRule.objects.count() == 3
    assert SavedView.objects.filter(user__isnull=True, entity__slug="work_order").count() == 4
    layout = CardLayout.objects.get(entity__slug="work_order").layout
    assert [tab["label"] for tab in layout["tabs"]] == ["Main", "Service"]
    # and: the demo records, users with their roles and unusable passwords
    for entity, count in ENTITIES.items():
        assert _model(entity)._base_manager.count() == count, entity
    assert _model("labour_line")._base_manager.count() >= 120
    assert _model("part_line")._base_manager.count() >= 80
    assert demo.demo_records == sum(ENTITIES.values())
    mechanics = User.objects.filter(groups__name="mechanic").order_by("username")
    assert [u.username for u in mechanics] == ["mech1", "mech2", "mech3", "mech4"]
    assert not any(u.has_usable_password() for u in mechanics)
    # and: installing the same version again changes nothing
    again = preset_install(source="car_service", demo_data=True, user=owner)
    assert again.steps == []
    assert _model("work_order")._base_manager.count() == 120
    _check_demo_orders()


def _check_demo_orders() -> None:
    """The demo's work orders add up, and their states fit their dates."""
    orders = _model("work_order")._base_manager.all()
    a = {
        slug: _attr("work_order", slug)
        for slug in (
            "status",
            "received_on",
            "issued_at",
            "mileage_in",
            "labour_total",
            "parts_total",
            "subtotal",
            "discount",
            "total",
            "paid",
            "balance_due",
            "next_service_date",
        )
    }
    today = timezone.localdate()
    states = set()
    for order in orders:
        status = getattr(order, a["status"])
        states.add(status)
        assert getattr(order, a["received_on"]) >= today - dt.timedelta(days=120)
        subtotal = getattr(order, a["labour_total"]) + (getattr(order, a["parts_total"]) or 0)
        assert getattr(order, a["subtotal"]) == subtotal
        assert getattr(order, a["total"]) == subtotal - getattr(order, a["discount"])
        paid = getattr(order, a["paid"]) or Decimal(0)
        assert getattr(order, a["balance_due"]) == getattr(order, a["total"]) - paid
        if status not in ("estimate", "cancelled"):
            assert getattr(order, a["mileage_in"]) > 0
        if status == "issued":
            assert getattr(order, a["issued_at"]).date() >= getattr(order, a["received_on"])
        if status == "cancelled":
            assert getattr(order, a["next_service_date"]) is None
        if status not in ("done", "issued", "cancelled"):  # still in the workshop
            assert getattr(order, a["received_on"]) >= today - dt.timedelta(days=8)
    assert {"issued", "cancelled", "estimate", "in_work", "waiting_parts", "done"} <= states


def test_installs_in_russian(schema_db, owner):
    preset_install(source="car_service", locale="ru", user=owner)
    order = Entity.objects.get(slug="work_order")
    assert (order.label, order.label_plural) == ("Заказ-наряд", "Заказ-наряды")
    status = get_registry().entity("work_order").by_slug["status"]
    states = {state["value"]: state["label"] for state in status.options["states"]}
    assert states["waiting_parts"] == "Ожидает запчасти"
    labels = {(t["from"], t["to"]): t["label"] for t in status.options["transitions"]}
    assert labels["done", "issued"] == "Выдать клиенту"
    assert Role.objects.get(group__name="mechanic").label == "Механик"
    views = set(SavedView.objects.filter(entity=order).values_list("name", flat=True))
    assert "Открытые заказ-наряды" in views
    assert Reminder.objects.get(field__slug="next_service_date").label == (
        "Напоминание клиенту о ТО"
    )


# -- statuses through the API ------------------------------------------------------------------


def test_a_work_order_walks_through_every_status(bare, owner):
    known = _catalog(owner)
    manager = _api(_staff("boss", "manager"))
    created = manager.post(
        f"{RECORDS}/work_order/",
        {
            "vehicle": known["car"],
            "complaint": "Squeaks when braking.",
            "labour": [{"work": known["pads"], "mechanic": known["lukas"]}],
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    order = created.json()
    assert order["status"] == "estimate"
    assert order["client"] == known["client"]  # the vehicle's owner
    assert order["number"].startswith(f"WO-{timezone.localdate().year}-")
    oid = order["id"]

    # a jump is refused and names the states it may go to
    jump = _patch(manager, "work_order", oid, status="in_work")
    assert jump.status_code == 400
    [message] = jump.json()["errors"]["status"]
    assert "Approved" in message
    assert "Cancelled" in message
    # leaving the estimate needs the mileage and the responsible mechanic
    missing = _patch(manager, "work_order", oid, status="approved")
    assert missing.status_code == 400
    assert {"mileage_in", "responsible"} <= set(missing.json()["errors"])

    walk = [
        ("approved", {"mileage_in": 85000, "responsible": known["lukas"]}),
        ("in_work", {}),
        ("waiting_parts", {}),
        ("in_work", {}),
        ("done", {}),
        ("issued", {}),
    ]
    for state, extra in walk:
        moved = _patch(manager, "work_order", oid, status=state, **extra)
        assert moved.status_code == 200, (state, moved.content)
        assert moved.json()["status"] == state
    final = manager.get(f"{RECORDS}/work_order/{oid}/").json()
    assert final["done_at"] is not None
    assert final["issued_at"] is not None
    # issued is final: nothing leads out of it
    reopen = _patch(manager, "work_order", oid, status="in_work")
    assert reopen.status_code == 400
    assert "none" in reopen.json()["errors"]["status"][0]


# -- money -------------------------------------------------------------------------------------


def test_totals_discount_balance_and_commissions(bare, owner):
    known = _catalog(owner)
    advisor = _api(_staff("sofia", "advisor"))
    manager = _api(_staff("boss", "manager"))
    # given: labour priced from the mechanic's rate, from the work's own rate and by hand;
    # parts priced from the catalog's purchase price and markup, one markup changed
    created = manager.post(
        f"{RECORDS}/work_order/",
        {
            "client": known["client"],
            "vehicle": known["car"],
            "mileage_in": 85000,
            "received_on": "2026-03-02",
            "labour": [
                {"work": known["pads"], "mechanic": known["lukas"]},
                {"work": known["diagnostics"], "mechanic": known["elias"]},
                {
                    "description": "Rusty bolts",
                    "mechanic": known["lukas"],
                    "norm_hours": "0.75",
                    "rate": _money("60"),
                },
            ],
            "parts": [
                {"part": known["pad_set"], "quantity": "2"},
                {"part": known["filter"], "markup": "50"},
            ],
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    order = created.json()
    oid = order["id"]

    # then: each line
    labour = sorted(order["labour"], key=lambda line: line["amount"]["amount"])
    assert [(line["norm_hours"], line["rate"]["amount"]) for line in labour] == [
        ("0.50", "80.00"),
        ("0.75", "60.00"),
        ("1.50", "60.00"),
    ]
    assert [line["amount"]["amount"] for line in labour] == ["40.00", "45.00", "90.00"]
    assert [line["commission"]["amount"] for line in labour] == ["8.00", "11.25", "22.50"]
    assert labour[2]["description"] == "Brake pads"
    parts = {line["description"]: line for line in order["parts"]}
    assert parts["Front pads"]["purchase_price"]["amount"] == "32.50"
    assert parts["Front pads"]["price"]["amount"] == "43.88"  # 32.50 * 1.35 = 43.875
    assert parts["Front pads"]["amount"]["amount"] == "87.76"
    assert parts["Front pads"]["margin"]["amount"] == "22.76"
    assert parts["Oil filter"]["price"]["amount"] == "11.10"  # 7.40 * 1.50
    # and: the order's totals with the client's 10 % loyalty discount
    expected = {
        "labour_total": "175.00",
        "parts_total": "98.86",
        "subtotal": "273.86",
        "discount": "27.39",  # 27.386
        "total": "246.47",
        "commission_total": "41.75",
    }
    assert {key: order[key]["amount"] for key in expected} == expected
    assert order["discount_percent"] == "10.00"
    assert order["next_service_mileage"] == 95000
    assert order["next_service_date"] == "2027-03-02"

    # when: a prepayment and a mixed payment come in
    paid = [
        {"kind": "prepayment", "method": "cash", "amount": _money("100")},
        {
            "kind": "payment",
            "method": "mixed",
            "amount": _money("120"),
            "cash_amount": _money("50"),
            "card_amount": _money("70"),
        },
    ]
    for payment in paid:
        made = advisor.post(f"{RECORDS}/payment/", {"work_order": oid, **payment}, format="json")
        assert made.status_code == 201, made.content
    # a mixed payment whose parts do not add up is refused
    wrong = advisor.post(
        f"{RECORDS}/payment/",
        {
            "work_order": oid,
            "method": "mixed",
            "amount": _money("26.47"),
            "cash_amount": _money("20"),
            "card_amount": _money("5"),
        },
        format="json",
    )
    assert wrong.status_code == 400
    assert "cash_amount" in wrong.json()["errors"]

    # then: paid, prepayment and balance due follow the payments
    after = advisor.get(f"{RECORDS}/work_order/{oid}/").json()
    assert after["prepayment"]["amount"] == "100.00"
    assert after["paid"]["amount"] == "220.00"
    assert after["balance_due"]["amount"] == "26.47"
    # and: a changed line changes the totals down to the balance
    owner_api = _api(owner)
    lines = [{"id": line["id"]} for line in after["labour"] if line["norm_hours"] != "0.75"]
    changed = _patch(owner_api, "work_order", oid, labour=lines)
    assert changed.status_code == 200, changed.content
    body = changed.json()
    assert body["labour_total"]["amount"] == "130.00"
    assert body["subtotal"]["amount"] == "228.86"
    assert body["discount"]["amount"] == "22.89"  # 22.886
    assert body["total"]["amount"] == "205.97"
    assert body["balance_due"]["amount"] == "-14.03"  # overpaid: 220.00 in
    assert body["commission_total"]["amount"] == "30.50"
    # and: the car's mileage and next service come from its work orders
    assert _value("vehicle", known["car"], "mileage") == 85000
    assert _value("vehicle", known["car"], "next_service_mileage") == 95000


def test_a_vin_has_seventeen_characters(bare, owner):
    known = _catalog(owner)
    api = _api(_staff("sofia", "advisor"))
    short = api.post(
        f"{RECORDS}/vehicle/",
        {
            "plate": "B-CD 1",
            "vin": "WVWZZZ1KZ8W12345",
            "make": "VW",
            "model": "Polo",
            "owner": known["client"],
        },
        format="json",
    )
    assert short.status_code == 400
    assert "vin" in short.json()["errors"]
    twice = api.post(
        f"{RECORDS}/vehicle/",
        {
            "plate": "B-CD 2",
            "vin": "WVWZZZ1KZ8W123456",
            "make": "VW",
            "model": "Polo",
            "owner": known["client"],
        },
        format="json",
    )
    assert twice.status_code == 400
    assert "vin" in twice.json()["errors"]
    unknown = api.post(
        f"{RECORDS}/vehicle/",
        {"plate": "B-CD 3", "make": "VW", "model": "Polo", "owner": known["client"]},
        format="json",
    )
    assert unknown.status_code == 201, unknown.content  # the VIN may be added later


# -- a mechanic's view -------------------------------------------------------------------------


def test_a_mechanic_sees_only_own_orders_and_no_purchase_prices(demo, owner):
    mech1 = User.objects.get(username="mech1")
    lukas = _model("employee")._base_manager.get(**{_attr("employee", "user"): mech1.pk})
    responsible = _attr("work_order", "responsible")
    orders = _model("work_order")._base_manager
    own = set(orders.filter(**{responsible: lukas.pk}).values_list("pk", flat=True))
    others = set(orders.exclude(**{responsible: lukas.pk}).values_list("pk", flat=True))
    assert own
    assert others
    api = _api(mech1)

    # only their own work orders
    listed = api.get(f"{RECORDS}/work_order/?page_size=500")
    assert listed.status_code == 200
    assert {row["id"] for row in listed.json()["results"]} == own
    assert api.get(f"{RECORDS}/work_order/{min(others)}/").status_code == 404
    # never a purchase price, a markup or a margin: on lines or in the catalog
    part_lines = _model("part_line")._base_manager
    with_parts = next(
        pk
        for pk in sorted(own)
        if part_lines.filter(**{get_registry().entity("part_line").parent_field.attname: pk})
    )
    detail = api.get(f"{RECORDS}/work_order/{with_parts}/").json()
    assert detail["parts"]
    for line in detail["parts"]:
        assert "price" in line
        assert not {"purchase_price", "markup", "margin"} & set(line)
    catalog = api.get(f"{RECORDS}/part/?page_size=100").json()["results"]
    assert len(catalog) == 30
    assert all("sale_price" in part and "purchase_price" not in part for part in catalog)
    # nor create work orders
    assert api.post(f"{RECORDS}/work_order/", {}, format="json").status_code == 403

    # the estimate is the manager's to approve; the work is the mechanic's
    car = _model("vehicle")._base_manager.order_by("pk").first()
    estimate = record_create(
        entity="work_order",
        data={
            "client": getattr(car, f"{_attr('vehicle', 'owner')}_id"),
            "vehicle": car.pk,
            "mileage_in": 120000,
            "responsible": lukas.pk,
        },
        user=owner,
    )
    refused = _patch(api, "work_order", estimate.pk, status="approved")
    assert refused.status_code == 400
    assert "manager" in refused.json()["errors"]["status"][0]
    record_update(
        entity="work_order",
        record_id=estimate.pk,
        version=estimate.version,
        data={"status": "approved"},
        user=owner,
    )
    started = _patch(api, "work_order", estimate.pk, status="in_work")
    assert started.status_code == 200, started.content
    # a part the mechanic fits is priced from the purchase price they cannot see
    filter_ = _model("part")._base_manager.get(**{_attr("part", "sku"): "OF-1001"})
    fitted = _patch(api, "work_order", estimate.pk, parts=[{"part": filter_.pk, "quantity": "2"}])
    assert fitted.status_code == 200, fitted.content
    [line] = fitted.json()["parts"]
    assert not {"purchase_price", "markup", "margin"} & set(line)
    sale_price = getattr(filter_, _attr("part", "sale_price"))
    assert Decimal(line["price"]["amount"]) == sale_price  # 7.40 + 40 % = 10.36
    assert Decimal(line["amount"]["amount"]) == 2 * sale_price
    assert fitted.json()["parts_total"] == line["amount"]
    done = _patch(api, "work_order", estimate.pk, status="done")
    assert done.status_code == 200, done.content
    issued = _patch(api, "work_order", estimate.pk, status="issued")
    assert issued.status_code == 400
    assert "manager" in issued.json()["errors"]["status"][0]


# -- messages ----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_client_hears_when_the_car_is_ready(bare, owner):
    known = _catalog(owner)
    order = record_create(
        entity="work_order",
        data={
            "client": known["client"],
            "vehicle": known["car"],
            "mileage_in": 85000,
            "responsible": known["lukas"],
            "status": "in_work",
            "labour": [{"work": known["pads"], "mechanic": known["lukas"]}],
        },
        user=owner,
    )
    assert not Delivery.objects.filter(source="rule").exists()
    # when
    record_update(
        entity="work_order",
        record_id=order.pk,
        version=order.version,
        data={"status": "done"},
        user=owner,
    )
    # then: an SMS and an email to the client
    sent = {d.channel: d for d in Delivery.objects.filter(source="rule", record_id=order.pk)}
    assert set(sent) == {"sms", "email"}
    assert sent["email"].address == "anna@example.com"
    assert sent["sms"].address.replace(" ", "") == "+4915123456789"
    number = _value("work_order", order.pk, "number")
    assert number in sent["sms"].body
    assert "B-AB 123" in sent["email"].subject
    assert "81.00" in sent["email"].body  # the total: 1.5 h x 60.00, less the Gold 10 %


def test_the_next_service_reminder_goes_to_the_client(bare, owner):
    known = _catalog(owner)
    today = timezone.localdate()

    def issued(next_service: dt.date) -> int:
        return record_create(
            entity="work_order",
            data={
                "client": known["client"],
                "vehicle": known["car"],
                "mileage_in": 85000,
                "responsible": known["lukas"],
                "status": "issued",
                "next_service_date": next_service.isoformat(),
            },
            user=owner,
        ).pk

    older = issued(today + dt.timedelta(days=18))
    latest = issued(today + dt.timedelta(days=20))
    assert _value("vehicle", known["car"], "next_service_date") == today + dt.timedelta(days=20)
    # when: a week passes (the reminder is due 14 days before the date, at 10:00)
    reminders_scan(now=timezone.now() + dt.timedelta(days=7))
    # then: the client hears about the latest visit's next service, by SMS and email
    sent = Delivery.objects.filter(source="reminder")
    assert {(d.record_id, d.channel) for d in sent} == {(latest, "sms"), (latest, "email")}
    assert not sent.filter(record_id=older).exists()
    email = sent.get(channel="email")
    assert "B-AB 123" in email.subject
    assert (today + dt.timedelta(days=20)).strftime("%Y") in email.body


# -- export ------------------------------------------------------------------------------------


def test_export_gives_back_the_preset_configuration(bare, tmp_path):
    written = preset_export(directory=tmp_path, name="car_service", title="Car service")
    names = {path.relative_to(tmp_path).as_posix() for path in written}
    assert {"preset.yaml", "roles.yaml", "notifications.yaml"} <= names
    source = preset_load("car_service")
    assert {f"entities/{entity.slug}.yaml" for entity in source.entities} <= names
    # every field comes back with its type, flags, formulas and defaults
    keys = ("type", "required", "unique", "default_formula")
    for entity in source.entities:
        exported = yaml.safe_load((tmp_path / "entities" / f"{entity.slug}.yaml").read_text())
        back = {f["slug"]: f for f in exported["fields"]}
        assert list(back) == [f["slug"] for f in entity.fields], entity.slug
        for f in entity.fields:
            for key in keys:
                given, got = f.get(key) or None, back[f["slug"]].get(key) or None
                assert got == given, (entity.slug, f["slug"], key)
            expression = f.get("options", {}).get("expression")
            assert back[f["slug"]].get("options", {}).get("expression") == expression
        assert exported["title_field"] == entity.data["title_field"]
    exported_roles = yaml.safe_load((tmp_path / "roles.yaml").read_text())["roles"]
    rule = next(r for r in exported_roles if r["name"] == "mechanic")["permissions"]
    assert rule["work_order"]["rule"] == "responsible.user = ME()"
    assert rule["part_line"]["fields"]["purchase_price"] == "hidden"
    keys_back = yaml.safe_load((tmp_path / "notifications.yaml").read_text())
    assert len(keys_back["reminders"]) == 4
    assert len(keys_back["rules"]) == 3
    # and: the export is deterministic
    again = tmp_path / "again"
    preset_export(directory=again, name="car_service", title="Car service")
    for name in names:
        assert (again / name).read_text() == (tmp_path / name).read_text(), name
