"""The OpenAPI document and the schema API describe only what the caller may see or change.

A **technician** reads, creates and changes orders (never deletes them) whose state is "new";
an order's ``cost`` and a line's ``price`` are hidden from him, an order's ``state`` is
read-only, and he may not read clients at all. The **owner** sees everything.
"""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from cardfile.metamodel.models import EntityRights, Role
from cardfile.metamodel.records import record_create
from cardfile.metamodel.schema.dynamic import get_registry
from cardfile.metamodel.schema.services import field_create
from tests.builders import build_shop_schema
from tests.web.test_openapi import assert_valid_openapi

pytestmark = pytest.mark.embedded

META = "/api/v1/meta"


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _rights(role, slug, *, fields=None, rule="", **ops):
    """Rights of ``role`` on entity ``slug``; ``fields`` maps field slugs to their rule."""
    schema = get_registry().entity(slug)
    return EntityRights.objects.create(
        role=role,
        entity=schema.entity,
        fields={str(schema.by_slug[name].pk): how for name, how in (fields or {}).items()},
        rule=rule,
        **{f"can_{op}": allowed for op, allowed in ops.items()},
    )


@pytest.fixture
def shop(owner):
    build_shop_schema(owner)
    field_create(entity="order", slug="cost", label="Cost", type="money", user=owner)
    technician = get_user_model().objects.create_user(username="tech", password="s3cret-pass!")
    group = Group.objects.create(name="technician")
    role = Role.objects.create(group=group, label="Technician")
    _rights(
        role,
        "order",
        fields={"cost": "hidden", "state": "read_only"},
        rule='state = "new"',
        read=True,
        create=True,
        update=True,
    )
    _rights(role, "order_line", fields={"price": "hidden"})
    technician.groups.add(group)
    client = record_create(entity="client", data={"name": "Ivan"}, user=owner)
    orders = {
        state: record_create(
            entity="order",
            data={
                "client": client.pk,
                "state": state,
                "cost": {"amount": "40.00", "currency": "EUR"},
            },
            user=owner,
        ).pk
        for state in ("new", "ready")
    }
    return {"owner": owner, "technician": technician, "role": role, "orders": orders}


def _document(user) -> dict:
    response = _client(user).get("/api/schema/")
    assert response.status_code == 200
    return response.json()


def _parameter_names(document, path) -> set[str]:
    return {p["name"] for p in document["paths"][path]["get"]["parameters"]}


# -- the OpenAPI document ----------------------------------------------------------------------


def test_the_document_leaves_out_hidden_fields_and_missing_operations(shop):
    # when
    document = _document(shop["technician"])
    # then
    assert_valid_openapi(document)
    assert re.search(r"\bcost\b", json.dumps(document)) is None
    paths, schemas = document["paths"], document["components"]["schemas"]
    # clients are not readable: no paths, no schemas, links to them are plain ids
    assert not [p for p in paths if p.startswith("/api/v1/records/client/")]
    assert not [name for name in schemas if name.split(".")[0] == "client"]
    assert "$ref" not in json.dumps(schemas["order"]["properties"]["client"])
    # orders: read, create, change; no delete and so no restore either
    assert set(paths["/api/v1/records/order/"]) == {"get", "post"}
    assert set(paths["/api/v1/records/order/{id}/"]) == {"parameters", "get", "patch"}
    assert "/api/v1/records/order/{id}/history/" in paths
    assert "/api/v1/records/order/{id}/restore/" not in paths
    # lines leave out the line entity's own hidden fields
    assert "price" not in schemas["order_line"]["properties"]
    assert "price" not in schemas["order_line.line"]["properties"]
    assert "qty" in schemas["order_line.line"]["properties"]
    # a read-only field may be sent back but is marked so
    assert schemas["order.update"]["properties"]["state"]["readOnly"] is True
    assert schemas["order.create"]["properties"]["state"]["readOnly"] is True
    assert "readOnly" not in schemas["order.update"]["properties"]["lines"]
    # filters and sorting name only visible fields
    names = _parameter_names(document, "/api/v1/records/order/")
    assert {"state", "state__in", "number__icontains"} <= names
    assert not [n for n in names if n.split("__")[0] == "cost"]
    assert document["tags"][-1]["name"] == "order"
    assert "client" not in {t["name"] for t in document["tags"]}


def test_the_owner_still_sees_everything(shop):
    # given: the technician's document was built (and cached) first
    _document(shop["technician"])
    # when
    document = _document(shop["owner"])
    # then
    assert_valid_openapi(document)
    paths, schemas = document["paths"], document["components"]["schemas"]
    assert "cost" in schemas["order"]["properties"]
    assert "cost" in schemas["order.create"]["properties"]
    assert "price" in schemas["order_line.line"]["properties"]
    assert {"cost", "cost__gte"} <= _parameter_names(document, "/api/v1/records/order/")
    assert set(paths["/api/v1/records/order/{id}/"]) == {"parameters", "get", "patch", "delete"}
    assert "/api/v1/records/order/{id}/restore/" in paths
    assert "/api/v1/records/client/" in paths
    assert "readOnly" not in schemas["order.update"]["properties"]["state"]
    assert {"$ref": "#/components/schemas/client"} in schemas["order"]["properties"]["client"][
        "anyOf"
    ][0]["anyOf"]


def test_meta_paths_are_the_same_for_everyone(shop):
    technician, owner = _document(shop["technician"]), _document(shop["owner"])
    meta = [p for p in owner["paths"] if p.startswith("/api/v1/meta/")]
    assert meta
    assert {p: technician["paths"][p] for p in meta} == {p: owner["paths"][p] for p in meta}


def test_the_document_follows_a_change_of_rights(shop):
    assert "/api/v1/records/client/" not in _document(shop["technician"])["paths"]
    # when
    _rights(shop["role"], "client", read=True, delete=True)
    # then
    paths = _document(shop["technician"])["paths"]
    assert "delete" in paths["/api/v1/records/client/{id}/"]
    assert "post" not in paths["/api/v1/records/client/"]
    assert "/api/v1/records/client/{id}/restore/" in paths


def test_a_user_without_roles_gets_no_record_paths(shop, clerk):
    document = _document(clerk)
    assert_valid_openapi(document)
    assert not [p for p in document["paths"] if p.startswith("/api/v1/records/")]
    assert "/api/v1/meta/entities/" in document["paths"]


# -- the schema API ----------------------------------------------------------------------------


def test_a_reader_does_not_see_hidden_fields_in_the_schema(shop):
    api = _client(shop["technician"])
    # then
    assert {e["slug"] for e in api.get(f"{META}/entities/").data} == {"order", "order_line"}
    assert api.get(f"{META}/entities/client/").status_code == 403
    detail = api.get(f"{META}/entities/order/").data
    assert "cost" not in [f["slug"] for f in detail["fields"]]
    assert "cost" not in [f["slug"] for f in api.get(f"{META}/entities/order/fields/").data]
    hidden = api.get(f"{META}/entities/order/fields/cost/")
    missing = api.get(f"{META}/entities/order/fields/nope/")
    assert (hidden.status_code, hidden.data["code"]) == (404, missing.data["code"])
    assert api.get(f"{META}/entities/order/fields/state/").status_code == 200


def test_a_reader_does_not_see_a_formula_that_reads_hidden_fields(shop):
    field_create(
        entity="order",
        slug="margin",
        label="Margin",
        type="formula",
        options={"expression": "cost"},
        user=shop["owner"],
    )
    reader = _client(shop["technician"]).get(f"{META}/entities/order/fields/margin/").data
    owner = _client(shop["owner"]).get(f"{META}/entities/order/fields/margin/").data
    assert "expression" not in reader["options"]
    assert owner["options"]["expression"] == "cost"


def test_creating_a_field_needs_configure(shop):
    # when
    refused = _client(shop["technician"]).post(
        f"{META}/entities/order/fields/",
        {"slug": "note", "label": "Note", "type": "text"},
        format="json",
    )
    # then
    assert refused.status_code == 403
    assert "configure" in refused.data["detail"]


def test_configure_on_one_entity_allows_fields_there_only(shop):
    # given
    EntityRights.objects.filter(role=shop["role"], entity__slug="order").update(can_configure=True)
    api = _client(shop["technician"])
    # when
    on_order = api.post(
        f"{META}/entities/order/fields/",
        {"slug": "note", "label": "Note", "type": "text"},
        format="json",
    )
    on_client = api.post(
        f"{META}/entities/client/fields/",
        {"slug": "note", "label": "Note", "type": "text"},
        format="json",
    )
    # then
    assert on_order.status_code == 201, on_order.data
    assert on_client.status_code == 403
    assert "note" not in get_registry().entity("client").by_slug
    # a configurer sees the whole of what they configure
    assert "cost" in [f["slug"] for f in api.get(f"{META}/entities/order/fields/").data]
    # but may not define a field that reads what their roles hide
    side_channel = api.post(
        f"{META}/entities/order/fields/",
        {"slug": "peek", "label": "Peek", "type": "formula", "options": {"expression": "cost"}},
        format="json",
    )
    assert side_channel.status_code == 400
    assert "cost" in side_channel.data["errors"]["options.expression"][0]
    field_create(
        entity="order",
        slug="label",
        label="Label",
        type="formula",
        options={"expression": "number"},
        user=shop["owner"],
    )
    changed = api.patch(
        f"{META}/entities/order/fields/label/",
        {"options": {"expression": 'number & " " & cost'}},
        format="json",
    )
    assert changed.status_code == 400
    assert "cost" in changed.data["errors"]["options.expression"][0]
    defaulted = api.patch(
        f"{META}/entities/order/fields/note/", {"default_formula": "TEXT(cost)"}, format="json"
    )
    assert defaulted.status_code == 400
    assert "cost" in defaulted.data["errors"]["default_formula"][0]
    link = api.post(
        f"{META}/entities/order/fields/",
        {"slug": "payer", "label": "Payer", "type": "link", "options": {"target": "client"}},
        format="json",
    )
    assert link.status_code == 400
    assert "client" in link.data["errors"]["options.target"][0]


def test_formula_check_refuses_a_hidden_field_naming_it(shop):
    api = _client(shop["technician"])
    # when
    refused = api.post(
        f"{META}/entities/order/formula-check/", {"expression": "cost"}, format="json"
    )
    through_link = api.post(
        f"{META}/entities/order/formula-check/", {"expression": "client.name"}, format="json"
    )
    allowed = api.post(
        f"{META}/entities/order/formula-check/", {"expression": "state"}, format="json"
    )
    # then
    assert refused.status_code == 400
    assert "cost" in refused.data["errors"]["expression"][0]
    assert through_link.status_code == 400
    assert "client" in through_link.data["errors"]["expression"][0]
    assert allowed.status_code == 200
    owner = _client(shop["owner"]).post(
        f"{META}/entities/order/formula-check/", {"expression": "cost"}, format="json"
    )
    assert owner.status_code == 200


def test_formula_check_needs_read_on_the_entity(shop):
    refused = _client(shop["technician"]).post(
        f"{META}/entities/client/formula-check/", {"expression": "name"}, format="json"
    )
    assert refused.status_code == 403


def test_formula_check_on_a_record_outside_the_rules_is_not_found(shop):
    api = _client(shop["technician"])
    new, ready = shop["orders"]["new"], shop["orders"]["ready"]
    missing = max(new, ready) + 1000
    # when
    inside = api.post(
        f"{META}/entities/order/formula-check/",
        {"expression": "state", "record": new},
        format="json",
    )
    outside = api.post(
        f"{META}/entities/order/formula-check/",
        {"expression": "state", "record": ready},
        format="json",
    )
    gone = api.post(
        f"{META}/entities/order/formula-check/",
        {"expression": "state", "record": missing},
        format="json",
    )
    # then
    assert inside.status_code == 200
    assert inside.data["value"] == "new"
    assert outside.status_code == 404
    assert outside.data == {
        "detail": gone.data["detail"].replace(str(missing), str(ready)),
        "code": gone.data["code"],
    }
    owner = _client(shop["owner"]).post(
        f"{META}/entities/order/formula-check/",
        {"expression": "state", "record": ready},
        format="json",
    )
    assert owner.data["value"] == "ready"


def test_formula_errors_do_not_suggest_hidden_fields(shop):
    # when
    reader = _client(shop["technician"]).post(
        f"{META}/entities/order/formula-check/", {"expression": "cos"}, format="json"
    )
    unknown = _client(shop["technician"]).post(
        f"{META}/entities/order/formula-check/", {"expression": "nope"}, format="json"
    )
    owner = _client(shop["owner"]).post(
        f"{META}/entities/order/formula-check/", {"expression": "cos"}, format="json"
    )
    # then
    assert reader.status_code == unknown.status_code == 400
    assert re.search(r"\bcost\b", json.dumps(reader.data)) is None
    assert "cost" not in unknown.data["formula"]["expected"]
    assert "state" in unknown.data["formula"]["expected"]
    assert owner.data["formula"]["suggestions"] == ["cost"]
