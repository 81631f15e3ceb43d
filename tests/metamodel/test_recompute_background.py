"""A changed formula is recomputed in background batches while the records stay writable
(PostgreSQL only: SQLite has one writer at a time).

The recompute runs in a thread with its own connection, committing batch by batch; meanwhile
the main thread writes single records through the record service. Every write goes through
while the job is still running, and at the end every row has the new definition's value, the
written ones included.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection

from cardfile.metamodel.formulas import recompute as recompute_module
from cardfile.metamodel.formulas.recompute import recompute_columns
from cardfile.metamodel.records import record_bulk_create, record_get, record_update
from cardfile.metamodel.schema.dynamic import get_registry
from cardfile.metamodel.schema.services import field_create, field_update
from tests.builders import build_shop_schema

pytestmark = [pytest.mark.django_db(transaction=True)]

ROWS = 300


@pytest.fixture
def orders(transactional_db, django_user_model, settings):
    if connection.vendor != "postgresql":
        pytest.skip("writes during a recompute need PostgreSQL (SQLite has one writer)")
    settings.CARDFILE_TASK_MODE = "eager"
    build_shop_schema(django_user_model.objects.create_user(username="owner"))
    client = record_bulk_create(entity="client", rows=[{"name": "Ivan"}])[0]
    rows = [{"client": client.pk, "lines": [{"item": "x", "qty": i % 7}]} for i in range(ROWS)]
    created = record_bulk_create(entity="order", rows=rows)
    field_create(
        entity="order",
        slug="pieces",
        label="Pieces",
        type="formula",
        options={"expression": "SUM(lines.qty)"},
    )
    return created


def test_writes_go_through_while_a_column_is_recomputed(orders, monkeypatch):
    # given a new definition, recomputed in small batches that take their time
    monkeypatch.setattr(recompute_module, "BATCH_SIZE", 20)
    field = field_update(
        entity="order", field="pieces", options={"expression": "SUM(lines.qty) * 10"}
    )
    progress: list[tuple[int, int]] = []
    finished = threading.Event()

    def report(done: int, total: int, message: str) -> None:
        progress.append((done, total))
        time.sleep(0.05)  # a batch of a big table takes a while

    def recompute() -> None:
        try:
            recompute_columns([field.pk], report)
        finally:
            finished.set()
            connection.close()

    worker = threading.Thread(target=recompute)
    # when single records are written meanwhile
    worker.start()
    written_while_running = 0
    for order in orders[::30]:
        record_update(entity="order", record_id=order.pk, version=1, data={"state": "ready"})
        if not finished.is_set():
            written_while_running += 1
    worker.join(timeout=120)
    # then the writes did not wait for the recompute, and every row has the new value
    assert written_while_running >= 3
    assert progress[-1] == (ROWS, ROWS)
    assert len(progress) >= ROWS // 20  # a report after every batch
    schema = get_registry().entity("order")
    for order in orders[:40]:
        stored = getattr(record_get("order", order.pk), schema.by_slug["pieces"].attname)
        assert stored == (orders.index(order) % 7) * 10
