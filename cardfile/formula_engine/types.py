"""Formula types and the schema-view protocol through which formulas resolve field names."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class Kind(StrEnum):
    INTEGER = "integer"
    DECIMAL = "decimal"
    MONEY = "money"
    PERCENT = "percent"
    TEXT = "text"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    DURATION = "duration"
    CHOICE = "choice"
    LINK = "link"
    USER = "user"
    BLANK = "blank"


NUMERIC = frozenset({Kind.INTEGER, Kind.DECIMAL, Kind.MONEY, Kind.PERCENT})
PLAIN_NUMBERS = frozenset({Kind.INTEGER, Kind.DECIMAL, Kind.PERCENT})
TEXTUAL = frozenset({Kind.TEXT, Kind.CHOICE})


@dataclass(frozen=True)
class FormulaType:
    """A type; money may carry its ``currency`` (when field options fix it), links a ``target``."""

    kind: Kind
    currency: str | None = None
    target: str | None = None

    def __str__(self) -> str:
        detail = self.currency or self.target
        return f"{self.kind.value} ({detail})" if detail else self.kind.value


INTEGER = FormulaType(Kind.INTEGER)
DECIMAL = FormulaType(Kind.DECIMAL)
PERCENT = FormulaType(Kind.PERCENT)
TEXT = FormulaType(Kind.TEXT)
BOOLEAN = FormulaType(Kind.BOOLEAN)
DATE = FormulaType(Kind.DATE)
DATETIME = FormulaType(Kind.DATETIME)
DURATION = FormulaType(Kind.DURATION)
USER = FormulaType(Kind.USER)
BLANK = FormulaType(Kind.BLANK)


def money(currency: str | None = None) -> FormulaType:
    return FormulaType(Kind.MONEY, currency=currency)


def link(target: str | None = None) -> FormulaType:
    return FormulaType(Kind.LINK, target=target)


@dataclass(frozen=True)
class FieldInfo:
    """What a path resolves to. ``many`` is true across a child table or reverse link."""

    type: FormulaType
    many: bool = False


class SchemaView(Protocol):
    """How the engine sees an entity's fields; the metamodel implements it."""

    def resolve_field(self, path: tuple[str, ...]) -> FieldInfo | None:
        """The field at ``path`` (``("client", "discount")``), or None if there is none."""
        ...

    def field_names(self, prefix: tuple[str, ...] = ()) -> Iterable[str]:
        """Slugs reachable one step after ``prefix`` (for "did you mean")."""
        ...
