"""Generated models are cached per schema version and rebuilt when another process changes it."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from cardfile.metamodel.schema.dynamic import get_registry, pinned_schema
from cardfile.metamodel.schema.services import entity_create, field_create
from cardfile.metamodel.schema.sync import schema_atomic

pytestmark = [pytest.mark.embedded]


def run_in_thread(func):
    """Run ``func`` in another thread, which has its own database connection."""
    outcome = {}

    def target():
        try:
            outcome["value"] = func()
        except BaseException as error:  # noqa: BLE001  (re-raised in the caller)
            outcome["error"] = error
        finally:
            connection.close()

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(timeout=60)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


@pytest.mark.django_db(transaction=True)
def test_a_schema_change_in_one_worker_is_seen_by_the_next_request_of_another():
    # given a worker (this thread) that has served a request with the current schema
    entity_create(slug="client", label="Client")
    with pinned_schema():
        first = get_registry()
        assert set(first.entity("client").by_slug) == set()

    # when another worker, on its own connection, adds a field and commits
    run_in_thread(lambda: field_create(entity="client", slug="name", label="Name", type="text"))

    # then this worker's next request sees the new field and can use its column
    with pinned_schema():
        registry = get_registry()
        assert registry is not first
        schema = registry.entity("client")
        assert set(schema.by_slug) == {"name"}
        record = schema.model.objects.create(**{schema.field("name").attname: "Ivan"})
    # and the other worker reads that record through the same new schema
    assert (
        run_in_thread(
            lambda: get_registry().entity("client").objects().filter(pk=record.pk).count()
        )
        == 1
    )


@pytest.mark.django_db(transaction=True)
def test_within_a_request_the_schema_is_checked_once(django_assert_num_queries):
    entity_create(slug="client", label="Client")
    get_registry()  # built once for this version
    with pinned_schema(), django_assert_num_queries(0):
        for _ in range(5):
            get_registry().entity("client")


@pytest.mark.django_db(transaction=True)
def test_models_built_in_a_rolled_back_change_are_never_used():
    # given
    entity_create(slug="client", label="Client")

    # when a schema change is rolled back after its models were built
    seen_inside = set()

    def change_then_fail():
        with schema_atomic():
            field_create(entity="client", slug="name", label="Name", type="text")
            seen_inside.update(get_registry().entity("client").by_slug)
            raise RuntimeError("roll back")

    with pytest.raises(RuntimeError):
        change_then_fail()
    assert seen_inside == {"name"}

    # then the committed schema, without the field, is what every worker sees
    assert "name" not in get_registry().entity("client").by_slug
    assert "name" not in run_in_thread(lambda: set(get_registry().entity("client").by_slug))
