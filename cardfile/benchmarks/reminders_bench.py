"""reminders: the due-reminder scan over ``--rows`` records, with and without its index.

The ``visit`` entity holds a service date (``last_service``) spread evenly over the last ten
years (about ``rows / 3650`` a day), an email and an ``opted_out`` flag (one in ten). Two
reminders, made through the reminder service (which indexes the date field): six months after
the last service unless opted out — a few hundred due in one scan window at a million rows —
and a yearly one (every twelve months after that, ten periods: ten ranges of the index).

Timed, ``--repeat`` times each after a warm-up: the scan's question to the database
(`notify.scan.due_query`: ids and dates of the due rows, the condition and the sent-log in SQL)
for each reminder; the baseline is the same query with the date index dropped, so the ratio is
what the index saves. Then the whole scan of the first reminder (decide, render the messages,
write the sent-log and the deliveries), rolled back each time so every run has the same work;
its baseline is the query alone. The plans (``EXPLAIN ANALYZE``) are printed above the table:
the query must use the date index.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cardfile.metamodel.models import Reminder
from cardfile.metamodel.notify.scan import DueQuery, due_query, lookback, reminders_scan
from cardfile.metamodel.notify.services import reminder_create
from cardfile.metamodel.schema.dynamic import EntitySchema, get_registry, pinned_schema
from cardfile.metamodel.schema.dynamic import field_index as index_of
from cardfile.metamodel.schema.field_services import field_create
from cardfile.metamodel.schema.services import entity_create

from .context import BenchContext
from .dataset import insert_generated
from .permissions_bench import Plan, _explain
from .report import Measurement, median

ENTITY = "visit"
DAYS = 3650
WARM_UP = 3
# the seq-scan baseline and the whole scan are slow: fewer repetitions
SLOW_REPEAT = 10
SCAN_REPEAT = 5
MAX_QUERY_MS = 50
CONDITION = "NOT(opted_out)"
# The scan runs every minute: the previous one was this long ago.
INTERVAL = dt.timedelta(seconds=60)

# slug, type
FIELDS: tuple[tuple[str, str], ...] = (
    ("client_name", "text"),
    ("email", "email"),
    ("last_service", "date"),
    ("opted_out", "boolean"),
)


class _Rollback(Exception):
    """Undoes one timed scan, so each run finds the same rows due."""


@dataclass
class Setup:
    schema: EntitySchema
    half_year: Reminder
    yearly: Reminder
    now: dt.datetime
    load_seconds: float
    index_seconds: float

    @property
    def table(self) -> str:
        return self.schema.entity.table_name


def _load_rows(schema: EntitySchema, rows: int, owner_id: int) -> None:
    """``rows`` visits made by the server (``INSERT ... SELECT``), then analyzed."""
    meta = schema.model._meta

    def column(slug: str) -> str:
        return meta.get_field(schema.by_slug[slug].attname).column

    values = {
        "created_at": f"now() - ({int(rows)} - i) * interval '1 s'",
        "updated_at": f"now() - ({int(rows)} - i) * interval '1 s'",
        "created_by_id": str(int(owner_id)),
        "updated_by_id": str(int(owner_id)),
        "version": "1",
        column("client_name"): "'Client ' || i",
        column("email"): "'client' || i || '@example.com'",
        column("last_service"): f"current_date - ((i * 7877) % {DAYS})::int",
        # one in ten of each day's visits (those of a day are 3650 apart)
        column("opted_out"): f"(i / {DAYS}) % 10 = 0",
    }
    insert_generated(schema.entity.table_name, values, rows)


def build(ctx: BenchContext) -> Setup:
    owner = ctx.dataset.user
    entity_create(slug=ENTITY, label="Visit", label_plural="Visits", user=owner)
    for slug, type_name in FIELDS:
        field_create(
            entity=ENTITY,
            slug=slug,
            label=slug.replace("_", " ").capitalize(),
            type=type_name,
            user=owner,
        )
    started = time.perf_counter()
    _load_rows(get_registry().entity(ENTITY), ctx.rows, owner.pk)
    load_seconds = time.perf_counter() - started
    message = {
        "entity": ENTITY,
        "field": "last_service",
        "condition": CONDITION,
        "recipients": [{"field": "email"}],
        "channels": ["email"],
        "subject": "Time for a service, {{ record.client_name }}",
        "template": "Hello {{ record.client_name }}, your last service was on "
        "{{ record.last_service }}. {{ url }}",
    }
    started = time.perf_counter()
    half_year = reminder_create(
        data={**message, "offset": {"amount": 6, "unit": "months"}, "label": "Half a year"},
        user=owner,
    )
    index_seconds = time.perf_counter() - started
    yearly = reminder_create(
        data={
            **message,
            "offset": {"amount": 12, "unit": "months"},
            "repeat": {"every": 12, "unit": "months"},
            "label": "Every year",
            "active": False,  # timed by its query alone; the whole scan is the first's
        },
        user=owner,
    )
    now = timezone.now()
    Reminder.objects.filter(pk__in=[half_year.pk, yearly.pk]).update(scanned_until=now - INTERVAL)
    half_year.refresh_from_db()
    yearly.refresh_from_db()
    schema = get_registry().entity(ENTITY)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {connection.ops.quote_name(schema.entity.table_name)}")
    return Setup(
        schema=schema,
        half_year=half_year,
        yearly=yearly,
        now=now,
        load_seconds=load_seconds,
        index_seconds=index_seconds,
    )


# -- what is timed -----------------------------------------------------------------------------


def _query(setup: Setup, reminder: Reminder) -> DueQuery | None:
    f = setup.schema.by_slug["last_service"]
    lo = reminder.scanned_until - lookback()
    return due_query(reminder, setup.schema, f, lo=lo, hi=setup.now, now=setup.now)


def query_reader(setup: Setup, reminder: Reminder) -> Callable[[], int]:
    """The scan's question for ``reminder``, built and asked as the scan does; rows due."""

    def read() -> int:
        with pinned_schema():
            query = _query(setup, reminder)
            return 0 if query is None else len(query.due())

    return read


def scan_runner(setup: Setup) -> Callable[[], int]:
    """The whole scan (the active reminder), rolled back; the sent-log rows it wrote."""

    def run() -> int:
        try:
            with transaction.atomic():
                result = reminders_scan(now=setup.now)
                raise _Rollback(result.due)
        except _Rollback as rolled_back:
            return int(rolled_back.args[0])

    return run


def _timed(call: Callable[[], Any], repeat: int) -> list[float]:
    for _ in range(min(WARM_UP, repeat)):
        call()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def _statement(setup: Setup, reminder: Reminder) -> str:
    """The scan's statement on the visits table, as the server got it."""
    with CaptureQueriesContext(connection) as queries:
        query_reader(setup, reminder)()
    found = [q["sql"] for q in queries if "NOT EXISTS" in q["sql"].upper()]
    if not found:
        raise RuntimeError("the scan sent no query with NOT EXISTS on the sent-log")
    return found[-1]


def _without_date_index(setup: Setup, call: Callable[[], list[float]]) -> list[float]:
    """``call`` with the date index dropped (and made again afterwards)."""
    f = setup.schema.by_slug["last_service"]
    index = index_of(setup.schema.entity, f)
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"DROP INDEX {quote(index.name)}")
    try:
        return call()
    finally:
        with connection.schema_editor() as editor:
            editor.add_index(setup.schema.model, index)


def _report(setup: Setup, rows: int, found: dict[str, int], plans: dict[str, Plan]) -> None:
    print(
        f"data: {rows:,} visits for the reminders scenario loaded and analyzed in "
        f"{setup.load_seconds:.1f} s; the reminder made the date index in "
        f"{setup.index_seconds:.1f} s",
        flush=True,
    )
    for name, count in found.items():
        print(f"rows due for the {name}: {count:,}", flush=True)
    for name, plan in plans.items():
        used = ", ".join(dict.fromkeys(plan.indexes)) or "NO INDEX"
        print(
            f"plan of the reminder scan, {name} ({plan.milliseconds:.2f} ms; indexes: {used}): "
            f"{plan.summary}",
            flush=True,
        )


def sql_reader(plain: Any, statement: str) -> Callable[[], int]:
    """``statement`` alone through a plain psycopg connection; the rows."""

    def read() -> int:
        return len(plain.execute(statement).fetchall())

    return read


def run(ctx: BenchContext) -> list[Measurement]:
    setup = build(ctx)
    index = index_of(setup.schema.entity, setup.schema.by_slug["last_service"]).name
    periods = len(_query(setup, setup.yearly).periods)
    yearly = f"yearly repeat ({periods} ranges)"
    reminders = {"half-year reminder": setup.half_year, yearly: setup.yearly}
    readers = {name: query_reader(setup, r) for name, r in reminders.items()}
    statements = {name: _statement(setup, r) for name, r in reminders.items()}
    found = {name: read() for name, read in readers.items()}
    plans = {name: _explain(statement) for name, statement in statements.items()}
    _report(setup, ctx.rows, found, plans)
    for name, plan in plans.items():
        if index not in plan.indexes:
            print(f"  the {name} does not use the date index {index}", flush=True)

    plain = ctx.plain_connection()
    try:
        sql = {
            name: median(_timed(sql_reader(plain, statement), ctx.repeat))
            for name, statement in statements.items()
        }
        slow = min(SLOW_REPEAT, ctx.repeat)
        without = _without_date_index(
            setup,
            lambda: [
                median(_timed(sql_reader(plain, statement), slow))
                for statement in statements.values()
            ],
        )
    finally:
        plain.close()
    coded = median(_timed(readers["half-year reminder"], ctx.repeat))
    whole = median(_timed(scan_runner(setup), min(SCAN_REPEAT, ctx.repeat)))

    half_due, yearly_due = found.values()
    return [
        Measurement(
            "reminders",
            f"scan SQL, {half_due:,} due of {ctx.rows:,}, vs no date index, median",
            sql["half-year reminder"],
            "ms",
            baseline=without[0],
            max_value=MAX_QUERY_MS,
        ),
        Measurement(
            "reminders",
            f"{yearly} SQL, {yearly_due:,} due, vs no date index, median",
            sql[yearly],
            "ms",
            baseline=without[1],
            max_value=MAX_QUERY_MS,
        ),
        Measurement(
            "reminders",
            "scan query built and read by the scan's code vs its SQL alone, median",
            coded,
            "ms",
            baseline=sql["half-year reminder"],
            max_value=MAX_QUERY_MS,
        ),
        Measurement(
            "reminders",
            "whole scan (decide, render, write deliveries) vs its query, median",
            whole,
            "ms",
            baseline=coded,
        ),
    ]
