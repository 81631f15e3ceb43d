"""The shipped dry cleaning preset: installed into an empty database, an order walked through its
statuses by the API, its money formulas on known data, an operator's narrow view, and the
ready message and the uncollected reminder actually sent."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone
from rest_framework.test import APIClient

from cardfile.core.models import Delivery
from cardfile.metamodel.models import Entity, Role
from cardfile.metamodel.notify.models import NotificationRule, Reminder
from cardfile.metamodel.notify.scan import reminders_scan
from cardfile.metamodel.records import record_create, record_queryset, record_to_dict
from cardfile.metamodel.records import record_update as _record_update
from cardfile.metamodel.schema.dynamic import get_registry
from cardfile.presets.services import preset_export, preset_install, preset_load

pytestmark = pytest.mark.embedded

RECORDS = "/api/v1/records"
PASSWORD = "Dry-clean-1234!"
DEMO_COUNTS = {
    "loyalty_category": 4,
    "client": 60,
    "employee": 6,
    "service": 28,
    "garment_type": 24,
    "supply": 20,
    "order": 130,
    "payment": 139,
}


# -- helpers -----------------------------------------------------------------------------------


def _rows(entity: str) -> list[dict[str, Any]]:
    registry = get_registry()
    schema = registry.entity(entity)
    return [record_to_dict(schema, obj, registry=registry) for obj in record_queryset(entity)]


def _record(entity: str, pk: int) -> dict[str, Any]:
    registry = get_registry()
    schema = registry.entity(entity)
    return record_to_dict(schema, schema.objects().get(pk=pk), registry=registry)


def _amount(value: dict[str, Any] | None) -> str | None:
    return None if value is None else value["amount"]


def _user(username: str, *roles: str):
    user = get_user_model().objects.create_user(username=username, password=PASSWORD)
    for role in roles:
        user.groups.add(Group.objects.get(name=role))
    return user


def _api_as(username: str) -> APIClient:
    """An API client signed in with a token, as the shop's staff would be."""
    user = get_user_model().objects.get(username=username)
    user.set_password(PASSWORD)
    user.save()
    anonymous = APIClient()
    response = anonymous.post(
        "/api/v1/auth/token/", {"username": username, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200, response.content
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    return client


def _patch(api: APIClient, entity: str, pk: int, **data: Any):
    current = api.get(f"{RECORDS}/{entity}/{pk}/")
    assert current.status_code == 200, current.content
    return api.patch(
        f"{RECORDS}/{entity}/{pk}/",
        {**data, "version": current.json()["version"]},
        format="json",
    )


def _catalog() -> dict[str, Any]:
    """A small shop of known prices: Gold clients get 10 % off, two cleaners on 10 % and 12 %."""
    gold = record_create(entity="loyalty_category", data={"name": "Gold", "discount": "10"})
    client = record_create(
        entity="client",
        data={
            "name": "Vera Lang",
            "phone": "+4915123456789",
            "email": "vera@example.com",
            "loyalty_category": gold.pk,
        },
    )
    coat_service = record_create(
        entity="service",
        data={
            "name": "Coat dry cleaning",
            "category": "dry_cleaning",
            "price": {"amount": "18.00"},
            "days": 3,
        },
    )
    laundry = record_create(
        entity="service",
        data={
            "name": "Laundry by weight",
            "category": "laundry",
            "pricing": "per_kg",
            "price": {"amount": "4.50"},
            "days": 1,
        },
    )
    shirt_service = record_create(
        entity="service",
        data={
            "name": "Shirt wash and iron",
            "category": "ironing",
            "price": {"amount": "3.50"},
            "days": 1,
        },
    )
    coat = record_create(
        entity="garment_type",
        data={"name": "Coat", "category": "outerwear", "default_service": coat_service.pk},
    )
    bag = record_create(
        entity="garment_type",
        data={"name": "Laundry bag", "category": "home_textile", "default_service": laundry.pk},
    )
    shirt = record_create(
        entity="garment_type",
        data={"name": "Shirt", "category": "shirts", "default_service": shirt_service.pk},
    )
    oleg = record_create(
        entity="employee", data={"name": "Oleg", "position": "cleaner", "commission": "10"}
    )
    irina = record_create(
        entity="employee", data={"name": "Irina", "position": "presser", "commission": "12"}
    )
    return {
        "client": client,
        "coat": coat,
        "coat_service": coat_service,
        "bag": bag,
        "shirt": shirt,
        "laundry": laundry,
        "shirt_service": shirt_service,
        "oleg": oleg,
        "irina": irina,
    }


def _items(shop: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        # the service and its price come from the garment type: 18.00 + 20 % = 21.60
        {
            "garment_type": shop["coat"].pk,
            "colour": "navy",
            "brand": "Max Mara",
            "material": "wool",
            "defects": ["stains", "missing_buttons"],
            "defects_note": "Stain on the left sleeve",
            "upcharge_reason": "delicate_fabric",
            "upcharge_percent": "20",
            "employee": shop["oleg"].pk,
        },
        # per kg: 3.4 kg x 4.50 = 15.30
        {
            "garment_type": shop["bag"].pk,
            "service": shop["laundry"].pk,
            "weight": "3.4",
            "employee": shop["oleg"].pk,
        },
        # per item: 3 x 3.50 + 2.00 = 12.50
        {
            "garment_type": shop["shirt"].pk,
            "service": shop["shirt_service"].pk,
            "colour": "white",
            "quantity": 3,
            "upcharge_reason": "white",
            "upcharge_amount": {"amount": "2.00"},
            "employee": shop["irina"].pk,
        },
    ]


# -- install -----------------------------------------------------------------------------------


def test_install_with_demo_data_builds_a_working_shop(schema_db):
    # when
    result = preset_install(source="dry_cleaning", demo_data=True)

    # then: the preset's entities, in menu order, with their demo records
    assert (result.name, result.version, result.previous_version) == ("dry_cleaning", 1, None)
    assert [
        e.slug for e in Entity.objects.filter(deleted_at__isnull=True).order_by("position")
    ] == [
        "loyalty_category",
        "client",
        "employee",
        "service",
        "garment_type",
        "supply",
        "order_item",
        "order",
        "payment",
    ]
    registry = get_registry()
    counts = {slug: registry.entity(slug).objects().count() for slug in DEMO_COUNTS}
    assert counts == DEMO_COUNTS
    assert result.demo_records == sum(DEMO_COUNTS.values())
    assert registry.entity("order_item").objects().count() == 522
    # (the built-in owner role comes from a migration, which a flushing test before may undo)
    preset_roles = Role.objects.select_related("group").exclude(group__name="owner")
    assert {r.group.name for r in preset_roles} == {
        "manager",
        "operator",
        "receptionist",
    }
    assert sorted(Reminder.objects.values_list("label", flat=True)) == [
        "Order due today, not ready",
        "Order not collected",
    ]
    assert NotificationRule.objects.count() == 2

    # demo staff can sign in once given passwords: operators and the receptionist by role
    users = get_user_model().objects.order_by("username")
    assert [(u.username, sorted(g.name for g in u.groups.all())) for u in users] == [
        ("manager", ["manager"]),
        ("operator1", ["operator"]),
        ("operator2", ["operator"]),
        ("operator3", ["operator"]),
        ("reception", ["receptionist"]),
    ]
    operator1 = users.get(username="operator1")
    [oleg] = [e for e in _rows("employee") if e["user"] == operator1.pk]
    assert oleg["name"] == "Oleg Brandt"
    assert oleg["commission"] == "10.00"

    # statuses agree with dates: spread over four months, old orders issued, recent ones open
    today = timezone.localdate()
    orders = _rows("order")
    statuses = Counter(o["status"] for o in orders)
    assert statuses == {
        "issued": 114,
        "ready": 5,
        "in_cleaning": 4,
        "received": 4,
        "cancelled": 3,
    }
    received = [dt.date.fromisoformat(o["received_on"]) for o in orders]
    assert min(received) == today - dt.timedelta(days=120)
    assert max(received) == today
    for order in orders:
        assert order["items"], order["number"]
        if order["status"] in ("ready", "issued"):
            assert order["ready_at"], order["number"]
            assert order["rack_slot"], order["number"]
        if order["ready_at"]:
            assert dt.datetime.fromisoformat(order["ready_at"]) < timezone.now()
        if order["status"] == "issued":
            assert order["issued_at"] >= order["ready_at"], order["number"]
            assert dt.datetime.fromisoformat(order["issued_at"]) < timezone.now()
            # every issued order was paid in full
            assert order["paid"] == order["total"], order["number"]
            assert _amount(order["balance_due"]) == "0.00", order["number"]
        else:
            assert order["issued_at"] is None, order["number"]
        age = (today - dt.date.fromisoformat(order["received_on"])).days
        if order["status"] == "received":
            assert age <= 1, order["number"]
        if order["status"] == "in_cleaning":
            assert age <= 10, order["number"]

    # installing the same version again changes nothing
    assert preset_install(source="dry_cleaning", demo_data=True).steps == []
    assert registry.entity("order").objects().count() == 130


# -- statuses ----------------------------------------------------------------------------------


def test_an_order_walks_from_received_to_issued_by_the_api(schema_db):
    # given: the shop without demo data, a receptionist and an operator with their employees
    preset_install(source="dry_cleaning")
    shop = _catalog()
    _user("maria", "receptionist")
    _user("oleg", "operator")
    _user("anna", "manager")
    _record_update(
        entity="employee",
        record_id=shop["oleg"].pk,
        data={"user": get_user_model().objects.get(username="oleg").pk, "version": 1},
    )
    desk, cleaner, manager = _api_as("maria"), _api_as("oleg"), _api_as("anna")

    # when: the receptionist takes the garments in
    created = desk.post(
        f"{RECORDS}/order/",
        {
            "client": shop["client"].pk,
            "responsible": shop["oleg"].pk,
            "items": _items(shop),
        },
        format="json",
    )

    # then: a numbered order, received today, due in two days, with tagged items
    assert created.status_code == 201, created.content
    order = created.json()
    pk = order["id"]
    today = timezone.localdate()
    assert order["status"] == "received"
    assert order["number"].startswith("DC-")
    assert order["received_on"] == today.isoformat()
    assert order["due_date"] == (today + dt.timedelta(days=2)).isoformat()
    assert order["standard_due"] == (today + dt.timedelta(days=3)).isoformat()
    tags = [line["tag"] for line in order["items"]]
    assert len(set(tags)) == 3
    assert all(tag.startswith("T") for tag in tags)

    # a jump straight to ready is refused, naming the allowed next state
    jump = _patch(cleaner, "order", pk, status="ready")
    assert jump.status_code == 400
    [message] = jump.json()["errors"]["status"]
    assert "Cannot move from \u201cReceived\u201d to \u201cReady\u201d" in message
    assert message.endswith("Allowed next states: In cleaning.")

    # the operator starts cleaning
    moved = _patch(cleaner, "order", pk, status="in_cleaning")
    assert moved.status_code == 200, moved.content
    assert moved.json()["status"] == "in_cleaning"

    # ready needs a rack slot; then the moment is stamped
    no_slot = _patch(cleaner, "order", pk, status="ready")
    assert no_slot.status_code == 400
    assert "rack_slot" in no_slot.json()["errors"]
    ready = _patch(cleaner, "order", pk, status="ready", rack_slot="B-07")
    assert ready.status_code == 200, ready.content
    assert ready.json()["ready_at"] is not None

    # the operator may not hand the garments out; the receptionist does
    refused = _patch(cleaner, "order", pk, status="issued")
    assert refused.status_code == 400
    assert "reserved for the roles manager, receptionist" in refused.json()["errors"]["status"][0]
    issued = _patch(desk, "order", pk, status="issued")
    assert issued.status_code == 200, issued.content
    assert issued.json()["status"] == "issued"
    assert issued.json()["issued_at"] >= issued.json()["ready_at"]

    # cancelling an order that is in cleaning is for managers only
    second = desk.post(
        f"{RECORDS}/order/",
        {"client": shop["client"].pk, "responsible": shop["oleg"].pk, "items": _items(shop)[:1]},
        format="json",
    ).json()
    assert _patch(cleaner, "order", second["id"], status="in_cleaning").status_code == 200
    not_yours = _patch(desk, "order", second["id"], status="cancelled")
    assert not_yours.status_code == 400
    assert "reserved for the role manager" in not_yours.json()["errors"]["status"][0]
    cancelled = _patch(manager, "order", second["id"], status="cancelled")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"


# -- money -------------------------------------------------------------------------------------


def test_totals_express_discount_payments_and_commission_on_known_data(schema_db):
    # given
    preset_install(source="dry_cleaning")
    shop = _catalog()

    # when: an express order of a Gold client
    order = record_create(
        entity="order",
        data={"client": shop["client"].pk, "urgency": "express", "items": _items(shop)},
    )

    # then: each line priced by the service (per item or per kg) with its upcharge
    data = _record("order", order.pk)
    lines = data["items"]
    assert [_amount(line["price"]) for line in lines] == ["18.00", "4.50", "3.50"]
    assert lines[0]["service"] == shop["coat_service"].pk  # the garment type's usual one
    assert [_amount(line["amount"]) for line in lines] == ["21.60", "15.30", "12.50"]
    # commission: the line amount times its cleaner's percent (10 %, 10 %, 12 %)
    assert [_amount(line["commission"]) for line in lines] == ["2.16", "1.53", "1.50"]
    assert _amount(data["commission_total"]) == "5.19"
    assert data["pieces"] == 5
    assert _amount(data["subtotal"]) == "49.40"
    assert _amount(data["express_surcharge"]) == "24.70"  # + 50 %
    assert data["discount_percent"] == "10.00"
    assert _amount(data["discount"]) == "7.41"  # 10 % of 74.10
    assert _amount(data["total"]) == "66.69"
    assert data["total"]["currency"] == "EUR"
    assert _amount(data["balance_due"]) == "66.69"
    assert data["payment_state"] == "unpaid"
    # express: the standard time is one day; the due date defaults to two days
    received = dt.date.fromisoformat(data["received_on"])
    assert data["standard_due"] == (received + dt.timedelta(days=1)).isoformat()
    assert data["due_date"] == (received + dt.timedelta(days=2)).isoformat()

    # when: a prepayment at intake and the rest, mixed, at pick-up
    record_create(
        entity="payment",
        data={"order": order.pk, "kind": "prepayment", "amount": {"amount": "30.00"}},
    )
    data = _record("order", order.pk)
    assert _amount(data["prepayment"]) == "30.00"
    assert _amount(data["paid"]) == "30.00"
    assert _amount(data["balance_due"]) == "36.69"
    assert data["payment_state"] == "part paid"
    record_create(
        entity="payment",
        data={
            "order": order.pk,
            "method": "mixed",
            "amount": {"amount": "36.69"},
            "cash_amount": {"amount": "20.00"},
            "card_amount": {"amount": "16.69"},
        },
    )

    # then
    data = _record("order", order.pk)
    assert _amount(data["prepayment"]) == "30.00"
    assert _amount(data["paid"]) == "66.69"
    assert _amount(data["balance_due"]) == "0.00"
    assert data["payment_state"] == "paid"

    # when: the client turns out not to need it express
    _record_update(
        entity="order", record_id=order.pk, data={"urgency": "normal", "version": data["version"]}
    )

    # then: 49.40 - 4.94 = 44.46, and 22.23 is now owed back
    data = _record("order", order.pk)
    assert _amount(data["express_surcharge"]) == "0.00"
    assert _amount(data["total"]) == "44.46"
    assert _amount(data["balance_due"]) == "-22.23"


def test_the_api_refuses_an_unweighed_kilo_and_a_mixed_payment_that_does_not_add_up(
    schema_db, owner
):
    preset_install(source="dry_cleaning")
    shop = _catalog()
    api = APIClient()
    api.force_authenticate(owner)

    unweighed = api.post(
        f"{RECORDS}/order/",
        {
            "client": shop["client"].pk,
            "items": [{"garment_type": shop["bag"].pk, "service": shop["laundry"].pk}],
        },
        format="json",
    )
    assert unweighed.status_code == 400
    assert unweighed.json()["errors"] == {
        "items[1].weight": ["Weigh the items; the service is priced per kg."]
    }

    order = record_create(
        entity="order", data={"client": shop["client"].pk, "items": _items(shop)[2:]}
    )
    wrong = api.post(
        f"{RECORDS}/payment/",
        {
            "order": order.pk,
            "method": "mixed",
            "amount": {"amount": "12.50"},
            "cash_amount": {"amount": "10.00"},
            "card_amount": {"amount": "1.00"},
        },
        format="json",
    )
    assert wrong.status_code == 400
    assert wrong.json()["errors"]["cash_amount"] == [
        "For a mixed payment, the cash and card parts add up to the amount."
    ]
    assert get_registry().entity("payment").objects().count() == 0


# -- access ------------------------------------------------------------------------------------


def test_an_operator_sees_only_their_orders_and_no_purchase_prices(schema_db):
    # given: the demo shop; operator1 is Oleg Brandt
    preset_install(source="dry_cleaning", demo_data=True)
    operator = get_user_model().objects.get(username="operator1")
    [oleg] = [e for e in _rows("employee") if e["user"] == operator.pk]
    orders = _rows("order")
    own = {o["id"] for o in orders if o["responsible"] == oleg["id"]}
    others = [o for o in orders if o["responsible"] != oleg["id"]]
    assert own
    assert others
    api = _api_as("operator1")

    # when
    listed = api.get(f"{RECORDS}/order/", {"page_size": 200})

    # then: exactly their own orders
    assert listed.status_code == 200, listed.content
    assert {o["id"] for o in listed.json()["results"]} == own
    assert api.get(f"{RECORDS}/order/{others[0]['id']}/").status_code == 404
    assert _patch_blind(api, others[0]["id"]).status_code == 404

    # and no purchase prices, no colleagues' commission, no cash desk
    supplies = api.get(f"{RECORDS}/supply/", {"page_size": 50}).json()["results"]
    assert len(supplies) == 20
    assert all("purchase_price" not in s and "margin" not in s for s in supplies)
    assert all("sale_price" in s for s in supplies)
    staff = api.get(f"{RECORDS}/employee/").json()["results"]
    assert staff
    assert all("commission" not in e for e in staff)
    assert api.get(f"{RECORDS}/payment/").status_code == 403

    # even an own open order is not the operator's to cancel: that is for managers
    mine = next(o for o in orders if o["id"] in own and o["status"] in ("in_cleaning", "ready"))
    cancel = _patch(api, "order", mine["id"], status="cancelled")
    assert cancel.status_code == 400
    assert "reserved for the role manager" in cancel.json()["errors"]["status"][0]

    # the receptionist sees every order, but not what staff earn on them
    desk = _api_as("reception")
    everything = desk.get(f"{RECORDS}/order/", {"page_size": 200}).json()
    assert len(everything["results"]) == 130
    one = desk.get(f"{RECORDS}/order/{others[0]['id']}/").json()
    assert "commission_total" not in one
    assert one["items"]
    assert all("commission" not in line for line in one["items"])
    assert "total" in one
    assert "balance_due" in one


def _patch_blind(api: APIClient, pk: int):
    return api.patch(f"{RECORDS}/order/{pk}/", {"notes": "x", "version": 1}, format="json")


# -- messages ----------------------------------------------------------------------------------


def test_ready_message_to_the_client_and_the_uncollected_reminder(
    schema_db, django_capture_on_commit_callbacks
):
    # given
    preset_install(source="dry_cleaning")
    shop = _catalog()

    # when: two orders are taken in, cleaned and made ready; one is collected
    with django_capture_on_commit_callbacks(execute=True):
        waiting = record_create(
            entity="order",
            data={"client": shop["client"].pk, "items": _items(shop)[1:], "rack_slot": "C-12"},
        )
        collected = record_create(
            entity="order",
            data={"client": shop["client"].pk, "items": _items(shop)[2:], "rack_slot": "C-13"},
        )
        for order in (waiting, collected):
            for state in ("in_cleaning", "ready"):
                current = _record("order", order.pk)
                _record_update(
                    entity="order",
                    record_id=order.pk,
                    data={"status": state, "version": current["version"]},
                )
        current = _record("order", collected.pk)
        _record_update(
            entity="order",
            record_id=collected.pk,
            data={"status": "issued", "version": current["version"]},
        )

    # then: a receipt by email when each order was taken in
    number = _record("order", waiting.pk)["number"]
    receipts = Delivery.objects.filter(source="rule", subject__startswith="We took your order")
    assert sorted((d.record_id, d.channel, d.address) for d in receipts) == [
        (waiting.pk, "email", "vera@example.com"),
        (collected.pk, "email", "vera@example.com"),
    ]
    assert "we took 4 item(s) for cleaning" in receipts.get(record_id=waiting.pk).body
    # and an SMS and an email to the client for each order made ready
    ready = Delivery.objects.filter(source="rule", entity="order", record_id=waiting.pk).exclude(
        pk__in=receipts.values("pk")
    )
    by_channel = {d.channel: d for d in ready}
    assert set(by_channel) == {"sms", "email"}
    assert by_channel["sms"].address == "+4915123456789"
    assert by_channel["email"].address == "vera@example.com"
    assert by_channel["email"].subject == f"Your order {number} is ready"
    assert f"Hello Vera Lang, your order {number} is ready for pick-up." in by_channel["sms"].body
    assert Delivery.objects.filter(source="rule", record_id=collected.pk).count() == 3

    # when: a fortnight later the garments are still on the rack
    ready_at = dt.datetime.fromisoformat(_record("order", waiting.pk)["ready_at"])
    with time_machine.travel(ready_at + dt.timedelta(days=13), tick=False):
        early = reminders_scan()
    with time_machine.travel(ready_at + dt.timedelta(days=14, hours=1), tick=False):
        result = reminders_scan()

    # then: reminded once by SMS and email, and only about the order not collected
    assert early.deliveries == 0
    reminded = Delivery.objects.filter(source="reminder").order_by("channel")
    assert [(d.record_id, d.channel) for d in reminded] == [
        (waiting.pk, "email"),
        (waiting.pk, "sms"),
    ]
    assert result.deliveries == 2
    assert f"your order {number} has been ready since" in reminded[0].body


# -- export ------------------------------------------------------------------------------------


def test_the_export_gives_back_the_preset_it_was_installed_from(schema_db, tmp_path):
    # given
    preset_install(source="dry_cleaning")
    shipped = preset_load("dry_cleaning")

    # when
    written = preset_export(directory=tmp_path / "one", name="dry_cleaning", title="Dry cleaning")
    preset_export(directory=tmp_path / "two", name="dry_cleaning", title="Dry cleaning")

    # then: a valid preset with the same entities, fields, formulas, statuses, roles and messages
    exported = preset_load(tmp_path / "one")

    def shape(preset):
        return {
            e.slug: [
                (f["slug"], f["type"], (f.get("options") or {}).get("expression")) for f in e.fields
            ]
            for e in preset.entities
        }

    assert shape(exported) == shape(shipped)

    # states and transitions alike, attributes left at their defaults filled in
    def graph(preset):
        [status] = [f for f in preset.entities[7].fields if f["slug"] == "status"]
        options = status["options"]
        states = [{"group": "open", "required": [], "color": "", **s} for s in options["states"]]
        moves = [{"roles": [], "set": {}, "label": "", **t} for t in options["transitions"]]
        return states, moves, options["initial"]

    assert graph(exported) == graph(shipped)
    assert {r["name"]: r["permissions"]["order"].get("rule") for r in exported.roles} == {
        "manager": None,
        "operator": "responsible.user = ME()",
        "receptionist": None,
    }
    assert sorted(r["label"] for r in exported.reminders + exported.rules) == sorted(
        r["label"] for r in shipped.reminders + shipped.rules
    )
    # and the same configuration always gives the same files
    for path in written:
        name = path.relative_to(tmp_path / "one")
        assert (tmp_path / "two" / name).read_text() == path.read_text(), name
