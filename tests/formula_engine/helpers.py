"""An in-memory schema view and record contexts for formula tests (no database)."""

from __future__ import annotations

from datetime import UTC, datetime

from cardfile.formula_engine import FieldInfo, RecordContext
from cardfile.formula_engine import types as t


class DictSchemaView:
    """The `SchemaView` protocol over a plain dict of path -> FieldInfo."""

    def __init__(self, fields: dict[tuple[str, ...], FieldInfo]) -> None:
        self.fields = fields

    def resolve_field(self, path):
        return self.fields.get(tuple(path))

    def field_names(self, prefix=()):
        return sorted(
            path[-1]
            for path in self.fields
            if len(path) == len(prefix) + 1 and path[: len(prefix)] == tuple(prefix)
        )


ORDER_FIELDS = {
    ("qty",): FieldInfo(t.INTEGER),
    ("price",): FieldInfo(t.money("EUR")),
    ("deposit",): FieldInfo(t.money("USD")),
    ("fee",): FieldInfo(t.money()),
    ("rate",): FieldInfo(t.PERCENT),
    ("weight",): FieldInfo(t.DECIMAL),
    ("title",): FieldInfo(t.TEXT),
    ("status",): FieldInfo(t.FormulaType(t.Kind.CHOICE)),
    ("paid",): FieldInfo(t.BOOLEAN),
    ("received",): FieldInfo(t.DATE),
    ("created",): FieldInfo(t.DATETIME),
    ("labour",): FieldInfo(t.DURATION),
    ("assignee",): FieldInfo(t.USER),
    ("branch",): FieldInfo(t.link("branch")),
    ("client",): FieldInfo(t.link("client")),
    ("client", "discount"): FieldInfo(t.PERCENT),
    ("client", "name"): FieldInfo(t.TEXT),
    ("lines",): FieldInfo(t.link("line"), many=True),
    ("lines", "amount"): FieldInfo(t.money("EUR"), many=True),
    ("lines", "qty"): FieldInfo(t.INTEGER, many=True),
    ("lines", "kind"): FieldInfo(t.FormulaType(t.Kind.CHOICE), many=True),
}


NOW = datetime(2024, 1, 31, 10, 30, tzinfo=UTC)


def context(**values):
    """A record context at a fixed time, user 7 in branch 3; keys use __ for dots."""
    return RecordContext(
        {key.replace("__", "."): value for key, value in values.items()},
        user_id=7,
        branch_id=3,
        now=NOW,
    )
