"""formula: change one line of an order with 20 lines; the order's total formula is kept right
in the same transaction.

Two copies of one small schema, an order with a child table of lines (qty, price): one order
has a formula ``total`` over its lines, the other has no computed field. The same write (one
line's qty, given through the order as the record service takes lines) is timed on each,
alternately, ``--repeat`` times; after every write the stored total is read back and compared
with the sum computed here, so a wrong total stops the benchmark instead of being timed.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from cardfile.metamodel.records import record_create, record_update
from cardfile.metamodel.schema.dynamic import get_registry
from cardfile.metamodel.schema.services import entity_create, field_create

from .context import BenchContext
from .report import Measurement, median

LINES = 20
TOTAL = "SUM(lines.qty * lines.price)"
WARM_UP = 3


def _build(user: Any, prefix: str, *, with_total: bool) -> None:
    line, order = f"{prefix}_line", f"{prefix}_order"
    entity_create(slug=line, label="Order line", user=user)
    field_create(entity=line, slug="item", label="Item", type="text", user=user)
    field_create(entity=line, slug="qty", label="Qty", type="integer", user=user)
    field_create(
        entity=line,
        slug="price",
        label="Price",
        type="money",
        options={"currency": "EUR"},
        user=user,
    )
    entity_create(slug=order, label="Order", label_plural="Orders", user=user)
    field_create(entity=order, slug="title", label="Title", type="text", user=user)
    field_create(
        entity=order,
        slug="lines",
        label="Lines",
        type="child_table",
        options={"target": line},
        user=user,
    )
    if with_total:
        with override_settings(CARDFILE_TASK_MODE="eager"):  # its job: no orders yet
            field_create(
                entity=order,
                slug="total",
                label="Total",
                type="formula",
                options={"expression": TOTAL},
                user=user,
            )


class Order:
    """One order with `LINES` lines, and the writes that change one line at a time."""

    def __init__(self, prefix: str, user: Any) -> None:
        self.entity, self.user = f"{prefix}_order", user
        self.prices = [Decimal(f"{3 + 7 * n}.{n:02d}") for n in range(LINES)]
        self.qty = [1 + n % 5 for n in range(LINES)]
        lines = [
            {"item": f"Part {n}", "qty": q, "price": {"amount": str(p), "currency": "EUR"}}
            for n, (q, p) in enumerate(zip(self.qty, self.prices, strict=True))
        ]
        obj = record_create(
            entity=self.entity, data={"title": "Bench order", "lines": lines}, user=user
        )
        self.pk, self.version = obj.pk, obj.version
        schema = get_registry().entity(self.entity)
        line_schema = get_registry().entity_by_id(schema.by_slug["lines"].options["target_id"])
        self.line_ids = list(
            line_schema.model._base_manager.filter(**{schema.by_slug["lines"].attname: obj.pk})
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        self.writes = 0

    def write(self) -> None:
        """Change the qty of one line (the next in turn); the others are given by id only."""
        n = self.writes % LINES
        self.writes += 1
        self.qty[n] = 1 + (self.qty[n] + 3) % 9
        lines: list[dict[str, Any]] = [{"id": pk} for pk in self.line_ids]
        lines[n] = {"id": self.line_ids[n], "qty": self.qty[n]}
        obj = record_update(
            entity=self.entity,
            record_id=self.pk,
            version=self.version,
            data={"lines": lines},
            user=self.user,
        )
        self.version = obj.version

    def check_total(self) -> None:
        schema = get_registry().entity(self.entity)
        f = schema.by_slug["total"]
        stored = schema.model._base_manager.filter(pk=self.pk).values_list(f.attname, flat=True)[0]
        expected = sum(q * p for q, p in zip(self.qty, self.prices, strict=True))
        if stored != expected:
            raise RuntimeError(f"The order's total is {stored}, not {expected}, after a write")


def _timed(order: Order) -> float:
    started = time.perf_counter()
    order.write()
    return (time.perf_counter() - started) * 1000


def _queries(order: Order) -> int:
    with CaptureQueriesContext(connection) as queries:
        order.write()
    return len(queries)


def run(ctx: BenchContext) -> list[Measurement]:
    user = ctx.dataset.user
    _build(user, "total", with_total=True)
    _build(user, "plain", with_total=False)
    computed, plain = Order("total", user), Order("plain", user)
    computed.check_total()
    for _ in range(WARM_UP):
        computed.write()
        plain.write()
    computed_queries, plain_queries = _queries(computed), _queries(plain)
    computed.check_total()
    computed_ms, plain_ms = [], []
    for _ in range(ctx.repeat):  # alternately, so drift in the machine hits both alike
        computed_ms.append(_timed(computed))
        computed.check_total()
        plain_ms.append(_timed(plain))
    label = f"update 1 line of {LINES}, total right"
    return [
        Measurement(
            "formula",
            f"{label}, median",
            median(computed_ms),
            "ms",
            baseline=median(plain_ms),
        ),
        Measurement(
            "formula",
            f"{label}, SQL queries",
            computed_queries,
            "queries",
            baseline=plain_queries,
        ),
    ]
