"""Child tables: order lines are written with their order, in one call and one transaction."""

from __future__ import annotations

import pytest

from cardfile.metamodel.models import RecordHistory
from cardfile.metamodel.records import (
    RecordValidationError,
    RecordWriteRefused,
    record_create,
    record_delete,
    record_get,
    record_history,
    record_restore,
    record_to_dict,
    record_update,
)
from cardfile.metamodel.schema.dynamic import get_registry
from cardfile.metamodel.schema.services import field_create
from tests.builders import build_shop_schema

pytestmark = [pytest.mark.embedded]


@pytest.fixture
def shop(schema_db, owner):
    build_shop_schema(owner)
    return record_create(entity="client", data={"name": "Ivan"})


def _order(pk):
    return record_to_dict(get_registry().entity("order"), record_get("order", pk))


def _create(client, lines, **extra):
    order = record_create(entity="order", data={"client": client.pk, "lines": lines, **extra})
    return _order(order.pk)


def _errors(call):
    with pytest.raises(RecordValidationError) as caught:
        call()
    return caught.value.errors


def test_create_with_lines_keeps_their_order_and_values(shop):
    order = _create(
        shop,
        [
            {"item": "Screen", "qty": 1, "price": {"amount": "80.00", "currency": "EUR"}},
            {"item": "Glue", "qty": "2"},
            {"item": "Labour"},
        ],
    )

    assert [line["item"] for line in order["lines"]] == ["Screen", "Glue", "Labour"]
    assert order["lines"][0]["price"] == {"amount": "80.00", "currency": "EUR"}
    assert order["lines"][1]["qty"] == 2
    assert "id" in order["lines"][0]
    assert order["lines"][0]["version"] == 1


def test_update_adds_changes_and_removes_lines_in_one_call(shop):
    # given
    order = _create(shop, [{"item": "Screen", "qty": 1}, {"item": "Glue"}, {"item": "Case"}])
    screen, glue, case = (line["id"] for line in order["lines"])

    # when: glue changes, case is dropped, a new line comes, screen is kept as it is
    record_update(
        entity="order",
        record_id=order["id"],
        version=order["version"],
        data={"lines": [{"id": screen}, {"id": glue, "qty": 3}, {"item": "Battery", "qty": 1}]},
    )

    # then
    after = _order(order["id"])
    assert after["version"] == 2
    assert [(line["id"], line["item"], line["qty"]) for line in after["lines"]] == [
        (screen, "Screen", 1),
        (glue, "Glue", 3),
        (after["lines"][2]["id"], "Battery", 1),
    ]
    assert after["lines"][0]["version"] == 1  # untouched line
    assert after["lines"][1]["version"] == 2
    lines = get_registry().entity("order_line").model._default_manager
    assert not lines.filter(pk=case).exists()  # removed lines are deleted for good


def test_an_update_without_the_child_table_leaves_lines_alone(shop):
    order = _create(shop, [{"item": "Screen"}])

    record_update(entity="order", record_id=order["id"], version=1, data={"state": "ready"})

    assert [line["item"] for line in _order(order["id"])["lines"]] == ["Screen"]


def test_bad_lines_are_reported_by_line_number_and_field(shop):
    errors = _errors(
        lambda: record_create(
            entity="order",
            data={
                "client": shop.pk,
                "lines": [{"item": "ok"}, {"qty": "many"}, {"item": "x", "colour": "red"}, 5],
            },
        )
    )

    assert errors["lines[2].item"] == ["Line 2, Item: This field is required."]
    assert errors["lines[2].qty"] == ["Line 2, Qty: 'many' is not a number."]
    assert errors["lines[3].colour"][0].startswith("Line 3: Unknown field colour")
    assert errors["lines[4]."][0].startswith("Line 4: Expected an object")
    assert not get_registry().entity("order").objects().exists()


def test_a_line_of_another_order_cannot_be_taken_over(shop):
    first = _create(shop, [{"item": "Screen"}])
    second = _create(shop, [{"item": "Glue"}])

    errors = _errors(
        lambda: record_update(
            entity="order",
            record_id=second["id"],
            version=1,
            data={"lines": [{"id": first["lines"][0]["id"], "qty": 9}]},
        )
    )

    assert list(errors) == ["lines[1].id"]
    assert f"#{first['lines'][0]['id']} is not a line of this Order" in errors["lines[1].id"][0]
    assert _order(first["id"])["lines"][0]["qty"] is None


def test_lines_are_written_only_through_their_parent(shop):
    order = _create(shop, [{"item": "Screen"}])
    line_id = order["lines"][0]["id"]

    with pytest.raises(RecordWriteRefused, match="written through their order"):
        record_create(entity="order_line", data={"item": "Loose"})
    with pytest.raises(RecordWriteRefused):
        record_update(entity="order_line", record_id=line_id, version=1, data={"qty": 1})
    with pytest.raises(RecordWriteRefused):
        record_delete(entity="order_line", record_id=line_id)


def test_parent_history_shows_line_changes_and_lines_have_their_own(shop):
    order = _create(shop, [{"item": "Screen", "qty": 1}, {"item": "Glue"}])
    screen, glue = (line["id"] for line in order["lines"])

    record_update(
        entity="order",
        record_id=order["id"],
        version=1,
        data={"lines": [{"id": screen, "qty": 2}, {"item": "Case"}]},
    )

    created, updated = record_history("order", order["id"])
    assert created["changes"]["lines"]["added"] == [
        {"id": screen, "item": "Screen", "qty": 1},
        {"id": glue, "item": "Glue"},
    ]
    lines = updated["changes"]["lines"]
    assert lines["changed"] == [{"id": screen, "changes": {"qty": {"before": 1, "after": 2}}}]
    assert lines["removed"] == [{"id": glue, "item": "Glue"}]
    assert [line["item"] for line in lines["added"]] == ["Case"]
    assert [h["action"] for h in record_history("order_line", screen)] == ["create", "update"]
    assert [h["action"] for h in record_history("order_line", glue)] == ["create", "delete"]


def test_required_line_fields_cannot_be_emptied_on_update(shop):
    order = _create(shop, [{"item": "Screen"}])
    line = order["lines"][0]["id"]

    errors = _errors(
        lambda: record_update(
            entity="order",
            record_id=order["id"],
            version=1,
            data={"lines": [{"id": line, "item": ""}]},
        )
    )

    assert errors == {
        "lines[1].item": ["Line 1, Item: This field is required; it cannot be emptied."]
    }


def test_a_position_field_keeps_the_order_given(shop, owner):
    field_create(entity="order_line", slug="position", label="No.", type="integer", user=owner)
    order = _create(shop, [{"item": "a"}, {"item": "b"}, {"item": "c"}])
    a, b, c = (line["id"] for line in order["lines"])

    record_update(
        entity="order",
        record_id=order["id"],
        version=1,
        data={"lines": [{"id": c}, {"id": a}, {"id": b}]},
    )

    after = _order(order["id"])["lines"]
    assert [line["item"] for line in after] == ["c", "a", "b"]
    assert [line["position"] for line in after] == [1, 2, 3]


def test_a_trashed_order_keeps_its_lines_and_gets_them_back(shop):
    order = _create(shop, [{"item": "Screen"}, {"item": "Glue"}])

    record_delete(entity="order", record_id=order["id"])
    lines_model = get_registry().entity("order_line").model
    assert lines_model._default_manager.filter(deleted_at__isnull=True).count() == 2
    record_restore(entity="order", record_id=order["id"])

    assert [line["item"] for line in _order(order["id"])["lines"]] == ["Screen", "Glue"]
    assert RecordHistory.objects.filter(record_id=order["id"], action="restore").exists()
