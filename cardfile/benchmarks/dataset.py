"""The benchmark schema and its rows.

Two entities built through the schema services: ``client`` (the link target, 1,000 records) and
``job`` (15 fields of mixed types, one of them a link to ``client``); the formula benchmark adds
``sale`` (a few of job's fields and a formula over them) with rows of its own. Rows are made by
PostgreSQL itself (``INSERT ... SELECT ... FROM generate_series``) into the tables the services
made, then ANALYZEd: a million rows load in seconds. Values are a function of the row number,
so two runs hold the same data.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils.duration import duration_iso_string

from cardfile.metamodel.schema.dynamic import EntitySchema, get_registry
from cardfile.metamodel.schema.services import entity_create, field_create

TARGET = "client"
ENTITY = "job"
CLIENTS = 1000
STATES = ("new", "in_work", "waiting", "ready", "issued")
# The list benchmark filters on one indexed field and sorts on another.
FILTER_FIELD, FILTER_VALUE = "state", "ready"
SORT_FIELD = "due"
# The schema benchmark converts this integer field to decimal.
CONVERTED_FIELD = "code"
# The formula benchmark's table: these fields of job (two of them indexed) and a formula.
SALES = "sale"
SALE_FIELDS = ("title", "qty", "weight", "price", "discount", "paid", "due", "state")
START = dt.date(2023, 1, 1)
DAYS = 1095
START_MOMENT = dt.datetime(2023, 1, 1, tzinfo=dt.UTC)

# slug, type, options, indexed
FIELDS: tuple[tuple[str, str, dict[str, Any], bool], ...] = (
    ("title", "text", {}, False),
    ("notes", "long_text", {}, False),
    ("qty", "integer", {}, False),
    ("weight", "decimal", {"decimal_places": 3}, False),
    ("price", "money", {"currency": "EUR"}, False),
    ("discount", "percent", {}, False),
    ("paid", "boolean", {}, False),
    ("due", "date", {}, True),
    ("closed_at", "datetime", {}, False),
    ("state", "choice", {"choices": list(STATES)}, True),
    ("email", "email", {}, False),
    ("phone", "phone", {}, False),
    ("labour", "duration", {}, False),
    ("client", "link", {"target": TARGET}, False),
    ("code", "integer", {}, False),
)

# The value of each field for row ``i`` (a bigint), in SQL; ``{name}`` takes a number of ours.
# Each expression has a Python twin in `row_values`, so created records look like loaded ones.
_SQL_VALUES: dict[str, str] = {
    "title": "'Job ' || i",
    "notes": (
        "CASE WHEN i % 3 = 0 THEN NULL "
        "ELSE 'Replace the screen of order ' || i || ', then check the battery.' END"
    ),
    "qty": "1 + (i * 7919) % 20",
    "weight": "((i * 104729) % 100000) / 1000.0",
    "price": "((i * 7907) % 50000) / 100.0",
    "price_cur": "'EUR'",
    "discount": "(i * 31) % 21",
    "paid": "i % 2 = 0",
    "due": "date '2023-01-01' + ((i * 7877) % 1095)::int",
    "closed_at": (
        "CASE WHEN i % 4 = 0 THEN NULL "
        "ELSE timestamptz '2023-01-01 00:00:00+00' + ((i * 7867) % 94608000) * interval '1 s' END"
    ),
    "state": "(ARRAY['new','in_work','waiting','ready','issued'])[1 + (i * 13) % 5]",
    "email": "'client' || (i % 1000) || '@example.com'",
    "phone": "'+4930' || lpad(((i * 7853) % 100000000)::text, 8, '0')",
    "labour": "((i * 37) % 480) * interval '1 minute'",
    "client": "{first_client} + (i * 7841) % {clients}",
    "code": "(i * 7829) % 100000",
}


@dataclass
class Dataset:
    """The schema and the rows loaded into it."""

    user: Any
    rows: int
    first_client: int
    clients: int
    load_seconds: float = 0.0

    def schema(self, slug: str = ENTITY) -> EntitySchema:
        return get_registry().entity(slug)


def build_schema(*, username: str = "bench") -> Any:
    """The superuser the benchmarks act as, and both entities with their fields."""
    user = get_user_model().objects.create_superuser(username=username, password=None)
    entity_create(slug=TARGET, label="Client", label_plural="Clients", user=user)
    field_create(entity=TARGET, slug="name", label="Name", type="text", user=user)
    entity_create(slug=ENTITY, label="Job", label_plural="Jobs", user=user)
    for slug, type_name, options, indexed in FIELDS:
        field_create(
            entity=ENTITY,
            slug=slug,
            label=slug.replace("_", " ").capitalize(),
            type=type_name,
            options=options,
            indexed=indexed,
            user=user,
        )
    return user


def _columns(schema: EntitySchema) -> dict[str, str]:
    """Field slug (``price_cur`` for a money field's currency) -> physical column."""
    meta = schema.model._meta
    columns: dict[str, str] = {}
    for f in schema.fields:
        columns[f.slug] = meta.get_field(f.attname).column
        if f.type == "money":
            columns[f"{f.slug}_cur"] = meta.get_field(f"{f.attname}_cur").column
    return columns


def _insert_series(schema: EntitySchema, values: dict[str, str], **numbers: int) -> None:
    """INSERT ... SELECT over ``generate_series(1, rows)``; ``numbers`` are ints of ours,
    formatted into the statement (no parameters, so ``%`` stays SQL's modulo)."""
    columns = _columns(schema)
    system = {
        "created_at": "now() - ({rows} - i) * interval '1 s'",
        "updated_at": "now() - ({rows} - i) * interval '1 s'",
        "created_by_id": "{user}",
        "updated_by_id": "{user}",
        "version": "1",
    }
    names = [*system, *(columns[slug] for slug in values)]
    numbers = {name: int(number) for name, number in numbers.items()}
    expressions = [e.format(**numbers) for e in (*system.values(), *values.values())]
    insert_generated(
        schema.entity.table_name, dict(zip(names, expressions, strict=True)), numbers["rows"]
    )


def insert_generated(table: str, values: dict[str, str], rows: int) -> None:
    """``INSERT INTO table (columns) SELECT expressions FROM generate_series(1, rows) AS s(i)``
    with the indexes built once afterwards, then ANALYZE. Column names come from field ids and
    the expressions are the benchmark's own SQL, never user text."""
    quote = connection.ops.quote_name
    statement = (
        f"INSERT INTO {quote(table)} "  # noqa: S608 - names from ids only
        f"({', '.join(quote(name) for name in values)}) "
        f"SELECT {', '.join(values.values())} "
        f"FROM generate_series(1::bigint, {int(rows)}) AS s(i)"
    )
    with connection.cursor() as cursor, _without_indexes(table):
        cursor.execute(statement)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {quote(table)}")


@contextmanager
def _without_indexes(table: str) -> Iterator[None]:
    """Drop the table's secondary indexes and foreign keys for the block, then make them again
    as they were: one index build and one join per key beat a million row-by-row updates and
    deferred trigger checks (a bulk load's usual trick; the definitions come from the catalog).
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype = 'f'",
            [table],
        )
        foreign_keys = cursor.fetchall()
        cursor.execute(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) "
            "FROM pg_index i LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid "
            "WHERE i.indrelid = %s::regclass AND c.oid IS NULL",
            [table],
        )
        indexes = cursor.fetchall()
        quote = connection.ops.quote_name
        for name, _definition in foreign_keys:
            cursor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}")
        for name, _definition in indexes:
            cursor.execute(f"DROP INDEX {quote(name)}")
    yield
    with connection.cursor() as cursor:
        for _name, definition in indexes:
            cursor.execute(definition)
        for name, definition in foreign_keys:
            cursor.execute(f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} {definition}")


def load_rows(user: Any, rows: int) -> Dataset:
    """``rows`` jobs and their clients, inserted and analyzed by the server."""
    started = time.perf_counter()
    registry = get_registry()
    clients = registry.entity(TARGET)
    _insert_series(clients, {"name": "'Client ' || i"}, rows=CLIENTS, user=user.pk)
    first_client = clients.model._base_manager.order_by("pk").values_list("pk", flat=True)[0]
    _insert_series(
        registry.entity(ENTITY),
        _SQL_VALUES,
        rows=rows,
        user=user.pk,
        first_client=first_client,
        clients=CLIENTS,
    )
    return Dataset(
        user=user,
        rows=rows,
        first_client=first_client,
        clients=CLIENTS,
        load_seconds=time.perf_counter() - started,
    )


def build_sales(user: Any, *, formula: str, expression: str) -> None:
    """The ``sale`` entity: job's number fields, two indexed ones, and the formula field
    ``formula`` computing ``expression``; made empty, so the recompute its creation queues has
    nothing to do (`load_sales` then adds rows whose formula column is not computed yet)."""
    entity_create(slug=SALES, label="Sale", label_plural="Sales", user=user)
    for slug, type_name, options, indexed in FIELDS:
        if slug in SALE_FIELDS:
            field_create(
                entity=SALES,
                slug=slug,
                label=slug.capitalize(),
                type=type_name,
                options=options,
                indexed=indexed,
                user=user,
            )
    field_create(
        entity=SALES,
        slug=formula,
        label=formula.capitalize(),
        type="formula",
        options={"expression": expression},
        user=user,
    )


def load_sales(user: Any, rows: int) -> float:
    """``rows`` sales (values as job's rows have them), inserted and analyzed; the seconds."""
    started = time.perf_counter()
    values = {slug: _SQL_VALUES[slug] for slug in (*SALE_FIELDS, "price_cur")}
    _insert_series(get_registry().entity(SALES), values, rows=rows, user=user.pk)
    return time.perf_counter() - started


def row_values(i: int, first_client: int) -> dict[str, Any]:
    """The Python values of row ``i`` by field slug, as `_SQL_VALUES` computes them."""
    return {
        "title": f"Job {i}",
        "notes": None
        if i % 3 == 0
        else f"Replace the screen of order {i}, then check the battery.",
        "qty": 1 + (i * 7919) % 20,
        "weight": Decimal((i * 104729) % 100000) / 1000,
        "price": (Decimal((i * 7907) % 50000) / 100, "EUR"),
        "discount": Decimal((i * 31) % 21),
        "paid": i % 2 == 0,
        "due": START + dt.timedelta(days=(i * 7877) % DAYS),
        "closed_at": None
        if i % 4 == 0
        else START_MOMENT + dt.timedelta(seconds=(i * 7867) % (DAYS * 86400)),
        "state": STATES[(i * 13) % 5],
        "email": f"client{i % 1000}@example.com",
        "phone": f"+4930{(i * 7853) % 100000000:08d}",
        "labour": dt.timedelta(minutes=(i * 37) % 480),
        "client": first_client + (i * 7841) % CLIENTS,
        "code": (i * 7829) % 100000,
    }


def as_json(values: dict[str, Any]) -> dict[str, Any]:
    """Row values as the record API takes them."""
    data: dict[str, Any] = {}
    for slug, value in values.items():
        if value is None or isinstance(value, bool | int | str):
            data[slug] = value
        elif isinstance(value, tuple):
            data[slug] = {"amount": f"{value[0]:.2f}", "currency": value[1]}
        elif isinstance(value, Decimal):
            data[slug] = str(value)
        elif isinstance(value, dt.timedelta):
            data[slug] = duration_iso_string(value)
        else:
            data[slug] = value.isoformat()
    return data
