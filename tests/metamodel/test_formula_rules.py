"""Default values and validation rules written as formulas."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from cardfile.metamodel.records import (
    RecordValidationError,
    record_bulk_create,
    record_create,
    record_to_dict,
    record_update,
)
from cardfile.metamodel.schema.dynamic import get_registry
from cardfile.metamodel.schema.services import (
    SchemaValidationError,
    entity_update,
    field_create,
    field_update,
)
from tests.builders import build_shop_schema

pytestmark = [pytest.mark.embedded]

RULES = [
    {"condition": "discount <= 30%", "message": "At most 30 % off.", "field": "discount"},
    {"condition": "LEN(name) >= 2", "message": "A name has two letters or more."},
]


def _dict(entity, obj):
    return record_to_dict(get_registry().entity(entity), obj)


@pytest.fixture
def shop(schema_db, owner):
    build_shop_schema(owner)
    entity_update(entity="client", validation_rules=RULES, user=owner)


def test_a_rule_refuses_a_record_that_breaks_it(shop):
    with pytest.raises(RecordValidationError) as refused:
        record_create(entity="client", data={"name": "Ivan", "discount": "35"})
    assert refused.value.errors == {"discount": ["At most 30 % off."]}
    assert not get_registry().entity("client").objects().exists()  # nothing was kept


def test_a_blank_condition_passes(shop):
    client = record_create(entity="client", data={"name": "Ivan"})  # no discount: blank
    assert _dict("client", client)["discount"] is None


def test_rules_check_updates_too(shop):
    client = record_create(entity="client", data={"name": "Ivan", "discount": "10"})
    with pytest.raises(RecordValidationError) as refused:
        record_update(entity="client", record_id=client.pk, version=1, data={"name": "I"})
    assert refused.value.errors == {"non_field_errors": ["A name has two letters or more."]}


def test_a_bulk_create_names_the_rows_that_break_a_rule(shop):
    rows = [{"name": "Ivan"}, {"name": "Olga", "discount": "50"}, {"name": "X"}]
    with pytest.raises(RecordValidationError) as refused:
        record_bulk_create(entity="client", rows=rows)
    assert refused.value.rows == [2, 3]
    assert refused.value.errors["rows[2].discount"] == ["At most 30 % off."]
    assert refused.value.errors["rows[3].non_field_errors"] == ["A name has two letters or more."]
    assert not get_registry().entity("client").objects().exists()


def test_a_bad_rule_is_refused_with_its_position(shop):
    with pytest.raises(SchemaValidationError) as refused:
        entity_update(
            entity="client",
            validation_rules=[{"condition": "discont < 1", "message": "x"}],
        )
    assert "Did you mean discount" in refused.value.errors["validation_rules[1].condition"][0]
    assert refused.value.formula["position"]["column"] == 1
    with pytest.raises(SchemaValidationError, match="TRUE or FALSE"):
        entity_update(entity="client", validation_rules=[{"condition": "1", "message": "x"}])
    with pytest.raises(SchemaValidationError):
        entity_update(entity="client", validation_rules=[{"condition": "TRUE"}])


def test_a_default_formula_fills_a_new_record(shop):
    field_create(
        entity="order",
        slug="due",
        label="Due",
        type="date",
        default_formula='DATEADD(TODAY(), 7, "days")',
    )
    field_create(
        entity="order",
        slug="note",
        label="Note",
        type="text",
        default_formula='"For " & client.name',
    )
    ivan = record_create(entity="client", data={"name": "Ivan"})
    order = _dict("order", record_create(entity="order", data={"client": ivan.pk}))
    assert order["due"] == (timezone.localdate() + timedelta(days=7)).isoformat()
    assert order["note"] == "For Ivan"
    given = _dict("order", record_create(entity="order", data={"client": ivan.pk, "note": "mine"}))
    assert given["note"] == "mine"  # a given value wins


def test_a_default_formula_must_fit_the_field(shop):
    with pytest.raises(SchemaValidationError, match="holds date"):
        field_create(entity="order", slug="due", label="Due", type="date", default_formula="1")
    with pytest.raises(SchemaValidationError, match="either a default value"):
        field_update(entity="order", field="state", default_formula='"ready"')


def test_rules_and_default_formulas_through_the_api(shop, owner):
    api = APIClient()
    api.force_authenticate(owner)
    entity = api.get("/api/v1/meta/entities/client/").json()
    assert entity["validation_rules"] == [
        {**RULES[0]},
        {**RULES[1], "field": None},
    ]
    refused = api.post("/api/v1/records/client/", {"name": "Ivan", "discount": "31"}, format="json")
    assert refused.status_code == 400
    assert refused.json()["errors"] == {"discount": ["At most 30 % off."]}
    bad = api.patch(
        "/api/v1/meta/entities/client/",
        {"validation_rules": [{"condition": "discount >", "message": "x"}]},
        format="json",
    )
    assert bad.status_code == 400
    assert bad.json()["formula"]["code"] == "formula_syntax"
    created = api.post(
        "/api/v1/meta/entities/order/fields/",
        {"slug": "due", "label": "Due", "type": "date", "default_formula": "TODAY() + 1"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert created.json()["default_formula"] == "TODAY() + 1"
