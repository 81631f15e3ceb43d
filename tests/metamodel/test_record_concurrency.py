"""Two real connections writing the same record at once (PostgreSQL only).

Each thread has its own database connection, closed when the thread ends; the tests commit for
real (``transaction=True``), so the writers see each other's locks and commits.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, transaction

from cardfile.metamodel.records import (
    RecordConflict,
    RecordValidationError,
    record_create,
    record_get,
    record_to_dict,
    record_update,
)
from cardfile.metamodel.schema.dynamic import get_registry
from tests.builders import build_shop_schema

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture
def shop(transactional_db, django_user_model):
    if connection.vendor != "postgresql":
        pytest.skip("two concurrent writers need PostgreSQL (SQLite has one writer at a time)")
    build_shop_schema(django_user_model.objects.create_user(username="owner"))
    return record_create(entity="client", data={"name": "Ivan", "phone": "+49 30 1234567"})


def _in_thread(work: Callable[[], Any], results: dict[str, Any], name: str) -> threading.Thread:
    def run() -> None:
        try:
            results[name] = work()
        except Exception as error:  # noqa: BLE001  (the test inspects it)
            results[name] = error
        finally:
            connection.close()

    thread = threading.Thread(target=run, name=name)
    thread.start()
    return thread


def _wait_for_a_lock_wait(timeout: float = 20.0) -> bool:
    """True once another backend of this database waits for a lock."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return True
            time.sleep(0.02)
    return False


def _name(record_id: int) -> str:
    schema = get_registry().entity("client")
    return record_to_dict(schema, record_get("client", record_id))["name"]


def test_two_editors_of_version_1_one_wins_the_other_conflicts(shop):
    # given both editors read version 1
    start = threading.Barrier(2)
    results: dict[str, Any] = {}

    def edit(name: str) -> Callable[[], Any]:
        def work() -> Any:
            start.wait(timeout=10)
            return record_update(entity="client", record_id=shop.pk, version=1, data={"name": name})

        return work

    # when both save at once
    threads = [_in_thread(edit(name), results, name) for name in ("Anna", "Boris")]
    for thread in threads:
        thread.join(timeout=60)

    # then exactly one wins, the other sees the winner's values
    conflicts = {k: v for k, v in results.items() if isinstance(v, RecordConflict)}
    winners = [k for k, v in results.items() if not isinstance(v, Exception)]
    assert len(winners) == 1, results
    assert len(conflicts) == 1, results
    (loser,) = conflicts.values()
    assert loser.current["name"] == winners[0]
    assert loser.current["version"] == 2
    assert _name(shop.pk) == winners[0]


def test_the_second_editor_waits_for_the_first_then_conflicts(shop):
    # given editor A holds the row (its transaction is still open)
    meet = threading.Barrier(2)
    release = threading.Event()
    results: dict[str, Any] = {}

    def first() -> Any:
        with transaction.atomic():
            updated = record_update(
                entity="client", record_id=shop.pk, version=1, data={"name": "Anna"}
            )
            meet.wait(timeout=10)
            release.wait(timeout=30)
        return updated

    def second() -> Any:
        meet.wait(timeout=10)
        started = time.monotonic()
        try:
            record_update(entity="client", record_id=shop.pk, version=1, data={"name": "Boris"})
        except RecordConflict as error:
            return error, time.monotonic() - started
        return None, time.monotonic() - started

    a = _in_thread(first, results, "first")
    b = _in_thread(second, results, "second")

    # when B is seen waiting for A's lock, A commits
    blocked = _wait_for_a_lock_wait()
    time.sleep(0.2)
    release.set()
    a.join(timeout=60)
    b.join(timeout=60)

    # then B was blocked, and after A's commit it got a conflict with A's values
    assert blocked
    error, waited = results["second"]
    assert isinstance(error, RecordConflict)
    assert waited >= 0.2
    assert error.current["name"] == "Anna"
    assert _name(shop.pk) == "Anna"


def test_a_unique_value_taken_by_a_concurrent_insert_is_reported_on_the_field(shop):
    # given A inserted a phone number and has not committed yet
    meet = threading.Barrier(2)
    release = threading.Event()
    results: dict[str, Any] = {}

    def first() -> Any:
        with transaction.atomic():
            created = record_create(
                entity="client", data={"name": "Anna", "phone": "+49 30 7654321"}
            )
            meet.wait(timeout=10)
            release.wait(timeout=30)
        return created

    def second() -> Any:
        meet.wait(timeout=10)
        return record_create(entity="client", data={"name": "Boris", "phone": "030 7654321"})

    a = _in_thread(first, results, "first")
    b = _in_thread(second, results, "second")

    # when B's insert waits on the unique index and A commits
    blocked = _wait_for_a_lock_wait()
    release.set()
    a.join(timeout=60)
    b.join(timeout=60)

    # then B gets the same error the pre-check gives
    assert blocked
    error = results["second"]
    assert isinstance(error, RecordValidationError), error
    assert error.errors == {
        "phone": [
            f"+49307654321 is already used by record #{results['first'].pk}; it must be unique."
        ]
    }
