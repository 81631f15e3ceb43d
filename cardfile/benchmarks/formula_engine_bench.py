"""formula: the engine alone, without the database.

Throughput of the Python evaluator (previews, conditions) on a 10-node formula over varied
records, against the same arithmetic written as a plain Python function over Decimals; and the
time to parse and type-check a 100-node formula against the benchmark's ``job`` entity and to
compile it to SQL text, against Python's own ``compile()`` of the same expression written in
Python (a compiler of similar text, timed on the same machine).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from cardfile.formula_engine import FieldInfo, Money, RecordContext, ast, check, evaluate
from cardfile.formula_engine import types as t
from cardfile.formula_engine.sql import compile_formula
from cardfile.metamodel.formulas.schema_view import EntitySchemaView, RowScope
from cardfile.metamodel.formulas.selectors import compile_context
from cardfile.metamodel.schema.dynamic import get_registry

from .context import BenchContext
from .dataset import ENTITY
from .report import Measurement, median

EVALUATIONS = 20_000
RECORDS = 1000
COMPILES = 20
NOW = datetime(2024, 1, 31, 10, 30, tzinfo=UTC)

SMALL = "ROUND(qty * price * (1 - discount) * weight)"  # 10 nodes


def small_by_hand(values: dict[str, Any]) -> Decimal:
    """`SMALL` as plain Python: ROUND rounds half away from zero, as ROUND_HALF_UP does."""
    amount = values["qty"] * values["price"] * (1 - values["discount"]) * values["weight"]
    return amount.quantize(Decimal(1), rounding=ROUND_HALF_UP)


# Terms of the 100-node formula, with the same term in Python: 8 of 9 nodes, 3 of 6, and the
# 10 additions between them.
_TERMS = (
    ("ROUND(price * qty * (1 - discount), {n})", "round(price * qty * (1 - discount), {n})"),
    ("IF(paid, price, price * weight)", "(price if paid else price * weight)"),
)
_PATTERN = (0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0)
LARGE = " + ".join(_TERMS[k][0].format(n=i % 3) for i, k in enumerate(_PATTERN))
LARGE_PYTHON = " + ".join(_TERMS[k][1].format(n=i % 3) for i, k in enumerate(_PATTERN))

_FIELDS = {
    ("qty",): FieldInfo(t.INTEGER),
    ("price",): FieldInfo(t.money("EUR")),
    ("discount",): FieldInfo(t.PERCENT),
    ("weight",): FieldInfo(t.DECIMAL),
    ("paid",): FieldInfo(t.BOOLEAN),
}


class MemorySchemaView:
    """The engine's `SchemaView` over a dict of path -> `FieldInfo`, with no database."""

    def __init__(self, fields: dict[tuple[str, ...], FieldInfo]) -> None:
        self.fields = fields

    def resolve_field(self, path: tuple[str, ...]) -> FieldInfo | None:
        return self.fields.get(tuple(path))

    def field_names(self, prefix: tuple[str, ...] = ()) -> list[str]:
        size = len(prefix) + 1
        return sorted(p[-1] for p in self.fields if len(p) == size and p[:-1] == tuple(prefix))


def nodes(tree: ast.Expression) -> int:
    count, stack = 0, [tree]
    while stack:
        count += 1
        stack.extend(ast.children(stack.pop()))
    return count


def _expect_nodes(tree: ast.Expression, wanted: int, text: str) -> None:
    if nodes(tree) != wanted:
        raise RuntimeError(f"{text!r} has {nodes(tree)} nodes, not {wanted}")


def _records() -> list[dict[str, Any]]:
    return [
        {
            "qty": 1 + (i * 7919) % 20,
            "price": Decimal((i * 7907) % 50000) / 100,
            "discount": Decimal((i * 31) % 21) / 100,
            "weight": Decimal((i * 104729) % 100000) / 1000,
        }
        for i in range(1, RECORDS + 1)
    ]


def _per_second(call: Callable[[dict[str, Any]], Any], inputs: list[Any]) -> float:
    started = time.perf_counter()
    for number in range(EVALUATIONS):
        call(inputs[number % RECORDS])
    return EVALUATIONS / (time.perf_counter() - started)


def _evaluator() -> tuple[float, float]:
    """Evaluations per second of `SMALL` by the evaluator and by `small_by_hand`."""
    checked = check(SMALL, MemorySchemaView(_FIELDS))
    _expect_nodes(checked.ast, 10, SMALL)
    records = _records()
    ours = [{**r, "price": Money(r["price"], "EUR")} for r in records]

    def evaluator(values: dict[str, Any]) -> Any:
        return evaluate(checked, RecordContext(values, now=NOW))

    for values, by_hand in zip(ours, records, strict=True):
        result = evaluator(values)
        if result is None or result.amount != small_by_hand(by_hand):
            raise RuntimeError(f"{SMALL} gave {result!r}, by hand {small_by_hand(by_hand)}")
    return _per_second(evaluator, ours), _per_second(small_by_hand, records)


def _compile() -> tuple[float, float, float]:
    """Median ms to parse and check `LARGE` against ``job``, to compile it to SQL text, and
    Python's compile() of `LARGE_PYTHON`."""
    registry = get_registry()
    schema = registry.entity(ENTITY)
    context = compile_context()
    checks, compiles, python = [], [], []
    for _ in range(COMPILES):
        started = time.perf_counter()
        checked = check(LARGE, EntitySchemaView(registry, schema))
        checks.append((time.perf_counter() - started) * 1000)

        started = time.perf_counter()
        expression = compile_formula(checked, RowScope(registry, schema), context)
        query = schema.model._base_manager.annotate(_bench_value=expression).values(
            "pk", "_bench_value"
        )
        query.query.sql_with_params()
        compiles.append((time.perf_counter() - started) * 1000)

        started = time.perf_counter()
        compile(LARGE_PYTHON, "<formula>", "eval")
        python.append((time.perf_counter() - started) * 1000)
    _expect_nodes(checked.ast, 100, LARGE)
    return median(checks), median(compiles), median(python)


def run(ctx: BenchContext) -> list[Measurement]:
    ours, by_hand = _evaluator()
    check_ms, compile_ms, python_ms = _compile()
    return [
        Measurement(
            "formula",
            "Python evaluator, 10-node formula",
            ours,
            "eval/s",
            baseline=by_hand,
        ),
        Measurement(
            "formula",
            "parse + check, 100-node formula",
            check_ms,
            "ms",
            baseline=python_ms,
        ),
        Measurement(
            "formula",
            "compile to SQL, 100-node formula",
            compile_ms,
            "ms",
            baseline=python_ms,
        ),
    ]
