"""The schema API: entities, fields, renames, type changes, trash, permissions, visibility."""

from __future__ import annotations

import queue
import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from cardfile.metamodel.records import record_create
from cardfile.metamodel.schema.services import entity_create, field_create
from tests.builders import build_shop_schema, grant

META = "/api/v1/meta"


@pytest.fixture
def shop(owner):
    return build_shop_schema(owner)


def _create_device(api):
    response = api.post(f"{META}/entities/", {"slug": "device", "label": "Device"}, format="json")
    assert response.status_code == 201, response.data
    return response


# -- entities ----------------------------------------------------------------------------------


@pytest.mark.embedded
def test_entity_crud(api):
    # when
    created = _create_device(api)
    # then
    assert created.data == {
        "slug": "device",
        "label": "Device",
        "label_plural": "Device",
        "description": "",
        "title_field": None,
        "validation_rules": [],
        "fields": [],
    }
    listed = api.get(f"{META}/entities/")
    assert [e["slug"] for e in listed.data] == ["device"]

    changed = api.patch(
        f"{META}/entities/device/",
        {"label_plural": "Devices", "description": "Phones and laptops"},
        format="json",
    )
    assert changed.status_code == 200
    assert changed.data["label_plural"] == "Devices"
    assert api.get(f"{META}/entities/device/").data["description"] == "Phones and laptops"

    deleted = api.delete(f"{META}/entities/device/")
    assert deleted.status_code == 204
    assert api.get(f"{META}/entities/device/").status_code == 404
    assert api.get(f"{META}/entities/").data == []


@pytest.mark.embedded
def test_entity_rename_and_title_field(api, shop):
    # when
    renamed = api.patch(f"{META}/entities/client/", {"slug": "customer"}, format="json")
    titled = api.patch(f"{META}/entities/customer/", {"title_field": "email"}, format="json")
    # then
    assert renamed.status_code == 200
    assert renamed.data["slug"] == "customer"
    assert titled.data["title_field"] == "email"
    assert api.get(f"{META}/entities/client/").status_code == 404
    # the link of order still points to the renamed entity, by slug
    link = api.get(f"{META}/entities/order/fields/client/").data
    assert link["options"]["target"] == "customer"


@pytest.mark.embedded
def test_entity_errors(api, shop):
    missing = api.post(f"{META}/entities/", {"slug": "Bad Slug"}, format="json")
    assert missing.status_code == 400
    assert set(missing.data["errors"]) == {"slug", "label"}

    taken = api.post(f"{META}/entities/", {"slug": "client", "label": "X"}, format="json")
    assert taken.status_code == 400
    assert "slug" in taken.data["errors"]

    unknown = api.patch(f"{META}/entities/client/", {"color": "red"}, format="json")
    assert unknown.status_code == 400
    assert "color" in unknown.data["errors"]

    wrong_type = api.post(f"{META}/entities/", {"slug": 5, "label": ["x"]}, format="json")
    assert wrong_type.status_code == 400
    assert set(wrong_type.data["errors"]) == {"slug", "label"}

    not_object = api.post(f"{META}/entities/", [1, 2], format="json")
    assert not_object.status_code == 400

    assert api.get(f"{META}/entities/nope/").status_code == 404

    in_use = api.delete(f"{META}/entities/client/")
    assert in_use.status_code == 409
    assert in_use.data["code"] == "entity_in_use"


# -- fields ------------------------------------------------------------------------------------


@pytest.mark.embedded
def test_field_crud_and_rename(api, shop):
    # when
    created = api.post(
        f"{META}/entities/client/fields/",
        {
            "slug": "birthday",
            "label": "Birthday",
            "type": "date",
            "help_text": "For greetings",
            "indexed": True,
        },
        format="json",
    )
    # then
    assert created.status_code == 201, created.data
    assert created.data == {
        "slug": "birthday",
        "label": "Birthday",
        "type": "date",
        "required": False,
        "unique": False,
        "indexed": True,
        "default": None,
        "default_formula": "",
        "options": {},
        "help_text": "For greetings",
    }
    slugs = [f["slug"] for f in api.get(f"{META}/entities/client/fields/").data]
    assert slugs == ["name", "phone", "email", "discount", "birthday"]
    detail = api.get(f"{META}/entities/client/").data
    assert [f["slug"] for f in detail["fields"]] == slugs
    link = api.get(f"{META}/entities/order/fields/client/").data
    assert link["options"] == {"target": "client", "on_delete": "protect"}

    renamed = api.patch(
        f"{META}/entities/client/fields/birthday/", {"slug": "born_on"}, format="json"
    )
    assert renamed.status_code == 200
    assert renamed.data["slug"] == "born_on"
    assert api.get(f"{META}/entities/client/fields/birthday/").status_code == 404
    assert api.get(f"{META}/entities/client/fields/born_on/").status_code == 200

    deleted = api.delete(f"{META}/entities/client/fields/born_on/")
    assert deleted.status_code == 204
    assert api.get(f"{META}/entities/client/fields/born_on/").status_code == 404


@pytest.mark.embedded
def test_field_errors(api, shop):
    bad_type = api.post(
        f"{META}/entities/client/fields/",
        {"slug": "x", "label": "X", "type": "nonsense"},
        format="json",
    )
    assert bad_type.status_code == 400
    assert "type" in bad_type.data["errors"]

    reserved = api.post(
        f"{META}/entities/client/fields/",
        {"slug": "version", "label": "V", "type": "text"},
        format="json",
    )
    assert reserved.status_code == 400
    assert "slug" in reserved.data["errors"]

    bad_options = api.post(
        f"{META}/entities/client/fields/",
        {"slug": "kind", "label": "Kind", "type": "choice", "options": {"choices": []}},
        format="json",
    )
    assert bad_options.status_code == 400
    assert any(key.startswith("options") for key in bad_options.data["errors"])

    not_bool = api.post(
        f"{META}/entities/client/fields/",
        {"slug": "vip", "label": "VIP", "type": "boolean", "required": "yes"},
        format="json",
    )
    assert not_bool.status_code == 400
    assert "required" in not_bool.data["errors"]

    assert api.get(f"{META}/entities/client/fields/nope/").status_code == 404
    assert api.get(f"{META}/entities/nope/fields/").status_code == 404


# -- type changes ------------------------------------------------------------------------------


@pytest.mark.embedded
def test_type_change_refused_then_confirmed(api, owner, shop):
    # given: a text field with values, one of which is no number
    api.post(
        f"{META}/entities/client/fields/",
        {"slug": "code", "label": "Code", "type": "text"},
        format="json",
    )
    for name, code in [("Ann", "12"), ("Bob", "x7"), ("Cid", "30")]:
        record_create(entity="client", data={"name": name, "code": code}, user=owner)
    url = f"{META}/entities/client/fields/code/"

    # when: the preview says what would happen
    preview = api.post(url + "conversion-preview/", {"type": "integer"}, format="json")
    # then
    assert preview.status_code == 200
    assert preview.data["total"] == 3
    assert preview.data["failed_count"] == 1
    assert preview.data["needs_new_column"] is True
    assert [s["value"] for s in preview.data["sample"]] == ["x7"]

    # when: the change is tried without confirming
    refused = api.patch(url, {"type": "integer"}, format="json")
    # then
    assert refused.status_code == 409
    assert refused.data["code"] == "conversion_refused"
    assert refused.data["details"]["failed_count"] == 1
    assert refused.data["details"]["total"] == 3
    assert refused.data["details"]["sample"][0]["value"] == "x7"
    assert api.get(url).data["type"] == "text"

    # when: confirmed
    converted = api.patch(url, {"type": "integer", "confirm": True}, format="json")
    # then
    assert converted.status_code == 200, converted.data
    assert converted.data["type"] == "integer"
    archived = api.get(url + "archived-columns/")
    assert archived.status_code == 200
    assert [a["type"] for a in archived.data] == ["text"]
    assert archived.data[0]["failed_count"] == 1

    # when: the archived column is restored
    restored = api.post(url + f"archived-columns/{archived.data[0]['id']}/restore/")
    # then
    assert restored.status_code == 200, restored.data
    assert restored.data["type"] == "text"
    wrong_id = api.post(url + "archived-columns/999999/restore/")
    assert wrong_id.status_code == 404


@pytest.mark.embedded
def test_options_change_and_undefined_conversion(api, shop):
    # a same-type options change goes through the same path
    choices = api.patch(
        f"{META}/entities/order/fields/state/",
        {"options": {"choices": ["new", "in_work", "ready", "issued", "cancelled"]}},
        format="json",
    )
    assert choices.status_code == 200, choices.data
    assert [c["value"] for c in choices.data["options"]["choices"]][-1] == "cancelled"

    undefined = api.patch(
        f"{META}/entities/order/fields/lines/", {"type": "integer"}, format="json"
    )
    assert undefined.status_code == 409
    assert undefined.data["code"] == "conversion_undefined"


# -- trash -------------------------------------------------------------------------------------


@pytest.mark.embedded
def test_trash_and_restore_by_id(api, shop):
    # given: a trashed entity whose slug is then taken again, and a trashed field
    _create_device(api)
    api.delete(f"{META}/entities/device/")
    _create_device(api)
    api.delete(f"{META}/entities/client/fields/email/")

    # when
    trash = api.get(f"{META}/trash/")
    # then
    assert trash.status_code == 200
    [entity] = trash.data["entities"]
    assert entity["slug"] == "device"
    [field] = trash.data["fields"]
    assert (field["entity"], field["slug"], field["type"]) == ("client", "email", "email")

    # restoring under the taken slug is refused, under a new one it works
    taken = api.post(f"{META}/trash/entities/{entity['id']}/restore/")
    assert taken.status_code == 400
    assert "slug" in taken.data["errors"]
    restored = api.post(
        f"{META}/trash/entities/{entity['id']}/restore/", {"slug": "old_device"}, format="json"
    )
    assert restored.status_code == 200, restored.data
    assert restored.data["slug"] == "old_device"

    field_back = api.post(f"{META}/trash/fields/{field['id']}/restore/")
    assert field_back.status_code == 200, field_back.data
    assert field_back.data["slug"] == "email"
    assert api.get(f"{META}/trash/").data == {"entities": [], "fields": []}
    assert api.post(f"{META}/trash/fields/{field['id']}/restore/").status_code == 404


@pytest.mark.embedded
def test_purge(api, shop):
    api.delete(f"{META}/entities/client/fields/email/")
    field_id = api.get(f"{META}/trash/").data["fields"][0]["id"]
    assert api.delete(f"{META}/trash/fields/{field_id}/").status_code == 204
    assert api.get(f"{META}/trash/").data["fields"] == []


# -- permissions -------------------------------------------------------------------------------


def _clerk_writes(clerk_api):
    return [
        clerk_api.post(f"{META}/entities/", {"slug": "x", "label": "X"}, format="json"),
        clerk_api.patch(f"{META}/entities/client/", {"label": "C"}, format="json"),
        clerk_api.delete(f"{META}/entities/client/"),
        clerk_api.post(
            f"{META}/entities/client/fields/",
            {"slug": "y", "label": "Y", "type": "text"},
            format="json",
        ),
        clerk_api.patch(f"{META}/entities/client/fields/name/", {"label": "N"}, format="json"),
        clerk_api.delete(f"{META}/entities/client/fields/name/"),
        clerk_api.post(
            f"{META}/entities/client/fields/name/conversion-preview/", {"type": "integer"}
        ),
        clerk_api.get(f"{META}/entities/client/fields/name/archived-columns/"),
        clerk_api.post(f"{META}/trash/entities/1/restore/"),
        clerk_api.delete(f"{META}/trash/entities/1/"),
        clerk_api.post(f"{META}/trash/fields/1/restore/"),
    ]


@pytest.mark.embedded
def test_a_user_without_roles_reads_nothing_and_writes_nothing(clerk_api, shop):
    listed = clerk_api.get(f"{META}/entities/")
    assert listed.status_code == 200
    assert listed.data == []
    assert clerk_api.get(f"{META}/entities/client/").status_code == 403
    assert clerk_api.get(f"{META}/entities/client/fields/").status_code == 403
    assert clerk_api.get(f"{META}/entities/client/fields/name/").status_code == 403
    assert clerk_api.get(f"{META}/trash/").status_code == 403
    writes = _clerk_writes(clerk_api)
    assert [r.status_code for r in writes] == [403] * len(writes)


@pytest.mark.embedded
def test_read_lets_a_role_read_the_schema_but_not_change_it(clerk, clerk_api, shop):
    # given: the clerk reads clients (and nothing else)
    grant(clerk, "client", ops=("read",))
    # then
    assert [e["slug"] for e in clerk_api.get(f"{META}/entities/").data] == ["client"]
    assert clerk_api.get(f"{META}/entities/client/").status_code == 200
    assert clerk_api.get(f"{META}/entities/client/fields/name/").status_code == 200
    assert clerk_api.get(f"{META}/entities/order/").status_code == 403
    assert clerk_api.get(f"{META}/trash/").status_code == 403
    writes = _clerk_writes(clerk_api)
    assert [r.status_code for r in writes] == [403] * len(writes)
    assert "configure" in writes[1].data["detail"]
    assert clerk_api.get(f"{META}/entities/client/").data["label"] == "Client"


@pytest.mark.embedded
def test_configure_lets_a_role_change_that_entity_only(clerk, clerk_api, shop):
    # given
    grant(clerk, "client", ops=("read", "configure"))
    # when
    relabelled = clerk_api.patch(f"{META}/entities/client/", {"label": "Customer"}, format="json")
    added = clerk_api.post(
        f"{META}/entities/client/fields/",
        {"slug": "vip", "label": "VIP", "type": "boolean"},
        format="json",
    )
    # then
    assert relabelled.status_code == 200, relabelled.data
    assert added.status_code == 201, added.data
    assert (
        clerk_api.patch(f"{META}/entities/order/", {"label": "O"}, format="json").status_code == 403
    )
    assert (
        clerk_api.post(f"{META}/entities/", {"slug": "x", "label": "X"}, format="json").status_code
        == 403
    )
    assert clerk_api.get(f"{META}/trash/").status_code == 403


@pytest.mark.embedded
def test_anonymous_is_refused(schema_db):
    response = APIClient().get(f"{META}/entities/")
    assert response.status_code in (401, 403)
    assert "detail" in response.data


# -- visibility across workers ------------------------------------------------------------------


class _Worker(threading.Thread):
    """A worker with its own database connection, serving requests handed to it one by one."""

    def __init__(self, user):
        super().__init__(daemon=True)
        self.client = APIClient()
        self.client.force_authenticate(user)
        self.inbox: queue.Queue = queue.Queue()
        self.outbox: queue.Queue = queue.Queue()

    def run(self):
        try:
            while (job := self.inbox.get()) is not None:
                method, url, data = job
                try:
                    response = getattr(self.client, method)(url, data, format="json")
                    self.outbox.put((response.status_code, response.data))
                except Exception as error:  # noqa: BLE001  (reported to the test thread)
                    self.outbox.put((None, error))
        finally:
            connection.close()

    def request(self, method, url, data=None):
        self.inbox.put((method, url, data))
        return self.outbox.get(timeout=60)


@pytest.mark.django_db(transaction=True)
def test_schema_change_is_seen_by_the_next_request_of_another_worker(owner):
    # given: two workers that have both served requests with the current schema
    build_shop_schema(owner)
    first, second = _Worker(owner), _Worker(owner)
    first.start()
    second.start()
    try:
        status, page = second.request("get", "/api/v1/records/client/")
        assert status == 200
        status, document = second.request("get", "/api/schema/")
        assert "vip" not in document["components"]["schemas"]["client"]["properties"]

        # when: one worker adds a field
        status, _body = first.request(
            "post",
            f"{META}/entities/client/fields/",
            {"slug": "vip", "label": "VIP", "type": "boolean"},
        )
        assert status == 201

        # then: the very next request of the other worker uses it
        status, created = second.request(
            "post", "/api/v1/records/client/", {"name": "Ann", "vip": True}
        )
        assert status == 201, created
        assert created["vip"] is True
        status, document = second.request("get", "/api/schema/")
        assert "vip" in document["components"]["schemas"]["client"]["properties"]

        # and a rename the other way round
        status, _body = second.request(
            "patch", f"{META}/entities/client/fields/vip/", {"slug": "important"}
        )
        assert status == 200
        status, page = first.request("get", "/api/v1/records/client/")
        assert status == 200
        assert page["results"][0]["important"] is True
        assert "vip" not in page["results"][0]
    finally:
        for worker in (first, second):
            worker.inbox.put(None)
            worker.join(timeout=30)


def test_an_entity_with_many_links_reads_in_a_fixed_number_of_queries(
    schema_db, owner, django_assert_max_num_queries
):
    # given an entity with five link fields (their targets are shown by slug)
    entity_create(slug="client", label="Client")
    entity_create(slug="order", label="Order")
    for n in range(5):
        field_create(
            entity="order",
            slug=f"link_{n}",
            label=f"Link {n}",
            type="link",
            options={"target": "client"},
        )
    api = APIClient()
    api.force_authenticate(owner)
    api.get("/api/v1/meta/entities/order/")  # builds the schema registry once

    # then the target slugs come from the schema in memory, not a query per link
    with django_assert_max_num_queries(4):
        response = api.get("/api/v1/meta/entities/order/")
    assert [f["options"]["target"] for f in response.json()["fields"]] == ["client"] * 5
