"""formula: recomputing a changed formula over the big table, keeping a parent's total right on
each write, and the speed of the formula engine itself.

The recompute part: ``sale`` gets ``--rows`` rows whose formula column is not computed yet (as
after a change of the definition), then the recompute job's work, `recompute_columns` (batches
of `BATCH_SIZE` rows, each its own transaction), is timed against one hand-written ``UPDATE`` of
the whole table through psycopg, each alone. Then it runs again while another thread, on its own
connection, changes single records through `record_update` a few times a second; their latency
is set against the same updates with nothing else running. Before each timed rewrite the column
is emptied and the table compacted, so each starts from the same pages (a table with free space
would let PostgreSQL update in place, and the later run would win for that alone).

The other parts are in `formula_total_bench` (an order's total) and `formula_engine_bench`.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

import psycopg
from django.db import connection
from django.test import override_settings
from psycopg import sql

from cardfile.metamodel.formulas.recompute import BATCH_SIZE, recompute_columns
from cardfile.metamodel.records import record_update
from cardfile.metamodel.schema.dynamic import get_registry, pinned_schema

from . import formula_engine_bench, formula_total_bench
from .context import BenchContext
from .dataset import SALES, build_sales, load_sales
from .report import Measurement, percentile

MAX_RATIO = 1.5
FORMULA = "amount"
EXPRESSION = "qty * price * (1 - discount)"
# The baseline is the natural hand-written SQL, not the SQL the engine generates (whose blank
# handling, overflow guard and casts are part of what is measured): ``discount`` is a percent
# field kept in points, money keeps its currency's two places and its currency in a column of
# its own. The rows hold no blanks, so both give the same values, which `Table.check` verifies.
HAND_AMOUNT = "ROUND({qty} * {price} * (1 - {discount} / 100.0), 2)"
UPDATES_PER_SECOND = 5
IDLE_UPDATES = (10, 50)  # the fewest and most updates timed with nothing else running


class Writes:
    """Which sale the next single-record update changes, and the versions written so far."""

    def __init__(self, ids: list[int]) -> None:
        self.ids = ids
        self.versions: dict[int, int] = {}
        self.count = 0

    def next(self) -> tuple[int, int, int]:
        """(record id, its version, a new qty), spread over the whole table."""
        self.count += 1
        pk = self.ids[(self.count * 7919) % len(self.ids)]
        return pk, self.versions.get(pk, 1), 1 + self.count % 50


class Updater(threading.Thread):
    """Changes single sales through `record_update`, ``UPDATES_PER_SECOND`` a second, on this
    thread's own database connection, until stopped (and at least ``least`` times)."""

    def __init__(self, ctx: BenchContext, writes: Writes, *, least: int = 1) -> None:
        super().__init__(name="bench-record-updates", daemon=True)
        self.user, self.writes, self.least = ctx.dataset.user, writes, least
        self.samples: list[float] = []
        self.error: BaseException | None = None
        self.stop = threading.Event()

    def run(self) -> None:
        try:
            with pinned_schema():
                while len(self.samples) < self.least or not self.stop.is_set():
                    self._update_one()
                    self.stop.wait(1 / UPDATES_PER_SECOND)
        except BaseException as error:  # raised again by `finish`, in the benchmark's thread
            self.error = error
        finally:
            connection.close()

    def _update_one(self) -> None:
        pk, version, qty = self.writes.next()
        started = time.perf_counter()
        record_update(
            entity=SALES, record_id=pk, version=version, data={"qty": qty}, user=self.user
        )
        self.samples.append((time.perf_counter() - started) * 1000)
        self.writes.versions[pk] = version + 1

    def finish(self) -> list[float]:
        self.stop.set()
        self.join()
        if self.error is not None:
            raise RuntimeError("A record update failed during the benchmark") from self.error
        return self.samples


class Table:
    """The sale table through a plain psycopg connection: reset, compact, check, rewrite."""

    def __init__(self, ctx: BenchContext) -> None:
        schema = get_registry().entity(SALES)
        meta = schema.model._meta
        self.schema = schema
        self.table = sql.Identifier(schema.entity.table_name)

        def name(slug: str, suffix: str = "") -> str:
            return meta.get_field(schema.by_slug[slug].attname + suffix).column

        def column(slug: str) -> sql.Identifier:
            return sql.Identifier(name(slug))

        self.formula_columns = (name(FORMULA), name(FORMULA, "_cur"))
        self.amount, self.currency = (sql.Identifier(n) for n in self.formula_columns)
        self.hand_amount = sql.SQL(HAND_AMOUNT).format(
            qty=column("qty"), price=column("price"), discount=column("discount")
        )
        self.connection = ctx.plain_connection()

    def execute(self, statement: sql.Composable) -> Any:
        return self.connection.execute(statement)

    def settle(self) -> None:
        """Formula column empty, table and indexes rewritten compactly, statistics fresh, and a
        checkpoint (where allowed), so the timed rewrite that follows pays for all of its WAL.

        The columns are emptied by dropping and adding them again as they were (they hold only
        derived values): an UPDATE to blank would cost as much as the rewrite measured."""
        with self.connection.transaction():
            for column in self.formula_columns:
                kind = self.connection.execute(
                    "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                    "WHERE attrelid = %s::regclass AND attname = %s",
                    (self.schema.entity.table_name, column),
                ).fetchone()[0]
                for change in ("DROP COLUMN {}", "ADD COLUMN {} " + kind):
                    self.execute(
                        sql.SQL("ALTER TABLE {} " + change).format(
                            self.table, sql.Identifier(column)
                        )
                    )
        self.execute(sql.SQL("VACUUM (FULL, ANALYZE) {}").format(self.table))
        # Needs superuser or pg_checkpoint; without it the WAL is evened out less well.
        with contextlib.suppress(psycopg.Error):
            self.execute(sql.SQL("CHECKPOINT"))

    def hand_update(self) -> float:
        """Seconds of one hand-written UPDATE of every row."""
        started = time.perf_counter()
        self.execute(
            sql.SQL("UPDATE {} SET {} = {}, {} = 'EUR'").format(
                self.table, self.amount, self.hand_amount, self.currency
            )
        )
        return time.perf_counter() - started

    def check(self, what: str) -> None:
        """Every row holds what the hand-written expression computes, or the times mean
        nothing (the concurrent updates keep theirs right in their own transactions)."""
        wrong = self.execute(
            sql.SQL(
                "SELECT count(*) FROM {} WHERE {} IS DISTINCT FROM {} OR {} IS DISTINCT FROM 'EUR'"
            ).format(self.table, self.amount, self.hand_amount, self.currency)
        ).fetchone()[0]
        if wrong:
            raise RuntimeError(f"{what}: {wrong:,} rows differ from the hand-written formula")

    def ids(self) -> list[int]:
        return list(self.schema.model._base_manager.order_by("pk").values_list("pk", flat=True))

    def close(self) -> None:
        self.connection.close()


def _recompute(field_pk: int) -> tuple[float, int]:
    """Seconds and batches of the recompute job's work, as its handler runs it."""
    batches = 0

    def report(done: int, total: int, message: str) -> None:
        nonlocal batches
        batches += 1

    started = time.perf_counter()
    with pinned_schema():
        recompute_columns([field_pk], report)
    return time.perf_counter() - started, batches


def _while_updating(ctx: BenchContext, writes: Writes, work: Any) -> tuple[Any, list[float]]:
    updater = Updater(ctx, writes)
    updater.start()
    try:
        result = work()
    finally:
        samples = updater.finish()
    return result, samples


def recompute(ctx: BenchContext) -> list[Measurement]:
    user = ctx.dataset.user
    # The definition's own recompute job runs at once, on the table while it is still empty.
    with override_settings(CARDFILE_TASK_MODE="eager"):
        build_sales(user, formula=FORMULA, expression=EXPRESSION)
    load_seconds = load_sales(user, ctx.rows)
    print(
        f"data: {ctx.rows:,} sales for the formula scenario loaded in {load_seconds:.1f} s",
        flush=True,
    )
    field_pk = get_registry().entity(SALES).by_slug[FORMULA].pk
    table = Table(ctx)
    try:
        writes = Writes(table.ids())
        least = max(IDLE_UPDATES[0], min(IDLE_UPDATES[1], ctx.rows // 20000))
        idle = Updater(ctx, writes, least=least)
        idle.start()
        idle_ms = idle.finish()

        # Both timed alone: record updates would slow the recompute for all of its run, but
        # the one UPDATE only until they queue behind its row locks.
        table.settle()
        hand = table.hand_update()
        table.check("the hand-written UPDATE")

        table.settle()
        service, batches = _recompute(field_pk)
        table.check("recompute_columns")

        table.settle()
        (busy, _batches), during_ms = _while_updating(ctx, writes, lambda: _recompute(field_pk))
        table.check("recompute_columns with record updates")
    finally:
        table.close()
    return [
        Measurement(
            "formula",
            f"recompute {ctx.rows:,} rows ({batches} batches of {BATCH_SIZE:,})",
            service,
            "s",
            baseline=hand,
            max_ratio=MAX_RATIO,
        ),
        Measurement(
            "formula",
            f"the same, {UPDATES_PER_SECOND} record_update/s meanwhile",
            busy,
            "s",
            baseline=hand,
        ),
        Measurement(
            "formula",
            f"record_update meanwhile, p50 (n={len(during_ms)})",
            percentile(during_ms, 0.5),
            "ms",
            baseline=percentile(idle_ms, 0.5),
        ),
        Measurement(
            "formula",
            f"record_update meanwhile, p99 (idle n={len(idle_ms)})",
            percentile(during_ms, 0.99),
            "ms",
            baseline=percentile(idle_ms, 0.99),
        ),
    ]


def run(ctx: BenchContext) -> list[Measurement]:
    return [
        *recompute(ctx),
        *formula_total_bench.run(ctx),
        *formula_engine_bench.run(ctx),
    ]
