"""schema: add a field to the big table, and change a field's type over all its rows.

Adding a nullable field is metadata plus ``ALTER TABLE ... ADD COLUMN``, which PostgreSQL does
without rewriting the table: the target is under 100 ms however many rows there are. The
baseline is the bare ``ALTER TABLE``. A type change (integer to decimal) writes every value
into a new column; the baseline is the same in one SQL statement, rolled back afterwards.
"""

from __future__ import annotations

import time

from psycopg import sql

from cardfile.metamodel.schema.conversion import field_change_type
from cardfile.metamodel.schema.services import field_create

from .context import BenchContext
from .dataset import CONVERTED_FIELD, ENTITY
from .report import Measurement, median

ADD_FIELD_MAX_MS = 100
ADDS = 5


def _add_field(ctx: BenchContext) -> tuple[float, float]:
    """Median ms of `field_create` of a nullable field, and of a bare ADD COLUMN."""
    table = sql.Identifier(ctx.dataset.schema().entity.table_name)
    service, bare = [], []
    with ctx.plain_connection() as plain:
        for number in range(1, min(ADDS, ctx.repeat) + 1):
            started = time.perf_counter()
            field_create(
                entity=ENTITY,
                slug=f"extra_{number}",
                label=f"Extra {number}",
                type="integer",
                user=ctx.dataset.user,
            )
            service.append((time.perf_counter() - started) * 1000)

            column = sql.Identifier(f"bench_bare_{number}")
            started = time.perf_counter()
            plain.execute(sql.SQL("ALTER TABLE {} ADD COLUMN {} bigint").format(table, column))
            bare.append((time.perf_counter() - started) * 1000)
            plain.execute(sql.SQL("ALTER TABLE {} DROP COLUMN {}").format(table, column))
    return median(service), median(bare)


def _change_type(ctx: BenchContext) -> tuple[int, float, float]:
    """Rows, and rows/s of `field_change_type` integer -> decimal and of the same in SQL."""
    schema = ctx.dataset.schema()
    f = schema.field(CONVERTED_FIELD)
    table = sql.Identifier(schema.entity.table_name)
    old_column = sql.Identifier(f.column)
    rows = schema.model._base_manager.count()

    started = time.perf_counter()
    field_change_type(
        entity=ENTITY,
        field=CONVERTED_FIELD,
        new_type="decimal",
        options={"decimal_places": 2},
        user=ctx.dataset.user,
    )
    service = time.perf_counter() - started

    # After the service, so its rolled-back rows cannot slow the service's scan.
    with ctx.plain_connection() as plain, plain.transaction(force_rollback=True):
        started = time.perf_counter()
        plain.execute(
            sql.SQL("ALTER TABLE {} ADD COLUMN bench_converted numeric(20, 2)").format(table)
        )
        plain.execute(
            sql.SQL("UPDATE {} SET bench_converted = {}::numeric(20, 2)").format(table, old_column)
        )
        bare = time.perf_counter() - started
    return rows, rows / service, rows / bare


def run(ctx: BenchContext) -> list[Measurement]:
    rows = ctx.dataset.schema().model._base_manager.count()
    service_ms, bare_ms = _add_field(ctx)
    converted, service_rate, bare_rate = _change_type(ctx)
    return [
        Measurement(
            "schema",
            f"add a field ({rows:,} rows)",
            service_ms,
            "ms",
            baseline=bare_ms,
            max_value=ADD_FIELD_MAX_MS,
        ),
        Measurement(
            "schema",
            f"integer -> decimal ({converted:,} rows)",
            service_rate,
            "rows/s",
            baseline=bare_rate,
        ),
    ]
