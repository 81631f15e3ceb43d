"""Computed fields (formula, lookup, rollup): stored columns kept right in the writing
transaction, recomputed in the background when their definition changes, and guarded against
cycles and against losing the fields they read."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cardfile.core.models import Job
from cardfile.formula_engine import Money
from cardfile.metamodel.formulas import formula_values_python, formula_values_sql
from cardfile.metamodel.records import (
    RecordValidationError,
    record_bulk_create,
    record_create,
    record_get,
    record_to_dict,
    record_update,
)
from cardfile.metamodel.schema.dynamic import get_registry
from cardfile.metamodel.schema.services import (
    SchemaValidationError,
    field_create,
    field_delete,
    field_update,
)
from tests.builders import build_shop_schema

pytestmark = [pytest.mark.embedded]

TOTAL = "SUM(lines.qty * lines.price) * (1 - client.discount)"


def _line(item, qty, price):
    return {"item": item, "qty": qty, "price": {"amount": price, "currency": "EUR"}}


def _value(entity, pk, slug):
    registry = get_registry()
    return record_to_dict(registry.entity(entity), record_get(entity, pk))[slug]


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run the on-commit work (the recompute job) of the block, as a real commit would: on
    PostgreSQL each test runs inside a transaction that never commits."""

    def run(change, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return change(*args, **kwargs)

    return run


@pytest.fixture
def shop(schema_db, owner):
    build_shop_schema(owner)
    ivan = record_create(
        entity="client", data={"name": "Ivan", "phone": "+49 30 1234567", "discount": "10"}
    )
    olga = record_create(entity="client", data={"name": "Olga", "phone": "+49 30 7654321"})
    return {"ivan": ivan, "olga": olga}


@pytest.fixture
def with_total(shop, owner, committed):
    committed(
        field_create,
        entity="order",
        slug="total",
        label="Total",
        type="formula",
        options={"expression": TOTAL},
        user=owner,
    )
    return shop


def test_a_new_formula_fills_existing_records_in_a_job(shop, owner, committed):
    # given an order written before the formula existed
    order = record_create(
        entity="order", data={"client": shop["ivan"].pk, "lines": [_line("screen", 2, "50.00")]}
    )
    # when
    f = committed(
        field_create,
        entity="order",
        slug="total",
        label="Total",
        type="formula",
        options={"expression": TOTAL},
    )
    # then the type was inferred, and a job computed the column
    assert f.options["result"] == {"type": "money", "currency": "EUR", "target": None}
    assert _value("order", order.pk, "total") == {"amount": "90.00", "currency": "EUR"}
    job = Job.objects.get(kind="formula_recompute")
    assert job.status == Job.Status.DONE
    assert job.progress_done == job.progress_total == 1
    assert job.params == {"fields": [f.pk]}


def test_writes_keep_the_total_right_in_the_same_transaction(with_total):
    ivan = with_total["ivan"]
    order = record_create(
        entity="order",
        data={"client": ivan.pk, "lines": [_line("screen", 2, "50.00"), _line("glass", 1, "9.99")]},
    )
    # the record the service returns already carries it
    total = get_registry().entity("order").by_slug["total"]
    assert getattr(order, total.attname) == Decimal("98.99")
    assert _value("order", order.pk, "total") == {"amount": "98.99", "currency": "EUR"}
    lines = record_to_dict(get_registry().entity("order"), record_get("order", order.pk))["lines"]
    record_update(
        entity="order",
        record_id=order.pk,
        version=1,
        data={"lines": [{"id": lines[0]["id"], "qty": 3}, {"id": lines[1]["id"]}]},
    )
    # (3 * 50.00 + 9.99) * 0.9
    assert _value("order", order.pk, "total") == {"amount": "143.99", "currency": "EUR"}
    record_update(entity="order", record_id=order.pk, version=2, data={"lines": []})
    assert _value("order", order.pk, "total") == {"amount": "0.00", "currency": "EUR"}


def test_a_change_of_a_client_reaches_its_orders_only(with_total):
    ivan, olga = with_total["ivan"], with_total["olga"]
    mine = record_create(
        entity="order", data={"client": ivan.pk, "lines": [_line("a", 1, "100.00")]}
    )
    theirs = record_create(
        entity="order", data={"client": olga.pk, "lines": [_line("b", 1, "100.00")]}
    )
    record_update(entity="client", record_id=ivan.pk, version=1, data={"discount": "25"})
    assert _value("order", mine.pk, "total")["amount"] == "75.00"
    assert _value("order", theirs.pk, "total")["amount"] == "100.00"
    assert record_get("order", theirs.pk).version == 1  # not rewritten by the service


def test_one_update_per_dependent_table(with_total):
    ivan = with_total["ivan"]
    order = record_create(
        entity="order",
        data={"client": ivan.pk, "lines": [_line(f"l{i}", 1, "10.00") for i in range(20)]},
    )
    line = record_to_dict(get_registry().entity("order"), record_get("order", order.pk))["lines"][0]
    kept = [{"id": line["id"], "qty": 5}] + [
        {"id": other["id"]}
        for other in record_to_dict(get_registry().entity("order"), record_get("order", order.pk))[
            "lines"
        ][1:]
    ]
    with CaptureQueriesContext(connection) as queries:
        record_update(entity="order", record_id=order.pk, version=1, data={"lines": kept})
    updates = [q["sql"] for q in queries if q["sql"].startswith("UPDATE")]
    order_table = get_registry().entity("order").entity.table_name
    recomputes = [
        sql for sql in updates if f'UPDATE "{order_table}" SET' in sql and "sum(" in sql.lower()
    ]
    assert len(recomputes) == 1
    assert _value("order", order.pk, "total")["amount"] == "216.00"  # (5*10 + 19*10) * 0.9


def test_formulas_read_formulas_of_the_same_record(with_total):
    field_create(
        entity="order",
        slug="vat",
        label="VAT",
        type="formula",
        options={"expression": "ROUND(total * 20%, 2)"},
    )
    field_create(
        entity="order",
        slug="gross",
        label="Gross",
        type="formula",
        options={"expression": "total + vat"},
    )
    order = record_create(
        entity="order",
        data={"client": with_total["ivan"].pk, "lines": [_line("a", 1, "10.00")]},
    )
    assert _value("order", order.pk, "total")["amount"] == "9.00"
    assert _value("order", order.pk, "vat")["amount"] == "1.80"
    assert _value("order", order.pk, "gross")["amount"] == "10.80"
    # a preview reads the stored money of the formulas it uses as money, like SQL does
    expression = "gross - vat"
    python = formula_values_python(entity="order", formula=expression, ids=[order.pk])
    sql = formula_values_sql(entity="order", formula=expression, ids=[order.pk])
    assert python == sql == {order.pk: Money(Decimal("9.00"), "EUR")}


def test_lookup_and_rollup_are_formula_shorthands(with_total):
    field_create(
        entity="order",
        slug="client_name",
        label="Client name",
        type="lookup",
        options={"through": "client", "field": "name"},
    )
    field_create(
        entity="order",
        slug="pieces",
        label="Pieces",
        type="rollup",
        options={"through": "lines", "field": "qty", "aggregate": "sum"},
    )
    order = record_create(
        entity="order",
        data={"client": with_total["ivan"].pk, "lines": [_line("a", 2, "1"), _line("b", 3, "1")]},
    )
    assert _value("order", order.pk, "client_name") == "Ivan"
    assert _value("order", order.pk, "pieces") == 5
    record_update(entity="client", record_id=with_total["ivan"].pk, version=1, data={"name": "I."})
    assert _value("order", order.pk, "client_name") == "I."


def test_stored_values_agree_with_the_python_evaluator(with_total):
    rows = [
        {"client": with_total["ivan"].pk, "lines": [_line("a", 3, "33.33"), _line("b", 7, "0.07")]},
        {"client": with_total["olga"].pk, "lines": [_line("c", 1, "1.01")]},
        {"client": with_total["ivan"].pk, "lines": []},
    ]
    orders = record_bulk_create(entity="order", rows=rows)
    python = formula_values_python(entity="order", formula=TOTAL)
    for order in orders:
        stored = _value("order", order.pk, "total")
        assert Decimal(stored["amount"]) == python[order.pk].amount.quantize(Decimal("0.01"))


def test_a_cycle_is_refused_with_its_path(with_total):
    field_create(entity="order", slug="a", label="A", type="formula", options={"expression": "1"})
    field_create(
        entity="order", slug="b", label="B", type="formula", options={"expression": "a + 1"}
    )
    with pytest.raises(SchemaValidationError) as refused:
        field_update(entity="order", field="a", options={"expression": "b * 2"})
    message = refused.value.errors["options.expression"][0]
    assert "order.a \u2192 order.b \u2192 order.a" in message
    with pytest.raises(SchemaValidationError, match="depend on itself"):
        field_update(entity="order", field="a", options={"expression": "a + 1"})


def test_a_bad_formula_is_refused_with_its_position(shop):
    with pytest.raises(SchemaValidationError) as refused:
        field_create(
            entity="order",
            slug="bad",
            label="Bad",
            type="formula",
            options={"expression": "SUM(lines.qty) + clent.discount"},
        )
    assert "Did you mean client" in refused.value.errors["options.expression"][0]
    assert refused.value.formula["position"]["column"] == 18
    assert "bad" not in get_registry().entity("order").by_slug


def test_fields_read_by_formulas_keep_their_name_and_type(with_total):
    with pytest.raises(SchemaValidationError, match="used by the formula of order.total"):
        field_update(entity="client", field="discount", slug="rebate")
    with pytest.raises(SchemaValidationError, match="used by the formula of order.total"):
        field_delete(entity="client", field="discount")
    with pytest.raises(SchemaValidationError, match="used by the formula of order.total"):
        field_update(entity="order_line", field="qty", type="text")
    field_update(entity="client", field="email", slug="mail")  # others are free


def test_a_new_definition_replaces_the_column_and_recomputes(with_total, committed):
    order = record_create(
        entity="order",
        data={"client": with_total["ivan"].pk, "lines": [_line("a", 2, "10.00")]},
    )
    f = committed(
        field_update,
        entity="order",
        field="total",
        options={"expression": 'COUNT(lines) & " lines"'},
    )
    assert f.options["result"]["type"] == "text"
    assert f.column_rev == 1
    assert _value("order", order.pk, "total") == "1 lines"
    assert Job.objects.filter(kind="formula_recompute", status=Job.Status.DONE).count() == 2


def test_computed_values_cannot_be_written(with_total):
    with pytest.raises(RecordValidationError) as refused:
        record_create(
            entity="order",
            data={"client": with_total["ivan"].pk, "total": {"amount": "1", "currency": "EUR"}},
        )
    assert "assigned automatically" in refused.value.errors["total"][0]


def test_aggregates_over_the_records_that_link_here(with_total, committed):
    ivan, olga = with_total["ivan"], with_total["olga"]
    first = record_create(entity="order", data={"client": ivan.pk, "lines": [_line("a", 1, "100")]})
    committed(
        field_create,
        entity="client",
        slug="spent",
        label="Spent",
        type="formula",
        options={"expression": "SUM(order.total)"},
    )
    committed(
        field_create,
        entity="client",
        slug="visits",
        label="Visits",
        type="rollup",
        options={"through": "order__client", "field": "id", "aggregate": "count"},
    )
    assert _value("client", ivan.pk, "spent")["amount"] == "90.00"  # filled by the job
    # a new order of Ivan's, a change of its lines, a move to Olga, the trash
    second = record_create(entity="order", data={"client": ivan.pk, "lines": [_line("b", 1, "10")]})
    assert _value("client", ivan.pk, "spent")["amount"] == "99.00"
    assert _value("client", ivan.pk, "visits") == 2
    record_update(entity="order", record_id=second.pk, version=1, data={"client": olga.pk})
    assert _value("client", ivan.pk, "spent")["amount"] == "90.00"
    assert _value("client", olga.pk, "spent")["amount"] == "10.00"  # Olga has no discount
    from cardfile.metamodel.records import record_delete, record_restore

    record_delete(entity="order", record_id=first.pk)
    assert _value("client", ivan.pk, "spent")["amount"] == "0.00"
    assert _value("client", ivan.pk, "visits") == 0
    record_restore(entity="order", record_id=first.pk)
    assert _value("client", ivan.pk, "visits") == 1
    # Ivan's discount changes his orders' totals, and through them what he spent
    record_update(entity="client", record_id=ivan.pk, version=1, data={"discount": "50"})
    assert _value("client", ivan.pk, "spent")["amount"] == "50.00"
