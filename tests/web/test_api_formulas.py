"""Formulas through the API: ``?where=`` on record lists and the formula-check endpoint."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.builders import build_shop_schema

pytestmark = [pytest.mark.embedded]


@pytest.fixture
def shop(schema_db, owner, api):
    """Two clients and three orders with lines, through the API."""
    build_shop_schema(owner)

    def create(entity, data):
        response = api.post(f"/api/v1/records/{entity}/", data, format="json")
        assert response.status_code == 201, response.json()
        return response.json()

    ivan = create("client", {"name": "Ivan", "phone": "+49 30 1234567", "discount": "10"})
    olga = create("client", {"name": "Olga", "phone": "+49 30 7654321"})

    def line(item, qty, price):
        return {"item": item, "qty": qty, "price": {"amount": price, "currency": "EUR"}}

    orders = [
        create("order", {"client": ivan["id"], "lines": [line("screen", 1, "120.00")]}),
        create(
            "order",
            {
                "client": ivan["id"],
                "state": "ready",
                "lines": [line("battery", 2, "30.00"), line("glass", 3, "5.50")],
            },
        ),
        create("order", {"client": olga["id"], "lines": []}),
    ]
    return {"ivan": ivan, "olga": olga, "orders": orders}


def _ids(response):
    assert response.status_code == 200, response.json()
    return sorted(record["id"] for record in response.json()["results"])


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ('state = "ready"', [1]),
        ('state = "READY"', [1]),  # text comparisons ignore case
        ("SUM(lines.qty * lines.price) > 50", [0, 1]),
        ("COUNT(lines) = 0", [2]),
        ("client.discount > 5%", [0, 1]),
        ('CONTAINS(client.name, "olg")', [2]),
        ('COUNTIF(lines.item = "glass") > 0 OR ISBLANK(client.discount)', [1, 2]),
        ("number = number", [0, 1, 2]),
        ("YEAR(created_at) = YEAR(TODAY())", [0, 1, 2]),
    ],
)
def test_where_filters_in_the_database(shop, api, where, expected):
    response = api.get("/api/v1/records/order/", {"where": where})
    orders = shop["orders"]
    assert _ids(response) == sorted(orders[i]["id"] for i in expected)


def test_where_combines_with_filters_and_sort(shop, api):
    ivan = shop["ivan"]["id"]
    response = api.get(
        "/api/v1/records/order/",
        {"where": "COUNT(lines) > 0", "client": ivan, "sort": "-number"},
    )
    assert [r["id"] for r in response.json()["results"]] == [
        shop["orders"][1]["id"],
        shop["orders"][0]["id"],
    ]


def test_where_is_one_query_with_the_page(shop, api):
    with CaptureQueriesContext(connection) as plain:
        api.get("/api/v1/records/order/")
    with CaptureQueriesContext(connection) as filtered:
        response = api.get(
            "/api/v1/records/order/", {"where": 'SUM(lines.qty) > 1 AND client.name <> ""'}
        )
    assert len(response.json()["results"]) == 1
    assert len(filtered) == len(plain)


@pytest.mark.parametrize(
    ("where", "code", "in_message", "column"),
    [
        ("total >", "formula_syntax", "ends too early", 8),
        ("totl > 1", "formula_name", "Unknown field totl", 1),
        ("clinet.name = 1", "formula_name", "Did you mean client", 1),
        ("SUM(lines.qty)", "formula_type", "must be TRUE or FALSE", 1),
        ('state + 1 > "a"', "formula_type", "Expected a number", 1),
    ],
)
def test_bad_where_is_a_400_with_the_position(shop, api, where, code, in_message, column):
    response = api.get("/api/v1/records/order/", {"where": where})
    assert response.status_code == 400
    body = response.json()
    assert in_message in body["errors"]["where"][0]
    assert body["formula"]["code"] == code
    assert body["formula"]["position"]["column"] == column
    assert "^" in body["formula"]["caret"]


def test_formula_check_gives_the_type_and_dependencies(shop, api):
    response = api.post(
        "/api/v1/meta/entities/order/formula-check/",
        {"expression": "SUM(lines.qty * lines.price) * (1 - client.discount)"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json() == {
        "type": "money",
        "currency": "EUR",
        "target": None,
        "dependencies": ["client.discount", "lines.price", "lines.qty"],
    }


def test_formula_check_computes_a_preview_for_a_record(shop, api):
    order = shop["orders"][1]
    response = api.post(
        "/api/v1/meta/entities/order/formula-check/",
        {
            "expression": "SUM(lines.qty * lines.price) * (1 - client.discount)",
            "record": order["id"],
        },
        format="json",
    )
    body = response.json()
    # (2 * 30.00 + 3 * 5.50) * 0.9 = 68.85
    assert body["value"] == {"amount": "68.85", "currency": "EUR"}
    assert body["text"] == "68.85 EUR"
    percent = api.post(
        "/api/v1/meta/entities/order/formula-check/",
        {"expression": "client.discount", "record": order["id"]},
        format="json",
    ).json()
    assert percent["type"] == "percent"
    assert percent["value"] == "10"  # in points, as percent fields are exchanged


def test_formula_check_reports_errors_with_a_caret(shop, api):
    response = api.post(
        "/api/v1/meta/entities/order/formula-check/",
        {"expression": "SUM(lines.qty) + clent.discount"},
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    assert body["errors"]["expression"][0].startswith("Unknown field clent")
    assert body["formula"]["suggestions"] == ["client"]
    assert (
        body["formula"]["caret"]
        == "SUM(lines.qty) + clent.discount\n                 ^^^^^^^^^^^^^^"
    )


def test_formula_check_refuses_bad_input(shop, api):
    url = "/api/v1/meta/entities/order/formula-check/"
    assert api.post(url, {"expression": 5}, format="json").status_code == 400
    assert api.post(url, {"expression": "1", "record": "x"}, format="json").status_code == 400
    assert api.post(url, {"expression": "1", "junk": 1}, format="json").status_code == 400
    missing = api.post(url, {"expression": "1", "record": 999999}, format="json")
    assert missing.status_code == 404
    assert (
        api.post(
            "/api/v1/meta/entities/nope/formula-check/", {"expression": "1"}, format="json"
        ).status_code
        == 404
    )
