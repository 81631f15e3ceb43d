"""create: ``--creates`` records one by one through the API, and all at once through the
record service's bulk create, against plain Django ORM ``bulk_create`` of the same rows.

The API and the service validate every value, check the linked records, write history rows
and publish events; the baseline only builds model instances and inserts them.
"""

from __future__ import annotations

import json
import time
from typing import Any

from django.utils import timezone

from cardfile.metamodel.records import record_bulk_create

from .context import BenchContext
from .dataset import ENTITY, as_json, row_values
from .report import Measurement

# The record service inserts in batches of this size; the baseline does the same.
ORM_BATCH_SIZE = 500
URL = f"/api/v1/records/{ENTITY}/"


def _orm_objects(ctx: BenchContext, rows: list[dict[str, Any]]) -> list[Any]:
    schema = ctx.dataset.schema()
    now, user_id = timezone.now(), ctx.dataset.user.pk
    by_slug = {f.slug: f for f in schema.fields}
    objects = []
    for values in rows:
        attributes: dict[str, Any] = {}
        for slug, value in values.items():
            f = by_slug[slug]
            if f.type == "money":
                amount, currency = value
                attributes[f.attname] = amount
                attributes[f"{f.attname}_cur"] = currency
            elif f.type == "link":
                attributes[f"{f.attname}_id"] = value
            else:
                attributes[f.attname] = value
        objects.append(
            schema.model(
                created_at=now,
                updated_at=now,
                created_by_id=user_id,
                updated_by_id=user_id,
                version=1,
                **attributes,
            )
        )
    return objects


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def run(ctx: BenchContext) -> list[Measurement]:
    count = ctx.creates
    # New row numbers, after the loaded ones: three sets, one per way of writing.
    first = ctx.dataset.rows + 1
    sets = [
        [row_values(i, ctx.dataset.first_client) for i in range(start, start + count)]
        for start in (first, first + count, first + 2 * count)
    ]

    started = time.perf_counter()
    objects = _orm_objects(ctx, sets[0])
    ctx.dataset.schema().model._default_manager.bulk_create(objects, batch_size=ORM_BATCH_SIZE)
    orm_rate = _rate(count, time.perf_counter() - started)

    bodies = [json.dumps(as_json(values)) for values in sets[1]]
    client = ctx.api_client()
    started = time.perf_counter()
    for body in bodies:
        response = client.post(URL, body, content_type="application/json", secure=True)
        if response.status_code != 201:
            raise RuntimeError(
                f"POST {URL} answered {response.status_code}: {response.content[:500]!r}"
            )
    api_rate = _rate(count, time.perf_counter() - started)

    data = [as_json(values) for values in sets[2]]
    started = time.perf_counter()
    record_bulk_create(entity=ENTITY, rows=data, user=ctx.dataset.user)
    bulk_rate = _rate(count, time.perf_counter() - started)

    return [
        Measurement(
            "create", f"{count:,} POSTs one by one (API)", api_rate, "rec/s", baseline=orm_rate
        ),
        Measurement(
            "create",
            f"{count:,} in one record_bulk_create",
            bulk_rate,
            "rec/s",
            baseline=orm_rate,
        ),
    ]
