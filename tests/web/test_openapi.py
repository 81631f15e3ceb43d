"""The OpenAPI document at /api/schema/ and the Swagger UI page at /api/docs/."""

from __future__ import annotations

import jsonschema
import pytest
from django.test import Client
from rest_framework.test import APIClient

# The official OpenAPI 3.1 meta-schema, as schemathesis ships it.
from schemathesis.specs.openapi.definitions import OPENAPI_31

from tests.builders import build_shop_schema


def _document(api):
    response = api.get("/api/schema/")
    assert response.status_code == 200
    return response.json()


def assert_valid_openapi(document):
    jsonschema.Draft202012Validator(OPENAPI_31).validate(document)
    for schema in document["components"]["schemas"].values():
        jsonschema.Draft202012Validator.check_schema(schema)
    refs = _refs(document)
    for ref in refs:
        name = ref.removeprefix("#/components/schemas/")
        assert name in document["components"]["schemas"], ref
    operation_ids = [
        op["operationId"]
        for item in document["paths"].values()
        for key, op in item.items()
        if key != "parameters"
    ]
    assert len(operation_ids) == len(set(operation_ids))


def _refs(node):
    if isinstance(node, dict):
        found = [node["$ref"]] if "$ref" in node else []
        return found + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in _refs(value)]
    return []


@pytest.mark.embedded
def test_document_describes_the_current_schema(api, owner):
    # given
    build_shop_schema(owner)
    # when
    document = _document(api)
    # then
    assert_valid_openapi(document)
    assert document["openapi"].startswith("3.1")
    paths = document["paths"]
    for path in (
        "/api/v1/records/client/",
        "/api/v1/records/client/{id}/",
        "/api/v1/records/client/{id}/history/",
        "/api/v1/records/client/{id}/restore/",
        "/api/v1/records/order/",
        "/api/v1/meta/entities/",
        "/api/v1/meta/entities/{entity}/fields/{field}/conversion-preview/",
        "/api/v1/meta/trash/",
        "/api/v1/auth/token/",
    ):
        assert path in paths, path
    # lines are written through their parent only
    assert "/api/v1/records/order_line/" not in paths
    assert set(paths["/api/v1/records/client/{id}/"]) == {"parameters", "get", "patch", "delete"}

    schemas = document["components"]["schemas"]
    order = schemas["order"]["properties"]
    assert order["number"]["readOnly"] is True
    assert order["id"]["readOnly"] is True
    assert order["state"]["anyOf"][0]["enum"] == ["new", "in_work", "ready", "issued"]
    assert order["lines"]["items"] == {"$ref": "#/components/schemas/order_line"}
    create = schemas["order.create"]
    assert "number" not in create["properties"]
    assert create["required"] == ["client"]  # state has a default; lines are optional
    assert create["properties"]["client"]["type"] == "integer"
    assert create["properties"]["lines"]["items"] == {
        "$ref": "#/components/schemas/order_line.line"
    }
    assert schemas["order.update"]["required"] == ["version"]
    line_price = schemas["order_line"]["properties"]["price"]["anyOf"][0]
    assert line_price["type"] == "object"
    assert set(line_price["properties"]) == {"amount", "currency"}
    assert line_price["properties"]["amount"]["type"] == "string"
    client = schemas["client.create"]["properties"]
    assert client["email"]["anyOf"][0]["format"] == "email"
    assert client["name"]["type"] == "string"  # required: not nullable
    assert client["discount"]["anyOf"][1] == {"type": "null"}

    names = {p["name"] for p in paths["/api/v1/records/client/"]["get"]["parameters"]}
    assert {"page", "page_size", "sort", "search", "name", "name__icontains"} <= names
    assert {"discount__gte", "discount__range", "email__isnull", "id__in"} <= names
    responses = paths["/api/v1/records/order/{id}/"]["patch"]["responses"]
    assert set(responses) == {"200", "400", "403", "404", "409"}
    assert responses["400"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ValidationError"
    }
    security = document["components"]["securitySchemes"]
    assert security["tokenAuth"]["name"] == "Authorization"
    assert security["sessionAuth"]["in"] == "cookie"
    assert paths["/api/v1/auth/token/"]["post"]["security"] == []


@pytest.mark.embedded
def test_document_changes_with_the_schema(api, owner):
    build_shop_schema(owner)
    before = _document(api)
    assert "vip" not in before["components"]["schemas"]["client"]["properties"]

    # when
    created = api.post(
        "/api/v1/meta/entities/client/fields/",
        {
            "slug": "vip",
            "label": "VIP",
            "type": "choice",
            "options": {"choices": ["gold", "silver"]},
        },
        format="json",
    )
    assert created.status_code == 201
    api.post("/api/v1/meta/entities/", {"slug": "car", "label": "Car"}, format="json")

    # then
    after = _document(api)
    assert_valid_openapi(after)
    vip = after["components"]["schemas"]["client"]["properties"]["vip"]
    assert vip["anyOf"][0] == {"type": "string", "enum": ["gold", "silver"]}
    names = {p["name"] for p in after["paths"]["/api/v1/records/client/"]["get"]["parameters"]}
    assert {"vip", "vip__in", "vip__isnull"} <= names
    assert "/api/v1/records/car/" in after["paths"]


@pytest.mark.embedded
def test_document_needs_login(schema_db):
    assert APIClient().get("/api/schema/").status_code in (401, 403)


@pytest.mark.embedded
def test_docs_page_renders_swagger_ui_from_the_sidecar(owner):
    browser = Client()
    browser.force_login(owner)
    # when
    response = browser.get("/api/docs/")
    # then
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css" in html
    assert '"/api/schema/"' in html
    # the page's schema URL works with the same browser session
    assert browser.get("/api/schema/").status_code == 200


@pytest.mark.embedded
def test_docs_page_sends_anonymous_users_to_login(schema_db):
    response = Client().get("/api/docs/")
    assert response.status_code == 302
    assert "next=/api/docs/" in response["Location"]


@pytest.mark.embedded
def test_sidecar_assets_are_found_by_staticfiles(schema_db):
    from django.contrib.staticfiles import finders

    assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
