"""The formula-check endpoint over a draft (unsaved) record: ``values`` instead of ``record``."""

from __future__ import annotations

import jsonschema
import pytest
from rest_framework.test import APIClient

from cardfile.metamodel.records import record_create
from tests.builders import add_line_amounts, build_shop_schema, grant

URL = "/api/v1/meta/entities/order/formula-check/"


def _line(item, qty, price):
    return {"item": item, "qty": qty, "price": {"amount": price, "currency": "EUR"}}


@pytest.fixture
def shop(owner):
    build_shop_schema(owner)
    add_line_amounts(owner, total="SUM(lines.amount) * (1 - client.discount)")
    ivan = record_create(entity="client", data={"name": "Ivan", "discount": "10"}, user=owner)
    return {"ivan": ivan}


def _api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.mark.embedded
def test_draft_values_give_the_value_of_an_unsaved_record(shop, owner):
    values = {
        "client": shop["ivan"].pk,
        "lines": [_line("battery", "2", "30.00"), _line("glass", 3, "5.50")],
    }

    response = _api(owner).post(URL, {"expression": "total", "values": values}, format="json")

    assert response.status_code == 200, response.json()
    # (2 * 30.00 + 3 * 5.50) * 0.9 = 68.85, through the lines' own computed amounts
    assert response.json()["value"] == {"amount": "68.85", "currency": "EUR"}


def test_draft_of_changes_to_a_stored_record(shop, owner):
    order = record_create(
        entity="order",
        data={"client": shop["ivan"].pk, "lines": [_line("screen", 1, "100.00")]},
        user=owner,
    )
    stored = _api(owner).get(f"/api/v1/records/order/{order.pk}/").json()
    lines = [{**stored["lines"][0], "qty": 3}]
    lines[0].pop("amount", None)

    response = _api(owner).post(
        URL,
        {"expression": "SUM(lines.qty)", "record": order.pk, "values": {"lines": lines}},
        format="json",
    )

    assert response.json()["value"] == "3"


def test_draft_refuses_formulas_reading_hidden_fields_and_bad_values(shop, owner, clerk):
    grant(clerk, "order", ops=("read", "create"))
    grant(clerk, "client", ops=("read",), fields={"discount": "hidden"}, role="clients")

    response = _api(clerk).post(
        URL, {"expression": "client.discount", "values": {"client": shop["ivan"].pk}}, format="json"
    )
    assert response.status_code == 400
    assert "expression" in response.json()["errors"]

    bad = _api(clerk).post(URL, {"expression": "1", "values": [1]}, format="json")
    assert bad.status_code == 400
    assert "values" in bad.json()["errors"]


def test_draft_reads_links_outside_row_rules_as_absent(shop, owner, clerk):
    olga = record_create(entity="client", data={"name": "Olga"}, user=owner)
    grant(clerk, "order", ops=("read", "create"))
    grant(clerk, "client", ops=("read",), rule='name = "Olga"', role="clients")

    seen = _api(clerk).post(
        URL, {"expression": "client.name", "values": {"client": olga.pk}}, format="json"
    )
    unseen = _api(clerk).post(
        URL, {"expression": "client.name", "values": {"client": shop["ivan"].pk}}, format="json"
    )

    assert seen.json()["value"] == "Olga"
    assert unseen.json()["value"] is None


def test_openapi_request_schema_accepts_draft_values(shop, owner):
    document = _api(owner).get("/api/schema/").json()
    request = document["components"]["schemas"]["FormulaCheckRequest"]
    body = {"expression": "total", "values": {"client": shop["ivan"].pk, "lines": []}}

    assert request["properties"]["values"]["type"] == "object"
    assert request["properties"]["values"]["description"]
    jsonschema.Draft202012Validator(request).validate(body)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(request).validate({**body, "values": [1]})
