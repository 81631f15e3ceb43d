"""How the SQL back end reaches columns: the `Scope` protocol that the metamodel implements.

A scope stands for one row of one entity as seen from where the compiled expression will be
placed: directly (columns are plain references) or from inside ``depth`` nested subqueries
(columns are outer references). The engine never names a table or column itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any, Protocol

from django.db.models import Expression, QuerySet


class Scope(Protocol):
    def column(self, path: tuple[str, ...]) -> Expression:
        """The stored value at a single-valued ``path`` (links followed): a money field's
        amount, a percent in points, a link's id; ``()`` is the row's own id."""
        ...

    def rows(self, path: tuple[str, ...]) -> tuple[int, Scope, QuerySet]:
        """For a ``path`` that ranges over a child table: how many of its names lead to the
        table, the scope of one line (inside a subquery), and the live lines of this row."""
        ...

    def deeper(self) -> Scope:
        """This same row, seen from inside one more subquery."""
        ...

    def order_by(self) -> list[Any]:
        """The order of this entity's lines (their position, then id)."""
        ...


@dataclass(frozen=True)
class CompileContext:
    """Who asks and when: ME(), MY_BRANCH(), TODAY() and NOW() become parameters."""

    vendor: str
    user_id: Any = None
    branch_id: Any = None
    now: datetime | None = None
    tz: tzinfo = UTC

    @property
    def tz_name(self) -> str:
        return getattr(self.tz, "key", None) or "UTC"

    def moment(self) -> datetime:
        return self.now or datetime.now(UTC)
