"""Record endpoints: CRUD, validation, optimistic locking, lines, expand, history, trash, auth."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.builders import build_shop_with_tags, grant

pytestmark = [pytest.mark.embedded]

PHONE = "+49 30 1234567"
PHONE_E164 = "+49301234567"


@pytest.fixture
def shop(schema_db, owner):
    """The shop schema plus tags (multi_link on client) and a technician (user on order)."""
    build_shop_with_tags(owner)


def _create(api, entity, data):
    response = api.post(f"/api/v1/records/{entity}/", data, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_crud_round_trip(shop, api):
    # given
    tag = _create(api, "tag", {"name": "vip"})
    # when
    created = _create(
        api,
        "client",
        {"name": "Ivan", "phone": PHONE, "email": "ivan@Example.COM", "tags": [tag["id"]]},
    )
    # then
    assert created["version"] == 1
    assert created["name"] == "Ivan"
    assert created["phone"] == PHONE_E164
    assert created["email"] == "ivan@example.com"
    assert created["tags"] == [tag["id"]]
    assert {"id", "created_at", "updated_at"} <= set(created)
    url = f"/api/v1/records/client/{created['id']}/"
    assert api.get(url).json() == created

    changed = api.patch(url, {"version": 1, "name": "Ivan Petrov"}, format="json")
    assert changed.status_code == 200
    assert changed.json()["name"] == "Ivan Petrov"
    assert changed.json()["version"] == 2
    assert changed.json()["phone"] == PHONE_E164  # untouched fields stay
    assert api.get(url).json()["name"] == "Ivan Petrov"

    assert api.delete(url).status_code == 204
    gone = api.get(url)
    assert gone.status_code == 404
    assert gone.json()["detail"]
    assert api.get("/api/v1/records/client/").json()["results"] == []


def test_create_reports_every_bad_field(shop, api):
    response = api.post(
        "/api/v1/records/client/",
        {"phone": "12", "email": "not-an-email", "discount": "150", "nickname": "x"},
        format="json",
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"name", "phone", "email", "discount", "nickname"}
    assert "required" in errors["name"][0]
    assert "100" in errors["discount"][0]


def test_patch_without_version_is_refused(shop, api):
    client = _create(api, "client", {"name": "Ivan"})
    response = api.patch(f"/api/v1/records/client/{client['id']}/", {"name": "Olga"}, format="json")
    assert response.status_code == 400
    assert "version" in response.json()["errors"]
    assert api.get(f"/api/v1/records/client/{client['id']}/").json()["name"] == "Ivan"


def test_stale_version_gets_409_with_the_current_record(shop, api):
    client = _create(api, "client", {"name": "Ivan"})
    url = f"/api/v1/records/client/{client['id']}/"
    assert api.patch(url, {"version": 1, "name": "Olga"}, format="json").status_code == 200
    # when: a second change still based on version 1
    response = api.patch(url, {"version": 1, "name": "Petr"}, format="json")
    # then
    assert response.status_code == 409
    body = response.json()
    assert body["detail"]
    assert body["current"]["version"] == 2
    assert body["current"]["name"] == "Olga"
    assert api.get(url).json()["name"] == "Olga"


def test_lines_are_written_and_read_inside_the_parent(shop, api):
    client = _create(api, "client", {"name": "Ivan"})
    order = _create(
        api,
        "order",
        {
            "client": client["id"],
            "lines": [
                {"item": "Screen", "qty": 1, "price": {"amount": "80", "currency": "EUR"}},
                {"item": "Battery", "qty": 2, "price": "25.50"},
            ],
        },
    )
    assert order["state"] == "new"  # the default
    assert order["number"].startswith("RO-")
    first, second = order["lines"]
    assert first["item"] == "Screen"
    assert first["price"] == {"amount": "80.00", "currency": "EUR"}
    assert second["qty"] == 2

    # when: change the first line, drop the second, add a third
    response = api.patch(
        f"/api/v1/records/order/{order['id']}/",
        {
            "version": order["version"],
            "lines": [{"id": first["id"], "qty": 3}, {"item": "Glass", "qty": 1}],
        },
        format="json",
    )
    # then
    assert response.status_code == 200, response.json()
    lines = response.json()["lines"]
    assert [(line["item"], line["qty"]) for line in lines] == [("Screen", 3), ("Glass", 1)]
    assert lines[0]["id"] == first["id"]
    assert second["id"] not in {line["id"] for line in lines}


def test_bad_line_is_named_by_its_position(shop, api):
    client = _create(api, "client", {"name": "Ivan"})
    response = api.post(
        "/api/v1/records/order/",
        {"client": client["id"], "lines": [{"item": "Screen"}, {"qty": "many"}]},
        format="json",
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert "lines[2].qty" in errors
    assert "lines[2].item" in errors


def test_expand_embeds_the_linked_record(shop, api):
    tag = _create(api, "tag", {"name": "vip"})
    client = _create(api, "client", {"name": "Ivan", "tags": [tag["id"]]})
    order = _create(api, "order", {"client": client["id"]})
    # when
    detail = api.get(f"/api/v1/records/order/{order['id']}/?expand=client").json()
    listed = api.get("/api/v1/records/order/?expand=client").json()["results"]
    # then
    assert detail["client"] == client
    assert listed[0]["client"] == client
    plain = api.get(f"/api/v1/records/order/{order['id']}/").json()
    assert plain["client"] == client["id"]


@pytest.mark.parametrize("expand", ["nothing", "state", "client,nothing"])
def test_expand_of_a_non_link_is_400(shop, api, expand):
    response = api.get(f"/api/v1/records/order/?expand={expand}")
    assert response.status_code == 400
    assert "expand" in response.json()["errors"]
    detail = api.get(f"/api/v1/records/order/1/?expand={expand}")
    assert detail.status_code == 400


def test_unknown_entity_and_record_are_404(shop, api):
    for url in (
        "/api/v1/records/nothing/",
        "/api/v1/records/nothing/1/",
        "/api/v1/records/client/12345/",
        "/api/v1/records/client/12345/history/",
        "/api/v1/records/client/99999999999999999999/",
    ):
        response = api.get(url)
        assert response.status_code == 404, url
        assert response.json()["detail"]
    assert (
        api.patch("/api/v1/records/client/12345/", {"version": 1}, format="json").status_code == 404
    )
    assert api.delete("/api/v1/records/client/12345/").status_code == 404


def test_line_entities_have_no_endpoints_of_their_own(shop, api):
    listed = api.get("/api/v1/records/order_line/")
    assert listed.status_code == 404
    assert "order" in listed.json()["detail"]
    created = api.post("/api/v1/records/order_line/", {"item": "Screen"}, format="json")
    assert created.status_code == 404


def test_history_lists_each_write(shop, api):
    client = _create(api, "client", {"name": "Ivan"})
    url = f"/api/v1/records/client/{client['id']}/"
    api.patch(url, {"version": 1, "name": "Olga"}, format="json")
    # when
    response = api.get(url + "history/")
    # then
    assert response.status_code == 200
    entries = response.json()["results"]
    assert [e["action"] for e in entries] == ["create", "update"]
    assert entries[1]["changes"]["name"] == {"before": "Ivan", "after": "Olga"}
    assert entries[1]["username"] == "owner"


def test_restore_brings_a_trashed_record_back(shop, api):
    client = _create(api, "client", {"name": "Ivan"})
    url = f"/api/v1/records/client/{client['id']}/"
    # a live record is not in the trash
    assert api.post(url + "restore/").status_code == 404
    assert api.delete(url).status_code == 204
    trash = api.get("/api/v1/records/client/?trash=true").json()["results"]
    assert [r["id"] for r in trash] == [client["id"]]
    assert api.get(url + "history/").status_code == 200  # history of a trashed record
    # when
    response = api.post(url + "restore/")
    # then
    assert response.status_code == 200
    assert response.json()["name"] == "Ivan"
    assert api.get(url).status_code == 200
    assert api.get("/api/v1/records/client/?trash=true").json()["results"] == []


def test_trashing_a_linked_record_is_refused(shop, api):
    client = _create(api, "client", {"name": "Ivan"})
    _create(api, "order", {"client": client["id"]})
    response = api.delete(f"/api/v1/records/client/{client['id']}/")
    assert response.status_code == 409
    assert response.json()["detail"]


def test_token_authentication(shop, owner):
    anonymous = APIClient()
    got = anonymous.post(
        "/api/v1/auth/token/", {"username": "owner", "password": "s3cret-pass!"}, format="json"
    )
    assert got.status_code == 200
    token = got.json()["token"]
    # when
    anonymous.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    response = anonymous.post("/api/v1/records/client/", {"name": "Ivan"}, format="json")
    # then
    assert response.status_code == 201
    assert response.json()["created_by"] == owner.pk
    assert anonymous.get("/api/v1/records/client/").status_code == 200


def test_anonymous_requests_are_refused(shop):
    anonymous = APIClient()
    assert anonymous.get("/api/v1/records/client/").status_code in (401, 403)
    response = anonymous.post("/api/v1/records/client/", {"name": "Ivan"}, format="json")
    assert response.status_code in (401, 403)
    assert response.json()["detail"]
    bad_token = APIClient()
    bad_token.credentials(HTTP_AUTHORIZATION="Token nope")
    assert bad_token.get("/api/v1/records/client/").status_code in (401, 403)


def test_a_clerk_sees_its_name_in_history(shop, api, clerk):
    grant(clerk, "client")
    client = _create(api, "client", {"name": "Ivan"})
    as_clerk = APIClient()
    as_clerk.force_authenticate(clerk)
    url = f"/api/v1/records/client/{client['id']}/"
    response = as_clerk.patch(url, {"version": 1, "name": "Olga"}, format="json")
    assert response.status_code == 200
    assert response.json()["updated_by"] == clerk.pk
    assert api.get(url + "history/").json()["results"][-1]["username"] == "clerk"
