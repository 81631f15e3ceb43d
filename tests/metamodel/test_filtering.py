"""List parameters -> querysets (`records.filtering`), without HTTP: filters against a Python
oracle, sort stability, expand, and the errors that name what was wrong."""

from __future__ import annotations

import operator
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cardfile.metamodel.records import record_bulk_create, record_delete
from cardfile.metamodel.records.filtering import (
    ListParamsError,
    expand_fields,
    record_detail,
    record_list,
)
from cardfile.metamodel.schema.dynamic import get_registry
from cardfile.metamodel.schema.services import entity_create, field_create

pytestmark = [pytest.mark.embedded]

VALUES = [None, -3, 0, 1, 1, 2, 5, 8, 13, 40]
PRICES = [None, "0.50", "1.00", "9.99", "10.00", "250.00"]


@pytest.fixture
def numbers(schema_db, owner):
    entity_create(slug="group", label="Group", user=owner)
    field_create(entity="group", slug="title", label="Title", type="text", user=owner)
    entity_create(slug="item", label="Item", user=owner)
    field_create(entity="item", slug="n", label="N", type="integer", user=owner)
    field_create(entity="item", slug="price", label="Price", type="money", user=owner)
    field_create(entity="item", slug="label", label="Label", type="text", user=owner)
    field_create(
        entity="item",
        slug="group",
        label="Group",
        type="link",
        options={"target": "group"},
        user=owner,
    )
    groups = record_bulk_create(entity="group", rows=[{"title": "odd"}, {"title": "even"}])
    rows = [
        {
            "n": n,
            "price": PRICES[i % len(PRICES)],
            "label": f"item {i}",
            "group": groups[i % 2].pk,
        }
        for i, n in enumerate(VALUES)
    ]
    items = record_bulk_create(entity="item", rows=rows)
    return {"items": items, "rows": rows, "groups": groups}


def _ids(queryset) -> list[int]:
    return [obj.pk for obj in queryset]


_COMPARE = {
    "exact": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "lte": operator.le,
    "gt": operator.gt,
    "gte": operator.ge,
}


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(op=st.sampled_from(sorted(_COMPARE)), value=st.integers(-5, 45))
def test_integer_comparisons_agree_with_python(numbers, op, value):
    # ne keeps blanks (they are not equal to the value); comparisons never match a blank
    expected = [
        item.pk
        for item, row in zip(numbers["items"], numbers["rows"], strict=True)
        if (row["n"] is None and op == "ne")
        or (row["n"] is not None and _COMPARE[op](row["n"], value))
    ]
    key = "n" if op == "exact" else f"n__{op}"
    assert sorted(_ids(record_list("item", {key: str(value)}))) == sorted(expected)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    low=st.decimals("-1", "300", places=2),
    high=st.decimals("-1", "300", places=2),
)
def test_money_range_compares_the_amount(numbers, low, high):
    expected = [
        item.pk
        for item, row in zip(numbers["items"], numbers["rows"], strict=True)
        if row["price"] is not None and low <= Decimal(row["price"]) <= high
    ]
    found = record_list("item", {"price__range": f"{low},{high}"})
    assert sorted(_ids(found)) == sorted(expected)


def test_in_isnull_and_paths(numbers):
    items = numbers["items"]
    assert sorted(_ids(record_list("item", {"n__in": "1,13"}))) == [
        items[3].pk,
        items[4].pk,
        items[8].pk,
    ]
    assert _ids(record_list("item", {"n__isnull": "true"})) == [items[0].pk]
    odd = record_list("item", {"group__title": "odd", "sort": "id"})
    assert _ids(odd) == [item.pk for item in items[::2]]


def test_a_query_dict_ands_repeated_parameters(numbers):
    from django.http import QueryDict

    params = QueryDict("n__gte=1&n__gte=5&sort=n")
    assert [o.f_n for o in _with_n(record_list("item", params))] == [5, 8, 13, 40]


def _with_n(queryset):
    registry = get_registry()
    attname = registry.entity("item").field("n").attname
    for obj in queryset:
        obj.f_n = getattr(obj, attname)
        yield obj


def test_sort_is_stable_and_ties_break_by_id(numbers):
    items = numbers["items"]
    by_n = list(_with_n(record_list("item", {"sort": "n", "n__in": "1,2"})))
    # the two records with n=1 come in id order
    assert [o.pk for o in by_n] == [items[3].pk, items[4].pk, items[5].pk]
    newest_first = _ids(record_list("item", {}))
    assert newest_first == sorted(newest_first, reverse=True)
    by_group = _ids(record_list("item", {"sort": "-group__title,-id"}))
    assert by_group[:5] == [items[i].pk for i in (8, 6, 4, 2, 0)]


def test_trashed_records_are_left_out_unless_asked(numbers):
    first = numbers["items"][1]
    record_delete(entity="item", record_id=first.pk)
    assert first.pk not in _ids(record_list("item", {}))
    assert _ids(record_list("item", {}, in_trash=True)) == [first.pk]
    assert record_detail("item", first.pk) is None


def test_errors_name_each_parameter(numbers):
    with pytest.raises(ListParamsError) as caught:
        record_list(
            "item",
            {"nope": "1", "n__lt": "x", "label__range": "a,b", "sort": "n,-nothing"},
        )
    errors = caught.value.errors
    assert set(errors) == {"nope", "n__lt", "label__range", "sort"}
    assert "nothing" in errors["sort"][0]
    assert "exact" in errors["label__range"][0]  # the operators a text field takes


def test_expand_fields_and_detail(numbers):
    registry = get_registry()
    schema = registry.entity("item")
    fields = expand_fields(schema, "group,group")
    assert [f.slug for f in fields] == ["group"]
    obj = record_detail("item", numbers["items"][0].pk, expand=fields)
    assert getattr(obj, fields[0].attname).pk == numbers["groups"][0].pk
    with pytest.raises(ListParamsError) as caught:
        expand_fields(schema, "n")
    assert "expand" in caught.value.errors
