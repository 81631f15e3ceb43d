"""What the OpenAPI document may show one caller: the entities they read, their operations, and
per entity the fields hidden from them and the fields they may not change.

The document is built from a `Shown`, never from `Access` directly, so the builder cannot ask a
question the signature (the cache key) does not cover: two callers with the same signature get
the same document.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cardfile.metamodel.access import Access
from cardfile.metamodel.schema.dynamic import EntitySchema, SchemaRegistry

# The record operations the document describes; the others (export, print, configure) have no
# record endpoints of their own.
_RECORD_OPERATIONS = ("read", "create", "update", "delete")


@dataclass(frozen=True)
class _Entity:
    operations: frozenset[str]
    hidden: frozenset[int]
    read_only: frozenset[int]


class Shown:
    """The entities of ``registry`` described to the holder of ``access`` (None: everything).

    An entity is described if the caller may read it; a line entity (the target of a child
    table) if its parent is described and the child table field is not hidden there, as its
    lines are only reached through that field."""

    def __init__(self, registry: SchemaRegistry, access: Access | None) -> None:
        self.registry = registry
        self.everything = access is None or access.is_owner
        self._entities: dict[int, _Entity] = {}
        for schema in registry.entities():
            self._work_out(schema, access)

    def _work_out(self, schema: EntitySchema, access: Access | None) -> _Entity | None:
        key = schema.entity.pk
        if key in self._entities:
            return self._entities[key]
        if self.everything or access is None:
            found: _Entity | None = _Entity(frozenset(_RECORD_OPERATIONS), frozenset(), frozenset())
        else:
            rights = access.entity(schema)
            found = None
            if rights.can("read") and self._reached(schema, access):
                found = _Entity(
                    frozenset(op for op in _RECORD_OPERATIONS if rights.can(op)),
                    rights.hidden,
                    rights.read_only,
                )
        if found is not None:
            self._entities[key] = found
        return found

    def _reached(self, schema: EntitySchema, access: Access) -> bool:
        parent_field = schema.parent_field
        if parent_field is None:
            return True
        parent = self.registry.entity_by_id(parent_field.entity_id)
        described = self._work_out(parent, access)
        return described is not None and parent_field.pk not in described.hidden

    # -- questions the builder asks ------------------------------------------------------------

    def described(self, schema: EntitySchema) -> bool:
        return schema.entity.pk in self._entities

    def target_described(self, f: Any) -> bool:
        """Whether the entity a link or child table leads to is described."""
        return self.described(self.registry.entity_by_id(f.options["target_id"]))

    def can(self, operation: str, schema: EntitySchema) -> bool:
        found = self._entities.get(schema.entity.pk)
        return found is not None and operation in found.operations

    def fields(self, schema: EntitySchema) -> list[Any]:
        """The fields of ``schema`` the caller sees, in order."""
        found = self._entities.get(schema.entity.pk)
        hidden = found.hidden if found is not None else frozenset()
        return [f for f in schema.fields if f.pk not in hidden]

    def read_only(self, schema: EntitySchema, f: Any) -> bool:
        found = self._entities.get(schema.entity.pk)
        return found is not None and f.pk in found.read_only

    def signature(self) -> tuple[Any, ...]:
        """Everything the document depends on besides the schema version and the language."""
        if self.everything:
            return ("everything",)
        return tuple(
            (key, tuple(sorted(e.operations)), tuple(sorted(e.hidden)), tuple(sorted(e.read_only)))
            for key, e in sorted(self._entities.items())
        )
