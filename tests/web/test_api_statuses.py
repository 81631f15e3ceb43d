"""Status fields through the API: a refused transition is a 400 naming the allowed next states,
and /records/<entity>/<id>/transitions/ tells each caller where they may move a record."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from cardfile.metamodel.records import record_get
from cardfile.metamodel.schema.dynamic import get_registry
from tests.builders import grant
from tests.status_builders import STATUS_OPTIONS, build_status_schema, new_order, staff
from tests.web.test_openapi import assert_valid_openapi

pytestmark = [pytest.mark.embedded]

RECORDS = "/api/v1/records"


@pytest.fixture
def shop(schema_db, owner):
    return build_status_schema(owner)


def _client_for(username, role):
    user = get_user_model().objects.create_user(username=username, password="s3cret-pass!")
    if role:
        staff(user, role)
    client = APIClient()
    client.force_authenticate(user)
    return client


def _state(order):
    schema = get_registry().entity("order")
    return getattr(record_get("order", order.pk), schema.by_slug["status"].attname)


def test_a_refused_transition_is_a_400_naming_the_allowed_next_states(shop):
    tech = _client_for("tech", "technician")
    order = new_order()

    response = tech.patch(
        f"{RECORDS}/order/{order.pk}/", {"version": 1, "status": "issued"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["errors"] == {
        "status": [
            "Cannot move from \u201cNew\u201d to \u201cIssued\u201d. "
            "Allowed next states: Diagnostics, Cancelled."
        ]
    }
    assert _state(order) == "new"


def test_an_allowed_transition_answers_the_record_with_its_set_fields(shop):
    tech = _client_for("tech", "technician")
    manager = _client_for("boss", "manager")
    order = new_order()

    moves = [
        (tech, {"version": 1, "status": "diagnostics"}),
        (manager, {"version": 2, "status": "ready", "price": "50"}),
        (tech, {"version": 3, "status": "issued"}),
    ]
    answers = [
        client.patch(f"{RECORDS}/order/{order.pk}/", data, format="json") for client, data in moves
    ]

    assert [a.status_code for a in answers] == [200, 200, 200]
    last = answers[-1].json()
    assert (last["status"], last["version"]) == ("issued", 4)
    assert last["closed_at"] is not None


def test_the_managers_transition_is_refused_to_a_technician(shop):
    tech = _client_for("tech", "technician")
    order = new_order(status="diagnostics")

    response = tech.patch(
        f"{RECORDS}/order/{order.pk}/",
        {"version": 1, "status": "ready", "price": "10"},
        format="json",
    )

    assert response.status_code == 400
    assert "reserved for the role manager" in response.json()["errors"]["status"][0]


def test_creating_in_another_state_is_refused_to_staff(shop):
    tech = _client_for("tech", "technician")
    client = tech.post(f"{RECORDS}/client/", {"name": "Ann"}, format="json").json()

    refused = tech.post(
        f"{RECORDS}/order/", {"client": client["id"], "status": "ready"}, format="json"
    )
    created = tech.post(f"{RECORDS}/order/", {"client": client["id"]}, format="json")

    assert refused.status_code == 400
    assert "starts in \u201cNew\u201d" in refused.json()["errors"]["status"][0]
    assert created.status_code == 201
    assert created.json()["status"] == "new"


def test_transitions_endpoint_lists_what_each_caller_may_do(shop, api):
    tech = _client_for("tech", "technician")
    manager = _client_for("boss", "manager")
    order = new_order(status="diagnostics")
    url = f"{RECORDS}/order/{order.pk}/transitions/"

    for_tech = tech.get(url)
    for_manager = manager.get(url)
    for_owner = api.get(url)

    assert for_tech.status_code == 200
    assert for_tech.json() == {"status": {"current": "diagnostics", "allowed": []}}
    assert for_manager.json()["status"]["allowed"] == [
        {"value": "ready", "label": "Ready", "color": "green", "group": "done"},
        {"value": "cancelled", "label": "Cancelled", "color": "red", "group": "cancelled"},
    ]
    assert for_owner.json() == for_manager.json()


def test_transitions_endpoint_respects_read_rights_and_hidden_fields(shop, clerk_api, clerk):
    order = new_order()
    url = f"{RECORDS}/order/{order.pk}/transitions/"

    denied = clerk_api.get(url)
    grant(clerk, "client", "order", ops=("read",), role="viewer")
    read_only = clerk_api.get(url)
    grant(clerk, "order", ops=("read",), fields={"status": "hidden"}, role="viewer")
    hidden = clerk_api.get(url)
    missing = clerk_api.get(f"{RECORDS}/order/{order.pk + 1000}/transitions/")

    assert denied.status_code == 403
    assert read_only.json() == {"status": {"current": "new", "allowed": []}}
    assert hidden.json() == {}
    assert missing.status_code == 404


def test_field_options_are_refused_with_the_path_of_the_bad_state(shop, api):
    options = {
        **STATUS_OPTIONS,
        "transitions": [*STATUS_OPTIONS["transitions"], {"from": "new", "to": "lost"}],
    }

    response = api.patch(
        "/api/v1/meta/entities/order/fields/status/", {"options": options}, format="json"
    )
    bad_formula = api.post(
        "/api/v1/meta/entities/order/fields/",
        {
            "slug": "stage",
            "label": "Stage",
            "type": "status",
            "options": {
                "states": ["a", "b"],
                "transitions": [{"from": "a", "to": "b", "set": {"price": "1 +* 2"}}],
            },
        },
        format="json",
    )

    assert response.status_code == 400
    assert (
        "'lost' is not one of the states"
        in (response.json()["errors"]["options.transitions[6].to"][0])
    )
    assert bad_formula.status_code == 400
    body = bad_formula.json()
    assert "options.transitions[1].set.price" in body["errors"]
    assert "^" in body["formula"]["caret"]


def test_openapi_describes_the_status_values_and_the_transitions_endpoint(shop, api):

    document = api.get("/api/schema/").json()
    assert_valid_openapi(document)

    status = document["components"]["schemas"]["order"]["properties"]["status"]
    assert status["anyOf"][0]["enum"] == ["new", "diagnostics", "ready", "issued", "cancelled"]
    transitions = document["paths"]["/api/v1/records/order/{id}/transitions/"]["get"]
    answer = transitions["responses"]["200"]["content"]["application/json"]["schema"]
    assert set(answer["properties"]) == {"status"}
    assert "/api/v1/records/client/{id}/transitions/" not in document["paths"]  # no status
