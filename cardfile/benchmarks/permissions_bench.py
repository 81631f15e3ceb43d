"""permissions: a page of records read under a row rule, against the same page read by the owner.

The ``repair`` entity (``job`` is taken by the shared benchmark schema) gets a ``master`` user
field (indexed) and ``--rows`` rows spread over `MASTERS` users and five branches of uneven
size. The role ``technician`` may read repairs under the row rule `RULE`; its one user is a
master and works in the smallest branch, so the rule lets about a tenth of the rows through.

Timed alternately, after a warm-up, ``--repeat`` times each: what ``GET /api/v1/records/repair/``
asks of the database, framed as the request middleware frames it (schema version and rights
worked out once), that is `record_list` sliced as the paginator slices it (``page_size + 1``
rows), as the technician and as the owner (a superuser: no rule). Also a deep page, the page
with ``?count=true``, and the whole request through the API. The technician's page is checked
against hand-written SQL (same ids, same count) and its SQL must carry the rule, or the ratio
means nothing. Its plans (``EXPLAIN ANALYZE``) are printed above the table: which indexes they
use and how many rows they read for a page.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.db.models import QuerySet
from django.test import Client
from django.test.utils import CaptureQueriesContext

from cardfile.core.accounts import token_create
from cardfile.core.models import Branch
from cardfile.metamodel.access.rights import access_memo
from cardfile.metamodel.models import EntityRights, Role
from cardfile.metamodel.records.filtering import record_list
from cardfile.metamodel.schema.dynamic import EntitySchema, get_registry, pinned_schema
from cardfile.metamodel.schema.field_services import field_create
from cardfile.metamodel.schema.services import entity_create

from .context import BenchContext
from .dataset import STATES, insert_generated
from .report import Measurement, median, percentile

ENTITY = "repair"
MASTERS = 20
# Percent of the rows in each branch; the technician works in the first.
BRANCH_SHARES = (5, 30, 25, 20, 20)
RULE = "master = ME() OR branch = MY_BRANCH()"
PAGE_SIZE = 50
DEEP_PAGE = 100
MAX_RATIO = 1.3
WARM_UP = 5
COUNT_REPEAT = 10  # a count reads every visible row: fewer repetitions
URL = f"/api/v1/records/{ENTITY}/"
# A prime: row i's branch follows (i * 7919) mod it, its master i mod MASTERS; the two are
# independent, so the rule's two halves overlap as chance has it.
_SPREAD = 1009
_INDEX_NODES = ("Index Scan", "Index Only Scan", "Bitmap Index Scan")

# slug, type, options, indexed
FIELDS: tuple[tuple[str, str, dict[str, Any], bool], ...] = (
    ("title", "text", {}, False),
    ("state", "choice", {"choices": list(STATES)}, False),
    ("due", "date", {}, False),
    ("master", "user", {}, True),
)


@dataclass
class Setup:
    schema: EntitySchema
    owner: Any
    technician: Any
    branch_id: int  # the technician's branch
    master_column: str
    load_seconds: float

    @property
    def table(self) -> str:
        return self.schema.entity.table_name


# -- the data ----------------------------------------------------------------------------------


def _branch_of_row(branch_ids: list[int]) -> str:
    """SQL giving row ``i`` its branch, `BRANCH_SHARES` percent of the rows to each."""
    whens, cumulative = [], 0
    for branch_id, share in zip(branch_ids[:-1], BRANCH_SHARES[:-1], strict=True):
        cumulative += share
        limit = round(_SPREAD * cumulative / 100)
        whens.append(f"WHEN (i * 7919) % {_SPREAD} < {limit} THEN {int(branch_id)}")
    return f"CASE {' '.join(whens)} ELSE {int(branch_ids[-1])} END"


def _load_rows(
    schema: EntitySchema, rows: int, owner_id: int, masters: list[int], branches: list[int]
) -> None:
    """``rows`` repairs made by the server (``INSERT ... SELECT``), indexes built after."""
    meta = schema.model._meta

    def column(slug: str) -> str:
        return meta.get_field(schema.by_slug[slug].attname).column

    master_ids = ", ".join(str(int(pk)) for pk in masters)
    values = {
        "created_at": f"now() - ({int(rows)} - i) * interval '1 s'",
        "updated_at": f"now() - ({int(rows)} - i) * interval '1 s'",
        "created_by_id": str(int(owner_id)),
        "updated_by_id": str(int(owner_id)),
        "version": "1",
        "branch_id": _branch_of_row(branches),
        column("title"): "'Repair ' || i",
        column("state"): "(ARRAY['new','in_work','waiting','ready','issued'])[1 + (i * 13) % 5]",
        column("due"): "date '2023-01-01' + ((i * 7877) % 1095)::int",
        column("master"): f"(ARRAY[{master_ids}])[1 + i % {len(masters)}]",
    }
    insert_generated(schema.entity.table_name, values, rows)


def build(ctx: BenchContext) -> Setup:
    """The entity, the masters, the branches, the technician's role, then the rows."""
    owner = ctx.dataset.user
    entity_create(slug=ENTITY, label="Repair", label_plural="Repairs", user=owner)
    for slug, type_name, options, indexed in FIELDS:
        field_create(
            entity=ENTITY,
            slug=slug,
            label=slug.capitalize(),
            type=type_name,
            options=options,
            indexed=indexed,
            user=owner,
        )
    schema = get_registry().entity(ENTITY)
    user_model = get_user_model()
    masters = [
        user_model.objects.create_user(username=f"master{n:02d}") for n in range(1, MASTERS + 1)
    ]
    branches = [Branch.objects.create(name=f"Branch {n}") for n in range(1, 6)]
    technician = masters[0]
    branches[0].users.add(technician)
    role = Role.objects.create(group=Group.objects.create(name="technician"), label="Technician")
    EntityRights.objects.create(role=role, entity=schema.entity, can_read=True, rule=RULE)
    technician.groups.add(role.group)

    started = time.perf_counter()
    _load_rows(schema, ctx.rows, owner.pk, [u.pk for u in masters], [b.pk for b in branches])
    return Setup(
        schema=schema,
        owner=owner,
        technician=technician,
        branch_id=branches[0].pk,
        master_column=schema.model._meta.get_field(schema.by_slug["master"].attname).column,
        load_seconds=time.perf_counter() - started,
    )


# -- what is timed -----------------------------------------------------------------------------


def _listed(user: Any) -> QuerySet:
    return record_list(ENTITY, {}, user=user)


def page_reader(user: Any, page: int = 1, *, count: bool = False) -> Callable[[], list[Any]]:
    """The database's part of ``GET /api/v1/records/repair/?page=<page>`` for ``user``."""
    start = (page - 1) * PAGE_SIZE

    def read() -> list[Any]:
        with pinned_schema(), access_memo():
            queryset = _listed(user)
            rows = list(queryset[start : start + PAGE_SIZE + 1])
            if count:
                queryset.count()
        return rows

    return read


def api_reader(user: Any) -> Callable[[], bytes]:
    """The whole request through the API (Django's test client, token authentication)."""
    _token, token = token_create(user=user, name="bench")
    client = Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Token {token}")

    def read() -> bytes:
        response = client.get(URL, {"page_size": str(PAGE_SIZE)}, secure=True)
        if response.status_code != 200:
            raise RuntimeError(
                f"GET {URL} answered {response.status_code}: {response.content[:500]!r}"
            )
        return response.content

    return read


def _timed(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def _alternately(
    technician: Callable[[], Any], owner: Callable[[], Any], repeat: int
) -> tuple[list[float], list[float]]:
    """Milliseconds of each, alternately (drift in the machine hits both alike)."""
    for _ in range(min(WARM_UP, repeat)):
        technician()
        owner()
    technician_ms, owner_ms = [], []
    for _ in range(repeat):
        technician_ms.append(_timed(technician))
        owner_ms.append(_timed(owner))
    return technician_ms, owner_ms


# -- checks ------------------------------------------------------------------------------------


def _hand_written(setup: Setup) -> tuple[list[int], int]:
    """The technician's first page of ids and their row count, by hand-written SQL."""
    quote = connection.ops.quote_name
    where = (
        f"FROM {quote(setup.table)} WHERE deleted_at IS NULL "  # noqa: S608 - names from ids
        f"AND ({quote(setup.master_column)} = %s OR branch_id = %s)"
    )
    params = [setup.technician.pk, setup.branch_id]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id {where} ORDER BY id DESC LIMIT %s", [*params, PAGE_SIZE])
        ids = [row[0] for row in cursor.fetchall()]
        cursor.execute(f"SELECT count(*) {where}", params)
        return ids, cursor.fetchone()[0]


def check_rule_applied(setup: Setup) -> tuple[int, int]:
    """The technician's list carries the rule in its SQL and returns what the rule allows;
    the owner's carries no rule. (visible rows, all rows)"""
    with pinned_schema(), access_memo():
        technician = _listed(setup.technician)
        owner = _listed(setup.owner)
        technician_sql, owner_sql = str(technician.query), str(owner.query)
        for needle in (setup.master_column, "branch_id"):
            if f'"{needle}"' not in technician_sql.split(" WHERE ", 1)[-1]:
                raise RuntimeError(
                    f"record_list does not apply the row rule {RULE!r}: no {needle} in the "
                    f"technician's WHERE:\n{technician_sql}"
                )
            if f'"{needle}"' in owner_sql.split(" WHERE ", 1)[-1]:
                raise RuntimeError(f"the owner's list is filtered on {needle}:\n{owner_sql}")
        page = [row.pk for row in technician[:PAGE_SIZE]]
        visible, total = technician.count(), owner.count()
    ids, count = _hand_written(setup)
    if page != ids or visible != count:
        raise RuntimeError(
            f"The technician's list differs from the rule by hand: {visible:,} rows, first "
            f"ids {page[:5]}; expected {count:,} rows, first ids {ids[:5]}"
        )
    return visible, total


# -- plans -------------------------------------------------------------------------------------


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", ()):
        yield from _nodes(child)


def _describe(node: dict[str, Any]) -> str:
    """``Index Scan Backward using cf_e3_pkey (51 rows, 470 removed by filter)``; rows summed
    over the node's loops (parallel workers report their share each)."""
    kind = node["Node Type"]
    if node.get("Partial Mode") and node["Partial Mode"] != "Simple":
        kind = f"{node['Partial Mode']} {kind}"
    if node.get("Parallel Aware"):
        kind = f"Parallel {kind}"
    if node.get("Scan Direction") == "Backward":
        kind += " Backward"
    if "Index Name" in node:
        kind += f" using {node['Index Name']}"
    loops = node.get("Actual Loops", 1) or 1
    details = [f"{node.get('Actual Rows', 0) * loops:,.0f} rows"]
    if node.get("Rows Removed by Filter"):
        details.append(f"{node['Rows Removed by Filter'] * loops:,.0f} removed by filter")
    if node.get("Sort Method"):
        details.append(node["Sort Method"])
    return f"{kind} ({', '.join(details)})"


@dataclass
class Plan:
    summary: str
    indexes: list[str]
    milliseconds: float

    @property
    def uses_index(self) -> bool:
        return bool(self.indexes)


def _explain(sql: str) -> Plan:
    """``EXPLAIN ANALYZE`` of one statement (its values written in), summarised."""
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}")
        raw = cursor.fetchone()[0]
    document = (json.loads(raw) if isinstance(raw, str) else raw)[0]
    nodes = list(_nodes(document["Plan"]))
    indexes = [n["Index Name"] for n in nodes if n["Node Type"] in _INDEX_NODES]
    summary = " > ".join(_describe(n) for n in nodes)
    return Plan(summary, indexes, document.get("Execution Time", 0.0))


def _statements(read: Callable[[], Any], table: str) -> list[str]:
    """The statements ``read`` sends that read ``table``, as the server got them."""
    with CaptureQueriesContext(connection) as queries:
        read()
    return [q["sql"] for q in queries if f'FROM "{table}"' in q["sql"]]


@dataclass
class Statements:
    """What one user's page sends to the repair table, values written in."""

    page: str
    deep_page: str
    count: str

    @classmethod
    def of(cls, user: Any, table: str) -> Statements:
        page, count = _statements(page_reader(user, count=True), table)
        (deep_page,) = _statements(page_reader(user, DEEP_PAGE), table)
        return cls(page, deep_page, count)


def sql_reader(connection: Any, statement: str) -> Callable[[], list[Any]]:
    """``statement`` alone through a plain psycopg connection."""

    def read() -> list[Any]:
        return connection.execute(statement).fetchall()

    return read


def table_indexes(table: str) -> list[str]:
    """The table's indexes, as the columns they cover: ``(branch_id)``, ``(f3, id)``."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexrelid::regclass::text, "
            "array(SELECT pg_get_indexdef(indexrelid, k + 1, true) "
            "      FROM generate_subscripts(indkey, 1) AS k ORDER BY k) "
            "FROM pg_index WHERE indrelid = %s::regclass ORDER BY indexrelid",
            [table],
        )
        return [f"({', '.join(columns)})" for _name, columns in cursor.fetchall()]


# -- the scenario ------------------------------------------------------------------------------


def _report_schema(setup: Setup, visible: int, total: int) -> None:
    print(
        f"data: {total:,} repairs for the permissions scenario loaded and analyzed in "
        f"{setup.load_seconds:.1f} s; the rule {RULE!r} lets the technician see {visible:,} "
        f"({visible / max(total, 1):.1%})",
        flush=True,
    )
    indexes = table_indexes(setup.table)
    print(f"indexes of the repair table: {', '.join(indexes)}", flush=True)
    if not any(i == "(branch_id)" or i.startswith("(branch_id,") for i in indexes):
        print("  no index leads with branch_id: MY_BRANCH() rules cannot use one", flush=True)


def _report_plans(plans: dict[str, Plan]) -> None:
    for name, plan in plans.items():
        used = ", ".join(dict.fromkeys(plan.indexes)) or "NO INDEX"
        print(
            f"plan of the {name} ({plan.milliseconds:.2f} ms; indexes: {used}): {plan.summary}",
            flush=True,
        )


def run(ctx: BenchContext) -> list[Measurement]:
    setup = build(ctx)
    visible, total = check_rule_applied(setup)
    _report_schema(setup, visible, total)
    technician, owner = setup.technician, setup.owner
    ours, theirs = Statements.of(technician, setup.table), Statements.of(owner, setup.table)
    _report_plans(
        {
            "owner's page 1": _explain(theirs.page),
            "technician's page 1": _explain(ours.page),
            f"technician's page {DEEP_PAGE}": _explain(ours.deep_page),
            "technician's count": _explain(ours.count),
        }
    )

    with CaptureQueriesContext(connection) as queries:
        page_reader(technician)()
    technician_queries = len(queries)
    with CaptureQueriesContext(connection) as queries:
        page_reader(owner)()
    owner_queries = len(queries)

    first = _alternately(page_reader(technician), page_reader(owner), ctx.repeat)
    plain = ctx.plain_connection()
    try:
        sql_alone = _alternately(
            sql_reader(plain, ours.page), sql_reader(plain, theirs.page), ctx.repeat
        )
    finally:
        plain.close()
    deep = _alternately(
        page_reader(technician, DEEP_PAGE), page_reader(owner, DEEP_PAGE), ctx.repeat
    )
    counted = _alternately(
        page_reader(technician, count=True),
        page_reader(owner, count=True),
        min(ctx.repeat, COUNT_REPEAT),
    )
    api = _alternately(api_reader(technician), api_reader(owner), ctx.repeat)

    def line(measure: str, pair: tuple[list[float], list[float]], **target: Any) -> Measurement:
        return Measurement(
            "permissions", measure, median(pair[0]), "ms", baseline=median(pair[1]), **target
        )

    return [
        line(
            f"technician vs owner, page of {PAGE_SIZE} of {total:,}, median",
            first,
            max_ratio=MAX_RATIO,
        ),
        Measurement(
            "permissions",
            "the same, p95",
            percentile(first[0], 0.95),
            "ms",
            baseline=percentile(first[1], 0.95),
        ),
        line("the same, its SQL alone through psycopg, median", sql_alone),
        line(f"page {DEEP_PAGE} (offset {(DEEP_PAGE - 1) * PAGE_SIZE:,}), median", deep),
        line(f"page 1 with ?count=true, median (n={len(counted[0])})", counted),
        line("GET page 1 through the API, median", api),
        Measurement(
            "permissions",
            "SQL queries per page",
            technician_queries,
            "queries",
            baseline=owner_queries,
        ),
    ]
