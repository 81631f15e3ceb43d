"""A stored formula that reads another computed field of its own entity stays right when that
field changes because of a write elsewhere (a line, a linked record)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cardfile.metamodel.records import record_create, record_get, record_to_dict, record_update
from cardfile.metamodel.schema.dynamic import get_registry
from cardfile.metamodel.schema.field_services import field_create
from cardfile.metamodel.schema.services import entity_create

pytestmark = [pytest.mark.embedded]


def _amount(entity: str, record_id: int, field: str) -> Decimal:
    record = record_to_dict(get_registry().entity(entity), record_get(entity, record_id))
    return Decimal(record[field]["amount"])


@pytest.fixture
def invoices(schema_db):
    entity_create(slug="inv", label="Invoice")
    field_create(entity="inv", slug="total", label="Total", type="money")
    entity_create(slug="pay", label="Payment")
    field_create(entity="pay", slug="inv", label="Invoice", type="link", options={"target": "inv"})
    field_create(entity="pay", slug="a", label="A", type="money")
    field_create(
        entity="pay", slug="amount", label="Amount", type="formula", options={"expression": "a"}
    )
    field_create(
        entity="inv",
        slug="paid",
        label="Paid",
        type="rollup",
        options={"through": "pay", "field": "amount", "aggregate": "sum"},
    )
    field_create(
        entity="inv",
        slug="due",
        label="Due",
        type="formula",
        options={"expression": "total - paid"},
    )
    field_create(
        entity="inv",
        slug="due_twice",
        label="Due twice",
        type="formula",
        options={"expression": "due * 2"},
    )


def test_a_payment_updates_the_formula_over_the_rollup(invoices):
    # given an invoice of 10 with nothing paid
    invoice = record_create(entity="inv", data={"total": {"amount": "10", "currency": "EUR"}})
    assert _amount("inv", invoice.pk, "due") == Decimal("10")
    # when a payment of 4 arrives
    payment = record_create(
        entity="pay", data={"inv": invoice.pk, "a": {"amount": "4", "currency": "EUR"}}
    )
    # then paid, due and the formula over due follow
    assert _amount("inv", invoice.pk, "paid") == Decimal("4")
    assert _amount("inv", invoice.pk, "due") == Decimal("6")
    assert _amount("inv", invoice.pk, "due_twice") == Decimal("12")
    # and changing the payment moves them again
    record_update(
        entity="pay",
        record_id=payment.pk,
        version=1,
        data={"a": {"amount": "7", "currency": "EUR"}},
    )
    assert _amount("inv", invoice.pk, "due") == Decimal("3")
    assert _amount("inv", invoice.pk, "due_twice") == Decimal("6")
