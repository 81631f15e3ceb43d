"""Autonumbers: given on create, distinct and without gaps even under parallel inserts."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.utils import timezone

from cardfile.metamodel.records import (
    RecordValidationError,
    record_bulk_create,
    record_create,
    record_queryset,
    record_to_dict,
)
from cardfile.metamodel.schema.dynamic import get_registry
from tests.builders import build_shop_schema


def _numbers() -> list[str]:
    schema = get_registry().entity("order")
    return [record_to_dict(schema, o)["number"] for o in record_queryset("order")]


@pytest.mark.embedded
def test_numbers_follow_the_pattern_and_count_up(schema_db, owner):
    build_shop_schema(owner)
    client = record_create(entity="client", data={"name": "Ivan"})
    year = timezone.localdate().year

    record_create(entity="order", data={"client": client.pk})
    record_bulk_create(entity="order", rows=[{"client": client.pk}] * 2)

    assert _numbers() == [f"RO-{year}-00001", f"RO-{year}-00002", f"RO-{year}-00003"]


@pytest.mark.embedded
def test_input_for_an_autonumber_is_refused_and_a_refused_create_uses_no_number(schema_db, owner):
    build_shop_schema(owner)
    client = record_create(entity="client", data={"name": "Ivan"})

    with pytest.raises(RecordValidationError) as caught:
        record_create(entity="order", data={"client": client.pk, "number": "RO-1"})
    with pytest.raises(RecordValidationError):
        record_create(entity="order", data={"client": 999})
    record_create(entity="order", data={"client": client.pk})

    assert caught.value.errors == {
        "number": ["This value is assigned automatically; leave it out."]
    }
    assert _numbers() == [f"RO-{timezone.localdate().year}-00001"]


@pytest.mark.django_db(transaction=True)
def test_parallel_inserts_get_distinct_contiguous_numbers(transactional_db, django_user_model):
    if connection.vendor != "postgresql":
        pytest.skip("parallel writers need PostgreSQL (SQLite has one writer at a time)")
    # given
    owner = django_user_model.objects.create_user(username="owner")
    build_shop_schema(owner)
    client = record_create(entity="client", data={"name": "Ivan"})
    threads_count, per_thread = 4, 10
    start = threading.Barrier(threads_count)
    failures: list[BaseException] = []

    def insert_many() -> None:
        try:
            start.wait(timeout=30)
            for _ in range(per_thread):
                record_create(entity="order", data={"client": client.pk})
        except BaseException as error:  # noqa: BLE001  (reported by the main thread)
            failures.append(error)
        finally:
            connection.close()

    # when
    threads = [threading.Thread(target=insert_many) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    # then
    assert failures == []
    year = timezone.localdate().year
    total = threads_count * per_thread
    assert sorted(_numbers()) == [f"RO-{year}-{n:05d}" for n in range(1, total + 1)]
