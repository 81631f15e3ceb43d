"""The two back ends agree: random well-typed formulas over random records give the same value
in the Python evaluator and in SQL, on PostgreSQL and on SQLite.

The fast tests (no database) hold the generator to its promise: its formulas type-check to the
asked type, and the evaluator gives a value of that type or, rarely, a `FormulaError`. The
differential test builds the schema of `strategies` through the schema services, inserts random
records through the record service, and compares `formula_values_sql` with
`formula_values_python` record by record. Hypothesis runs derandomized, so CI is stable; a
failure prints the formula, the record and both values, shrunk to a small example.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings as dj_settings
from django.db import connection, transaction
from hypothesis import HealthCheck, Phase, find, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from cardfile.formula_engine import FormulaError, Money, check, evaluate
from cardfile.formula_engine import types as t
from cardfile.formula_engine.functions import REGISTRY
from cardfile.metamodel.formulas import (
    formula_check,
    formula_values_python,
    formula_values_sql,
)
from cardfile.metamodel.records import record_bulk_create
from cardfile.metamodel.schema.services import entity_create, field_create
from tests.formula_engine.strategies import (
    CLIENT_ENTITY,
    CURRENCY,
    ENTITY,
    KIND_CHOICES,
    LINE_ENTITY,
    NOW,
    SCHEMA,
    TAG_CHOICES,
    TARGET_TYPES,
    formulas,
    record_context,
    records,
)

pytestmark = pytest.mark.embedded

K = t.Kind
# At most this share of (formula, record) pairs may end in a FormulaError in Python: more means
# the generator writes formulas that do not evaluate, and the comparison tests little.
MAX_SKIPPED = 0.02

# Derandomized, so that CI runs the same examples every time.
_STABLE = hypothesis_settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

EXPECTED_KINDS = {
    "number": {K.INTEGER, K.DECIMAL, K.PERCENT},
    "money": {K.MONEY},
    "percent": {K.PERCENT},
    "text": {K.TEXT, K.CHOICE},
    "boolean": {K.BOOLEAN},
    "date": {K.DATE},
    "datetime": {K.DATETIME},
    "duration": {K.DURATION},
}
_RUNTIME_TYPES = {
    K.INTEGER: Decimal,
    K.DECIMAL: Decimal,
    K.PERCENT: Decimal,
    K.MONEY: Money,
    K.TEXT: str,
    K.CHOICE: str,
    K.BOOLEAN: bool,
    K.DATE: date,
    K.DATETIME: datetime,
    K.DURATION: timedelta,
}

FAST_CLIENTS = {
    1: {"name": "Ёжик Иван", "rate": "1.25"},
    2: {"name": "  Élan  ", "rate": "-3.50"},
    3: {"name": None, "rate": None},
}


def fits(kind_type: t.FormulaType, value: Any) -> bool:
    """Whether a runtime value is of the checked type (blank fits every type)."""
    if value is None:
        return True
    expected = _RUNTIME_TYPES[kind_type.kind]
    if kind_type.kind is K.DATE and isinstance(value, datetime):
        return False
    if kind_type.kind is K.MONEY:
        return isinstance(value, Money) and value.currency == kind_type.currency
    return isinstance(value, expected) and not (expected is Decimal and isinstance(value, bool))


# --- the generator, without a database -----------------------------------------------------------


_OPERATORS = {
    "+": r" \+ ",
    "-": r" - ",
    "*": r" \* ",
    "/": r" / ",
    "^": r" \^ ",
    "&": r" & ",
    "%": r"%",
    "=": r" = ",
    "<>": r" <> ",
    "<": r" < ",
    "<=": r" <= ",
    ">": r" > ",
    ">=": r" >= ",
    "AND": r" AND ",
    "OR": r" OR ",
    "NOT": r"\(NOT ",
    "unary -": r"\(-[a-zA-Z(]",
    "unary +": r"\(\+",
    'quote ""': r'[^(,] ?""[^,)]',
    "link path": r"client\.name|client\.rate",
}
_CONSTRUCTS = {f"{name}()": rf"(?<![A-Z_]){name}\(" for name in REGISTRY} | _OPERATORS


def test_generated_formulas_check_to_the_asked_type_and_use_everything():
    seen: Counter = Counter()

    @hypothesis_settings(_STABLE, max_examples=2000)
    @given(
        st.sampled_from(TARGET_TYPES).flatmap(
            lambda target: st.tuples(st.just(target), formulas(target))
        )
    )
    def check_formula(example):
        target, text = example
        checked = check(text, SCHEMA)
        assert checked.type.kind in EXPECTED_KINDS[target], f"{text} is {checked.type}"
        seen.update(name for name, pattern in _CONSTRUCTS.items() if re.search(pattern, text))

    check_formula()

    assert not [name for name in _CONSTRUCTS if not seen[name]], seen


def test_python_evaluator_gives_a_value_of_the_checked_type():
    stats: Counter = Counter()

    @hypothesis_settings(_STABLE, max_examples=200)
    @given(formulas(), st.lists(records(list(FAST_CLIENTS)), min_size=4, max_size=4))
    def evaluate_on_records(text, rows):
        checked = check(text, SCHEMA)
        for row in rows:
            try:
                value = evaluate(checked, record_context(row, FAST_CLIENTS))
            except FormulaError:
                stats["error"] += 1
                continue
            stats["value"] += 1
            assert fits(checked.type, value), (
                f"{text}\nchecked as {checked.type}, evaluated to {value!r}\n"
                f"record: {json.dumps(row, ensure_ascii=False)}"
            )

    evaluate_on_records()

    total = stats["value"] + stats["error"]
    assert stats["error"] <= MAX_SKIPPED * total, stats


# --- the two back ends, on the database -------------------------------------------------------


def build_item_schema() -> None:
    """client(name, rate) <- item(every formula type, client, lines) -> line(qty, ...)."""
    entity_create(slug=CLIENT_ENTITY, label="Client")
    field_create(entity=CLIENT_ENTITY, slug="name", label="Name", type="text")
    field_create(
        entity=CLIENT_ENTITY,
        slug="rate",
        label="Rate",
        type="decimal",
        options={"decimal_places": 2},
    )
    entity_create(slug=LINE_ENTITY, label="Line")
    for slug, kind, options in [
        ("qty", "integer", {}),
        ("amount", "money", {"currency": CURRENCY}),
        ("tag", "choice", {"choices": list(TAG_CHOICES)}),
        ("due", "date", {}),
    ]:
        field_create(entity=LINE_ENTITY, slug=slug, label=slug, type=kind, options=options)
    entity_create(slug=ENTITY, label="Item")
    for slug, kind, options in [
        ("n_int", "integer", {}),
        ("n_dec", "decimal", {"decimal_places": 2}),
        ("pct", "percent", {}),
        ("price", "money", {"currency": CURRENCY}),
        ("title", "text", {}),
        ("note", "text", {}),
        ("kind", "choice", {"choices": list(KIND_CHOICES)}),
        ("flag", "boolean", {}),
        ("day", "date", {}),
        ("moment", "datetime", {}),
        ("span", "duration", {}),
        ("client", "link", {"target": CLIENT_ENTITY}),
        ("lines", "child_table", {"target": LINE_ENTITY}),
    ]:
        field_create(entity=ENTITY, slug=slug, label=slug, type=kind, options=options)


DB_CLIENTS = [
    {"name": "Ёжик Иван", "rate": "1.25"},
    {"name": "  Élan  dupré ", "rate": "-3.50"},
    {},
]


def fixed_items(client_ids: list[int]) -> list[dict[str, Any]]:
    """Edge cases: every field blank; one blank line; a link to a client whose fields are blank."""
    return [{}, {"lines": [{}]}, {"client": client_ids[2]}]


def _diverse(rows: list[dict[str, Any]]) -> bool:
    with_lines = sum(bool(row["lines"]) for row in rows)
    distinct = {json.dumps(row, sort_keys=True) for row in rows}
    return with_lines >= len(rows) // 2 and len(distinct) == len(rows)


def random_items(client_ids: list[int], count: int = 27) -> list[dict[str, Any]]:
    """The same ``count`` random items in every run (derandomized), all different."""
    return find(
        st.lists(records(client_ids), min_size=count, max_size=count),
        _diverse,
        settings=hypothesis_settings(
            derandomize=True,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        ),
    )


def same_number(python: Decimal, sql: Decimal) -> bool:
    """Numbers agree. PostgreSQL computes in exact numerics: equal by value (2.50 = 2.5).
    SQLite stores decimals as binary doubles, so there a number read back may differ from the
    exact one in its last bits: equal as doubles, or within a relative 1e-12."""
    if connection.vendor != "sqlite":
        return python == sql
    a, b = float(python), float(sql)
    return a == b or math.isclose(a, b, rel_tol=1e-12)


def same_value(python: Any, sql: Any) -> bool:
    """Runtime values agree: numbers as above, money by amount and currency, datetimes as
    instants, everything else exactly and of the same type."""
    if python is None or sql is None:
        return python is None and sql is None
    if isinstance(python, Money) or isinstance(sql, Money):
        return (
            isinstance(python, Money)
            and isinstance(sql, Money)
            and python.currency == sql.currency
            and same_number(python.amount, sql.amount)
        )
    if isinstance(python, bool) or isinstance(sql, bool):
        return type(python) is type(sql) and python == sql
    if isinstance(python, Decimal) and isinstance(sql, Decimal):
        return same_number(python, sql)
    if isinstance(python, datetime) and isinstance(sql, datetime):
        return python == sql  # aware datetimes compare as instants
    return type(python) is type(sql) and python == sql


class Backends:
    """Both back ends over the items ``ids``, at `NOW`, asked by ``user``."""

    def __init__(self, ids: list[int], user: Any) -> None:
        self.ids, self.user = ids, user

    def python(self, checked) -> dict[int, Any]:
        """Values by id; an item on which the evaluator refuses maps to its FormulaError."""
        try:
            return self._python(checked, self.ids)
        except FormulaError:
            pass
        values: dict[int, Any] = {}
        for pk in self.ids:
            try:
                values |= self._python(checked, [pk])
            except FormulaError as error:
                values[pk] = error
        return values

    def _python(self, checked, ids: list[int]) -> dict[int, Any]:
        return formula_values_python(
            entity=ENTITY, formula=checked, ids=ids, user=self.user, now=NOW
        )

    def sql(self, checked) -> dict[int, Any] | Exception:
        """Values by id, or the error the database (or the compiler) raised."""
        try:
            with transaction.atomic():  # a database error must not break the next example
                return formula_values_sql(
                    entity=ENTITY, formula=checked, ids=self.ids, user=self.user, now=NOW
                )
        except Exception as error:  # noqa: BLE001 - reported as a disagreement
            return error


def _report(text: str, row: dict[str, Any], client: dict | None, python: Any, sql: Any) -> str:
    return (
        f"back ends disagree on {connection.vendor} (time zone {dj_settings.TIME_ZONE})\n"
        f"formula: {text}\n"
        f"record:  {json.dumps(row, ensure_ascii=False)}\n"
        f"client:  {json.dumps(client, ensure_ascii=False)}\n"
        f"python:  {python!r}\n"
        f"sql:     {sql!r}"
    )


# UTC, and a zone with a half-hour offset and summer time: calendar parts of datetimes (YEAR,
# TODAY, DATEADD by months, their text) are seen in the installation's time zone.
@pytest.mark.parametrize(("time_zone", "examples"), [("UTC", 400), ("America/St_Johns", 200)])
def test_sql_and_python_agree_on_random_formulas(schema_db, owner, settings, time_zone, examples):
    # given: the schema, three clients and thirty items (with up to five lines each)
    settings.TIME_ZONE = time_zone
    build_item_schema()
    client_ids = [obj.pk for obj in record_bulk_create(entity=CLIENT_ENTITY, rows=DB_CLIENTS)]
    clients = dict(zip(client_ids, DB_CLIENTS, strict=True))
    rows = fixed_items(client_ids) + random_items(client_ids)
    ids = [obj.pk for obj in record_bulk_create(entity=ENTITY, rows=rows)]
    items = dict(zip(ids, rows, strict=True))
    backends = Backends(ids, owner)
    stats: Counter = Counter()

    @hypothesis_settings(_STABLE, max_examples=examples)
    @given(formulas())
    def agree(text):
        # when: both back ends compute the formula for every item
        checked = formula_check(entity=ENTITY, expression=text)
        python, sql = backends.python(checked), backends.sql(checked)
        # then: every item on which Python gives a value has the same value in SQL
        for pk in ids:
            if isinstance(python[pk], FormulaError):
                stats["skipped"] += 1
                continue
            stats["compared"] += 1
            stats["blank"] += python[pk] is None
            got = sql if isinstance(sql, Exception) else sql.get(pk)
            row = items[pk]
            assert same_value(python[pk], got), _report(
                text, row, clients.get(row.get("client")), python[pk], got
            )

    agree()

    total = stats["compared"] + stats["skipped"]
    assert stats["skipped"] <= MAX_SKIPPED * total, stats
    assert stats["blank"] <= stats["compared"] / 2, f"mostly blank values compared: {stats}"
