"""`field_update` merges the options it is given; ``None`` for a key clears that option."""

from __future__ import annotations

import pytest

from cardfile.core.models import AuditLog
from cardfile.metamodel.records import record_create
from cardfile.metamodel.records.exceptions import RecordValidationError
from cardfile.metamodel.schema.conversion import ConversionRefused
from cardfile.metamodel.schema.dynamic import get_registry
from cardfile.metamodel.schema.services import entity_create, field_create, field_update

pytestmark = [pytest.mark.embedded]


@pytest.fixture
def stock(owner):
    entity_create(slug="item", label="Item", user=owner)
    field_create(
        entity="item",
        slug="qty",
        label="Qty",
        type="integer",
        options={"min_value": 0, "max_value": 10},
        user=owner,
    )
    field_create(entity="item", slug="name", label="Name", type="text", options={"max_length": 20})
    return get_registry().entity("item")


def _options(slug):
    return get_registry().entity("item").by_slug[slug].options


def test_none_removes_an_option_and_leaves_the_others(owner, stock):
    # when
    field_update(entity="item", field="qty", options={"max_value": None}, user=owner)

    # then: no upper bound any more, the lower one stays
    assert _options("qty") == {"min_value": 0}
    record_create(entity="item", data={"qty": 500}, user=owner)
    with pytest.raises(RecordValidationError):
        record_create(entity="item", data={"qty": -1}, user=owner)
    entry = AuditLog.objects.filter(object_type="field", action="update").latest("id")
    assert "max_value" in str(entry.before)


def test_an_option_not_given_is_kept(owner, stock):
    field_update(entity="item", field="qty", options={"min_value": 2}, user=owner)
    assert _options("qty") == {"min_value": 2, "max_value": 10}


def test_a_cleared_option_with_a_default_goes_back_to_it(owner, stock):
    field_update(entity="item", field="name", options={"max_length": None}, user=owner)
    assert _options("name")["max_length"] == 255


def test_clearing_an_option_that_is_not_set_changes_nothing(owner, stock):
    before = AuditLog.objects.count()
    field_update(entity="item", field="qty", options={"max_value": None, "min_value": None})
    field_update(entity="item", field="qty", options={"max_value": None})
    assert _options("qty") == {}
    assert AuditLog.objects.count() == before + 1


def test_a_clear_with_a_change_values_do_not_fit_is_refused_as_a_whole(owner, stock):
    # given: a value the new lower bound would not allow
    record_create(entity="item", data={"qty": 5}, user=owner)

    # when / then: refused, and the cleared bound is still there
    with pytest.raises(ConversionRefused):
        field_update(
            entity="item", field="qty", options={"max_value": None, "min_value": 6}, user=owner
        )
    assert _options("qty") == {"min_value": 0, "max_value": 10}

    # with the confirm both apply
    field_update(
        entity="item",
        field="qty",
        options={"max_value": None, "min_value": 6},
        confirm=True,
        user=owner,
    )
    assert _options("qty") == {"min_value": 6}
