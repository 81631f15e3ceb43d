"""list: one page of 50 records, filtered on an indexed field and sorted on another.

Through the record API in process (Django's test client: URL routing, middleware, DRF,
token authentication, the record selectors and serialisation), against the same page read by
hand-written SQL through a plain psycopg connection and turned into the same JSON with
``json.dumps``. Both run alternately, after a warm-up, ``--repeat`` times each.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.duration import duration_iso_string
from psycopg import sql

from .context import BenchContext
from .dataset import ENTITY, FILTER_FIELD, FILTER_VALUE, SORT_FIELD
from .report import Measurement, percentile

PAGE_SIZE = 50
WARM_UP = 5
MAX_RATIO = 3
URL = f"/api/v1/records/{ENTITY}/"
QUERY = {FILTER_FIELD: FILTER_VALUE, "sort": f"-{SORT_FIELD}", "page_size": str(PAGE_SIZE)}
_CENTS = Decimal("0.01")


def _moment(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _iso(value: Any) -> Any:
    return None if value is None else value.isoformat()


def _text(value: Any) -> Any:
    return None if value is None else str(value)


def _duration(value: dt.timedelta | None) -> str | None:
    return None if value is None else duration_iso_string(value)


def _same(value: Any) -> Any:
    return value


# How the hand-written endpoint turns a column into JSON, by field type.
_CONVERT: dict[str, Callable[[Any], Any]] = {
    "decimal": _text,
    "percent": _text,
    "date": _iso,
    "datetime": _moment,
    "duration": _duration,
}


class HandWrittenPage:
    """The page as a hand-written endpoint would read and serialise it."""

    def __init__(self, ctx: BenchContext) -> None:
        schema = ctx.dataset.schema()
        meta = schema.model._meta
        column = {f.slug: meta.get_field(f.attname).column for f in schema.fields}
        selected = [
            sql.Identifier(name)
            for name in (
                "id",
                "version",
                "created_at",
                "updated_at",
                "created_by_id",
                "updated_by_id",
                "branch_id",
            )
        ]
        # (slug, converter, number of columns it takes)
        self.fields: list[tuple[str, Callable[..., Any], int]] = []
        for f in schema.fields:
            selected.append(sql.Identifier(column[f.slug]))
            if f.type == "money":
                selected.append(sql.Identifier(meta.get_field(f"{f.attname}_cur").column))
                self.fields.append((f.slug, _money(f.options.get("currency", "EUR")), 2))
            else:
                self.fields.append((f.slug, _CONVERT.get(f.type, _same), 1))
        self.query = sql.SQL(
            "SELECT {columns} FROM {table} WHERE deleted_at IS NULL AND {filter} = %s "
            "ORDER BY {sort} DESC, id LIMIT %s"
        ).format(
            columns=sql.SQL(", ").join(selected),
            table=sql.Identifier(schema.entity.table_name),
            filter=sql.Identifier(column[FILTER_FIELD]),
            sort=sql.Identifier(column[SORT_FIELD]),
        )
        self.connection = ctx.plain_connection()

    def __call__(self) -> str:
        rows = self.connection.execute(self.query, (FILTER_VALUE, PAGE_SIZE + 1)).fetchall()
        results = []
        for row in rows[:PAGE_SIZE]:
            record = {
                "id": row[0],
                "version": row[1],
                "created_at": _moment(row[2]),
                "updated_at": _moment(row[3]),
                "created_by": row[4],
                "updated_by": row[5],
                "branch": row[6],
            }
            position = 7
            for slug, convert, width in self.fields:
                record[slug] = convert(*row[position : position + width])
                position += width
            results.append(record)
        more = len(rows) > PAGE_SIZE
        return json.dumps({"next": "next" if more else None, "previous": None, "results": results})

    def close(self) -> None:
        self.connection.close()


def _money(default_currency: str) -> Callable[[Any, Any], Any]:
    def convert(amount: Decimal | None, currency: str | None) -> Any:
        if amount is None:
            return None
        return {"amount": str(amount.quantize(_CENTS)), "currency": currency or default_currency}

    return convert


class ApiPage:
    """The page through the record API."""

    def __init__(self, ctx: BenchContext) -> None:
        self.client = ctx.api_client()

    def __call__(self) -> bytes:
        response = self.client.get(URL, QUERY, secure=True)
        if response.status_code != 200:
            raise RuntimeError(
                f"GET {URL} answered {response.status_code}: {response.content[:500]!r}"
            )
        return response.content


def _check_same_page(api: bytes, baseline: str) -> None:
    """Both must return the same records with the same values, or the ratio means nothing."""
    theirs, ours = json.loads(api), json.loads(baseline)
    if theirs.get("results") != ours["results"]:
        got = theirs.get("results") or [{}]
        raise RuntimeError(
            "The API page differs from the hand-written one; first records:\n"
            f"  API: {json.dumps(got[0], sort_keys=True)}\n"
            f"  SQL: {json.dumps(ours['results'][0], sort_keys=True)}"
        )


def _timed(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def run(ctx: BenchContext) -> list[Measurement]:
    api, baseline = ApiPage(ctx), HandWrittenPage(ctx)
    try:
        _check_same_page(api(), baseline())
        for _ in range(WARM_UP):
            api()
            baseline()
        with CaptureQueriesContext(connection) as queries:
            api()
        # Counted now: the next request empties the log the count is read from.
        query_count = len(queries)
        api_ms, sql_ms = [], []
        for _ in range(ctx.repeat):  # alternately, so drift in the machine hits both alike
            api_ms.append(_timed(api))
            sql_ms.append(_timed(baseline))
    finally:
        baseline.close()
    label = f"GET page of {PAGE_SIZE} of {ctx.dataset.rows:,}"
    return [
        Measurement(
            "list",
            f"{label}, p50",
            percentile(api_ms, 0.5),
            "ms",
            baseline=percentile(sql_ms, 0.5),
            max_ratio=MAX_RATIO,
        ),
        Measurement(
            "list",
            f"{label}, p95",
            percentile(api_ms, 0.95),
            "ms",
            baseline=percentile(sql_ms, 0.95),
        ),
        Measurement("list", "SQL queries per page", query_count, "queries", baseline=1),
    ]
