"""Permissions through every record surface, from one table of who may do what.

Three people work on the same records of a two-branch repair shop:

- the **owner** (superuser) sees and does everything;
- a **technician** (no branch) reads and changes orders that are his or still new
  (``technician = ME() OR state = "new"``), never sees an order's ``cost``, a line's
  ``purchase_price`` or a client's ``phone``, and reads only clients with a discount under 50%;
- a **receptionist** of branch A works with every order of her branch
  (``branch = MY_BRANCH()``), may delete them, creates clients and may not change a client's
  ``notes`` (read-only).

The tables below say what each sees and may do; the tests run each row through the API
(list, detail, create, update, delete, restore, history, expand, search, where, filters,
sorting) against the real database, and each side channel has its own test.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from cardfile.core.models import Branch
from cardfile.metamodel.records import record_create, record_delete
from cardfile.metamodel.records.filtering import record_list
from cardfile.metamodel.schema.services import field_create
from tests.builders import build_shop_with_tags, grant

pytestmark = pytest.mark.embedded

ORDERS = ("mine_a", "new_b", "ready_b", "ready_a")

# Who sees which orders (and so may reach them at all).
VISIBLE = {
    "owner": set(ORDERS),
    "technician": {"mine_a", "new_b"},
    "reception": {"mine_a", "ready_a"},
}
# Operations on orders by role (row rules limit them to the visible rows).
OPERATIONS = {
    "owner": {"read", "create", "update", "delete"},
    "technician": {"read", "update"},
    "reception": {"read", "create", "update", "delete"},
}
# (user, entity, field) -> how the field is for them; everything else is readable and writable.
FIELD_RULES = {
    ("technician", "order", "cost"): "hidden",
    ("technician", "order_line", "purchase_price"): "hidden",
    ("technician", "client", "phone"): "hidden",
    ("reception", "client", "notes"): "read_only",
}
USERS = tuple(VISIBLE)


def _money(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "EUR"}


@pytest.fixture
def shop(schema_db, owner):
    """The schema, three people, two branches and four orders (see the module docstring)."""
    build_shop_with_tags(owner)
    field_create(entity="order", slug="cost", label="Cost", type="money", user=owner)
    field_create(
        entity="order_line", slug="purchase_price", label="Purchase", type="money", user=owner
    )
    field_create(entity="client", slug="notes", label="Notes", type="long_text", user=owner)
    users = {"owner": owner}
    make = get_user_model().objects.create_user
    users["technician"] = make(username="tech", password="s3cret-pass!")
    users["reception"] = make(username="anna", password="s3cret-pass!")
    other = make(username="petr", password="s3cret-pass!")
    branch_a = Branch.objects.create(name="A")
    branch_b = Branch.objects.create(name="B")
    branch_a.users.add(users["reception"])
    grant(
        users["technician"],
        "order",
        ops=("read", "update"),
        rule='technician = ME() OR state = "new"',
        fields={"cost": "hidden"},
        role="technician",
    )
    grant(
        users["technician"],
        "order_line",
        ops=(),
        fields={"purchase_price": "hidden"},
        role="technician",
    )
    grant(
        users["technician"],
        "client",
        ops=("read",),
        rule="discount < 0.5",
        fields={"phone": "hidden"},
        role="technician",
    )
    grant(users["reception"], "order", rule="branch = MY_BRANCH()", role="reception")
    grant(users["reception"], "client", fields={"notes": "read_only"}, role="reception")
    ivan = record_create(
        entity="client",
        data={"name": "Ivan", "phone": "+79001234567", "discount": 5, "notes": "calls late"},
        user=owner,
    )
    vip = record_create(entity="client", data={"name": "Boss", "discount": 70}, user=owner)
    specs = {
        "mine_a": (ivan, branch_a, users["technician"], "in_work"),
        "new_b": (vip, branch_b, other, "new"),
        "ready_b": (ivan, branch_b, other, "ready"),
        "ready_a": (ivan, branch_a, other, "ready"),
    }
    orders = {}
    for name, (client, branch, technician, state) in specs.items():
        orders[name] = record_create(
            entity="order",
            data={
                "client": client.pk,
                "technician": technician.pk,
                "state": state,
                "cost": _money("40.00"),
                "lines": [
                    {
                        "item": "screen",
                        "qty": 1,
                        "price": _money("90"),
                        "purchase_price": _money("35"),
                    }
                ],
            },
            user=owner,
            branch=branch,
        )
    return {
        "users": users,
        "orders": {name: obj.pk for name, obj in orders.items()},
        "ids": {obj.pk: name for name, obj in orders.items()},
        "clients": {"ivan": ivan.pk, "vip": vip.pk},
        "branches": {"A": branch_a.pk, "B": branch_b.pk},
    }


def _as(shop, who: str) -> APIClient:
    client = APIClient()
    client.force_authenticate(shop["users"][who])
    return client


def _names(shop, response) -> set[str]:
    assert response.status_code == 200, response.data
    return {shop["ids"][row["id"]] for row in response.data["results"]}


def _hidden(who: str, entity: str) -> set[str]:
    return {
        f for (u, e, f), how in FIELD_RULES.items() if (u, e) == (who, entity) and how == "hidden"
    }


def _order(shop, name: str) -> dict:
    """An order as the owner sees it (for its version)."""
    return _as(shop, "owner").get(f"/api/v1/records/order/{shop['orders'][name]}/").data


# -- the matrix: users x orders x operations ---------------------------------------------------


@pytest.mark.parametrize("who", USERS)
def test_list_shows_exactly_the_rows_the_rules_allow(shop, who):
    assert _names(shop, _as(shop, who).get("/api/v1/records/order/")) == VISIBLE[who]


@pytest.mark.parametrize("who", USERS)
@pytest.mark.parametrize("order", ORDERS)
def test_detail(shop, who, order):
    response = _as(shop, who).get(f"/api/v1/records/order/{shop['orders'][order]}/")
    if order in VISIBLE[who]:
        assert response.status_code == 200
        assert _hidden(who, "order").isdisjoint(response.data)
        for line in response.data["lines"]:
            assert _hidden(who, "order_line").isdisjoint(line)
            assert "qty" in line
    else:
        assert response.status_code == 404  # not 403: its existence is not told
        assert response.data["code"] == "not_found"


def _expected(who: str, order: str, operation: str) -> int:
    """No right to the operation on orders at all: 403, whatever the row; a row outside the
    rules: 404, as if it did not exist; else done."""
    if operation not in OPERATIONS[who]:
        return 403
    if order not in VISIBLE[who]:
        return 404
    return {"update": 200, "delete": 204}[operation]


@pytest.mark.parametrize("who", USERS)
@pytest.mark.parametrize("order", ORDERS)
def test_update(shop, who, order):
    before = _order(shop, order)
    response = _as(shop, who).patch(
        f"/api/v1/records/order/{shop['orders'][order]}/",
        {"version": before["version"], "state": "issued"},
        format="json",
    )
    assert response.status_code == _expected(who, order, "update"), response.data
    after = _order(shop, order)
    assert after["state"] == ("issued" if response.status_code == 200 else before["state"])


@pytest.mark.parametrize("who", USERS)
@pytest.mark.parametrize("order", ORDERS)
def test_delete(shop, who, order):
    response = _as(shop, who).delete(f"/api/v1/records/order/{shop['orders'][order]}/")
    expected = _expected(who, order, "delete")
    assert response.status_code == expected, getattr(response, "data", None)
    still_there = _as(shop, "owner").get(f"/api/v1/records/order/{shop['orders'][order]}/")
    assert still_there.status_code == (404 if expected == 204 else 200)


@pytest.mark.parametrize("who", USERS)
@pytest.mark.parametrize("order", ORDERS)
def test_restore(shop, who, order):
    record_delete(entity="order", record_id=shop["orders"][order], user=None)
    response = _as(shop, who).post(f"/api/v1/records/order/{shop['orders'][order]}/restore/")
    expected = _expected(who, order, "delete")
    assert response.status_code == (200 if expected == 204 else expected)


@pytest.mark.parametrize("who", USERS)
@pytest.mark.parametrize("order", ORDERS)
def test_history(shop, who, order):
    response = _as(shop, who).get(f"/api/v1/records/order/{shop['orders'][order]}/history/")
    if order not in VISIBLE[who]:
        assert response.status_code == 404
        return
    assert response.status_code == 200
    created = response.data["results"][0]["changes"]
    assert "state" in created
    assert _hidden(who, "order").isdisjoint(created)
    for line in created["lines"]["added"]:
        assert _hidden(who, "order_line").isdisjoint(line)


@pytest.mark.parametrize("who", USERS)
def test_create(shop, who):
    response = _as(shop, who).post(
        "/api/v1/records/order/", {"client": shop["clients"]["ivan"], "state": "new"}, format="json"
    )
    if "create" not in OPERATIONS[who]:
        assert response.status_code == 403
        assert "order" in response.data["detail"]
        return
    assert response.status_code == 201, response.data
    if who == "reception":  # her record goes to her branch
        assert response.data["branch"] == shop["branches"]["A"]


# -- fields: hidden ones cannot be read, filtered, sorted, searched or written -----------------


HIDDEN_CASES = [key for key, how in FIELD_RULES.items() if how == "hidden"]


@pytest.mark.parametrize(("who", "entity", "field"), HIDDEN_CASES)
def test_writing_a_hidden_field_is_refused_naming_it(shop, who, entity, field):
    api = _as(shop, who)
    order = "mine_a"
    data = _order(shop, order)
    if entity == "order":
        body = {"version": data["version"], field: _money("1.00")}
        key = field
    elif entity == "order_line":
        line = data["lines"][0]
        body = {"version": data["version"], "lines": [{"id": line["id"], field: _money("1")}]}
        key = f"lines[1].{field}"
    else:  # he may not change clients at all: refused before any field is looked at
        url = f"/api/v1/records/{entity}/{shop['clients']['ivan']}/"
        response = api.patch(url, {"version": 1, field: "+79000000000"}, format="json")
        assert response.status_code == 403
        return
    response = api.patch(f"/api/v1/records/order/{shop['orders'][order]}/", body, format="json")
    assert response.status_code == 400
    assert key in response.data["errors"]
    assert field in response.data["errors"][key][0]


def test_changing_lines_without_hidden_values_keeps_them(shop):
    api = _as(shop, "technician")
    data = api.get(f"/api/v1/records/order/{shop['orders']['mine_a']}/").data
    line = data["lines"][0]
    response = api.patch(
        f"/api/v1/records/order/{shop['orders']['mine_a']}/",
        {"version": data["version"], "lines": [{"id": line["id"], "qty": 2}]},
        format="json",
    )
    assert response.status_code == 200, response.data
    assert response.data["lines"][0]["qty"] == 2
    assert "purchase_price" not in response.data["lines"][0]
    owner_view = _order(shop, "mine_a")["lines"][0]
    assert owner_view["purchase_price"] == _money("35.00")


def test_read_only_field_may_be_sent_back_unchanged_but_not_changed(shop):
    api = _as(shop, "reception")
    url = f"/api/v1/records/client/{shop['clients']['ivan']}/"
    data = api.get(url).data
    assert data["notes"] == "calls late"
    same = api.patch(
        url, {"version": data["version"], "notes": "calls late", "name": "Ivan P"}, format="json"
    )
    assert same.status_code == 200, same.data
    changed = api.patch(url, {"version": same.data["version"], "notes": "x"}, format="json")
    assert changed.status_code == 400
    assert "read-only" in changed.data["errors"]["notes"][0]


@pytest.mark.parametrize(
    "query",
    [
        "cost__gt=5",
        "cost=40",
        "sort=-cost",
        "where=cost > 5",
        "where=ISBLANK(cost)",
        "client__phone=%2B79001234567",
        'where=client.phone = "+79001234567"',
        "where=SUM(lines.purchase_price) > 0",
        "lines__isnull=false&where=COUNT(lines.purchase_price) > 0",
        "sort=client__phone",
        "expand=client&client__phone__startswith=%2B7",
    ],
)
def test_hidden_fields_are_no_side_channel_in_lists(shop, query):
    response = _as(shop, "technician").get(f"/api/v1/records/order/?{query}")
    assert response.status_code == 400, response.data
    message = " ".join(m for ms in response.data["errors"].values() for m in ms)
    assert "hidden" in message
    assert any(name in message for name in ("cost", "phone", "purchase_price"))
    # the owner may do the same
    assert _as(shop, "owner").get(f"/api/v1/records/order/?{query}").status_code == 200


def test_search_does_not_look_into_hidden_fields(shop):
    owner = _as(shop, "owner").get("/api/v1/records/client/?search=79001234567")
    assert [row["id"] for row in owner.data["results"]] == [shop["clients"]["ivan"]]
    technician = _as(shop, "technician").get("/api/v1/records/client/?search=79001234567")
    assert technician.status_code == 200
    assert technician.data["results"] == []


def test_the_unknown_field_message_does_not_list_hidden_fields(shop):
    response = _as(shop, "technician").get("/api/v1/records/order/?nonsense=1")
    assert response.status_code == 400
    message = response.data["errors"]["nonsense"][0]
    assert "state" in message
    assert "cost" not in message


# -- linked records keep their own rules -------------------------------------------------------


def test_expanding_a_link_respects_the_target_rights(shop):
    api = _as(shop, "technician")
    rows = api.get("/api/v1/records/order/?expand=client&sort=id").data["results"]
    by_name = {shop["ids"][row["id"]]: row for row in rows}
    ivan = by_name["mine_a"]["client"]
    assert ivan["name"] == "Ivan"
    assert "phone" not in ivan  # hidden on clients
    # the VIP client is outside the technician's client rule: only its id shows
    assert by_name["new_b"]["client"] == shop["clients"]["vip"]


@pytest.mark.parametrize(
    ("query", "key"),
    [
        ("expand=client", "expand"),
        ("client__name=Ivan", "client__name"),
        ("sort=client__name", "sort"),
        ('where=client.name = "Ivan"', "where"),
    ],
)
def test_a_path_into_an_entity_the_user_may_not_read_is_refused(shop, query, key):
    intern = get_user_model().objects.create_user(username="intern", password="s3cret-pass!")
    grant(intern, "order", ops=("read",), role="intern")  # orders, but no clients
    api = APIClient()
    api.force_authenticate(intern)
    response = api.get(f"/api/v1/records/order/?{query}")
    assert response.status_code == 400
    assert "may not read client" in " ".join(response.data["errors"][key]) or "client" in str(
        response.data["errors"][key]
    )


@pytest.mark.parametrize(
    "query",
    ["client__name=Boss", 'where=client.name = "Boss"', "where=client.discount > 0.6"],
)
def test_filters_through_a_link_do_not_see_rows_outside_the_target_rules(shop, query):
    owner = _names(shop, _as(shop, "owner").get(f"/api/v1/records/order/?{query}"))
    assert owner == {"new_b"}
    assert _names(shop, _as(shop, "technician").get(f"/api/v1/records/order/?{query}")) == set()


def test_sorting_through_a_link_treats_unreadable_rows_as_blank(shop):
    owner = _as(shop, "owner").get("/api/v1/records/order/?sort=client__name,id").data["results"]
    tech = _as(shop, "technician").get("/api/v1/records/order/?sort=client__name,id")
    names = [shop["ids"][row["id"]] for row in tech.data["results"]]
    owner_names = [shop["ids"][row["id"]] for row in owner if shop["ids"][row["id"]] in names]
    assert owner_names == ["new_b", "mine_a"]  # Boss < Ivan for the owner
    # For the technician Boss is unreadable, so it sorts as blank (last, ascending).
    blank_last = connection.vendor == "postgresql"
    assert names == (["mine_a", "new_b"] if blank_last else ["new_b", "mine_a"])


def test_aggregates_over_linking_records_count_only_readable_ones(shop):
    # the technician may read clients and (some) orders; a where over the orders that link
    # to a client counts only the orders he may see
    owner = _as(shop, "owner").get("/api/v1/records/client/?where=COUNT(order) >= 3")
    assert [row["id"] for row in owner.data["results"]] == [shop["clients"]["ivan"]]
    tech = _as(shop, "technician").get("/api/v1/records/client/?where=COUNT(order) >= 3")
    assert tech.status_code == 200, tech.data
    assert tech.data["results"] == []


# -- conflicts and rules in SQL ----------------------------------------------------------------


def test_a_conflict_shows_the_current_record_without_hidden_fields(shop):
    api = _as(shop, "technician")
    url = f"/api/v1/records/order/{shop['orders']['mine_a']}/"
    version = api.get(url).data["version"]
    assert api.patch(url, {"version": version, "state": "ready"}, format="json").status_code == 200
    stale = api.patch(url, {"version": version, "state": "issued"}, format="json")
    assert stale.status_code == 409
    assert stale.data["current"]["state"] == "ready"
    assert "cost" not in stale.data["current"]


def test_row_rules_run_in_the_database_not_in_python(shop):
    technician = shop["users"]["technician"]
    queryset = record_list("order", {}, user=technician)
    sql = str(queryset.query)
    assert "technician" not in sql  # physical names only
    with CaptureQueriesContext(connection) as queries:
        rows = list(queryset)
    assert {shop["ids"][row.pk] for row in rows} == VISIBLE["technician"]
    # one query for the orders (the rule is in its WHERE) plus one for their lines
    assert len(queries) <= 3
    assert "WHERE" in queries[0]["sql"]


def test_a_user_without_roles_sees_nothing(shop, clerk):
    api = APIClient()
    api.force_authenticate(clerk)
    assert api.get("/api/v1/records/order/").status_code == 403
    assert api.get(f"/api/v1/records/order/{shop['orders']['mine_a']}/").status_code == 403
    assert api.post("/api/v1/records/client/", {"name": "X"}, format="json").status_code == 403


def test_a_receptionist_creates_only_in_her_branches(shop):
    api = _as(shop, "reception")
    response = api.post(
        "/api/v1/records/client/",
        {"name": "Olga", "branch": shop["branches"]["B"]},
        format="json",
    )
    assert response.status_code == 400
    assert "branch" in response.data["errors"]


def test_three_people_on_the_same_records(shop):
    """The story of the issue: each sees exactly what the table says."""
    seen = {
        who: _names(shop, _as(shop, who).get("/api/v1/records/order/?sort=id")) for who in USERS
    }
    assert seen == VISIBLE
    tech_view = _as(shop, "technician").get(f"/api/v1/records/order/{shop['orders']['mine_a']}/")
    owner_view = _as(shop, "owner").get(f"/api/v1/records/order/{shop['orders']['mine_a']}/")
    assert owner_view.data["cost"] == _money("40.00")
    assert "cost" not in tech_view.data
    assert owner_view.data["lines"][0]["purchase_price"] == _money("35.00")
    assert "purchase_price" not in tech_view.data["lines"][0]
    # The receptionist of branch A sees the cost of her branch's orders, not branch B's orders.
    anna = _as(shop, "reception")
    assert anna.get(f"/api/v1/records/order/{shop['orders']['ready_a']}/").data["cost"]
    assert anna.get(f"/api/v1/records/order/{shop['orders']['ready_b']}/").status_code == 404


def test_a_formula_preview_does_not_read_linked_rows_outside_the_rules(shop):
    url = "/api/v1/meta/entities/order/formula-check/"
    body = {"expression": "client.name", "record": shop["orders"]["new_b"]}
    owner = _as(shop, "owner").post(url, body, format="json")
    assert owner.status_code == 200, owner.data
    assert owner.data["value"] == "Boss"
    technician = _as(shop, "technician").post(url, body, format="json")
    assert technician.status_code == 200, technician.data
    assert technician.data["value"] in (None, "")  # the VIP client is not his to read


def test_a_misspelt_where_does_not_suggest_hidden_fields(shop):
    response = _as(shop, "technician").get("/api/v1/records/order/?where=cots > 1")
    assert response.status_code == 400
    assert "cost" not in str(response.data)
    owner = _as(shop, "owner").get("/api/v1/records/order/?where=cots > 1")
    assert "cost" in str(owner.data)  # the owner is told what they probably meant


def test_a_field_a_row_rule_reads_cannot_be_renamed_or_deleted(shop):
    owner = _as(shop, "owner")
    url = "/api/v1/meta/entities/order/fields/technician/"
    renamed = owner.patch(url, {"slug": "master"}, format="json")
    assert renamed.status_code == 400
    assert "technician: order" in str(renamed.data)
    assert owner.delete(url).status_code == 400
    # the rule still works
    assert (
        _names(shop, _as(shop, "technician").get("/api/v1/records/order/")) == VISIBLE["technician"]
    )
