"""Record history: what each write changed, stored keyed by field id, read keyed by current slug.

A row of `RecordHistory` holds ``{"<field id>": [before, after]}`` in serialized (JSON) form, so a
field rename never orphans history. Child-table lines appear in their parent's row under the
child_table field's id as ``{"added": [...], "changed": [{"id", "changes"}], "removed": [...]}``
(line values keyed by the line entity's field ids); the lines also have rows of their own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import models
from django.utils import timezone

from cardfile.core.exceptions import NotFound
from cardfile.metamodel.fields import get_field_type
from cardfile.metamodel.models import Field, RecordHistory
from cardfile.metamodel.schema.dynamic import EntitySchema, SchemaRegistry

from .cleaning import RowPlan, multi_link_ids

Action = RecordHistory.Action


def serialized(f: Field, value: Any) -> Any:
    if value is None or value == []:
        return None
    return get_field_type(f.type).serialize(f, value)


def stored_values(
    registry: SchemaRegistry, schema: EntitySchema, objs: list[models.Model]
) -> dict[int, dict[str, Any]]:
    """record id -> {field id: serialized value} of the values a record holds (not blank)."""
    result: dict[int, dict[str, Any]] = {obj.pk: {} for obj in objs}
    if not objs:
        return result
    for f in schema.fields:
        ftype = get_field_type(f.type)
        if f.type == "multi_link":
            links = multi_link_ids(registry, f, [obj.pk for obj in objs])
            for pk, ids in links.items():
                if ids:
                    result[pk][str(f.pk)] = ids
        elif ftype.has_column:
            for obj in objs:
                value = ftype.get_value(f, obj)
                if value is not None:
                    result[obj.pk][str(f.pk)] = ftype.serialize(f, value)
    return result


def _fields(schema: EntitySchema) -> dict[int, Field]:
    return {f.pk: f for f in schema.fields}


def row_changes(registry: SchemaRegistry, row: RowPlan) -> dict[str, Any]:
    """The ``changes`` of a written row: new values on create, before/after on update, and the
    line changes of its child tables. Call after the write (new lines have their ids)."""
    fields = _fields(row.schema)
    changes: dict[str, Any] = {}
    for pk, value in row.values.items():
        f = fields[pk]
        after = serialized(f, value)
        if row.creating:
            if after is not None:
                changes[str(pk)] = [None, after]
        else:
            changes[str(pk)] = [serialized(f, row.before.get(pk)), after]
    for pk, plan in row.lines.items():
        if not plan.changed():
            continue
        added, changed = [], []
        for line in plan.keep:
            if line.creating:
                added.append({"id": line.obj.pk, **_new_values(line)})
            elif line.has_changes():
                changed.append({"id": line.obj.pk, "changes": row_changes(registry, line)})
        removed = [{"id": obj.pk, **plan.removed_values.get(obj.pk, {})} for obj in plan.removed]
        changes[str(pk)] = {"added": added, "changed": changed, "removed": removed}
    return changes


def _new_values(row: RowPlan) -> dict[str, Any]:
    fields = _fields(row.schema)
    return {
        str(pk): serialized(fields[pk], value)
        for pk, value in row.values.items()
        if serialized(fields[pk], value) is not None
    }


def history_entry(
    schema: EntitySchema,
    record_id: int,
    action: str,
    version: int,
    user_id: int | None,
    changes: dict[str, Any] | None = None,
) -> RecordHistory:
    """An unsaved history row; the service saves them in one INSERT."""
    return RecordHistory(
        entity_id=schema.entity.pk,
        record_id=record_id,
        action=action,
        version=version,
        user_id=user_id,
        changes=changes or {},
    )


# -- reading -----------------------------------------------------------------------------------


def _hidden(schema: EntitySchema | None, hide: Any) -> frozenset[int]:
    return hide(schema) if hide is not None and schema is not None else frozenset()


def _public_values(
    schema: EntitySchema | None, values: dict[str, Any], hide: Any = None
) -> dict[str, Any]:
    fields = _fields(schema) if schema is not None else {}
    hidden = _hidden(schema, hide)
    result: dict[str, Any] = {}
    for key, value in values.items():
        if key == "id":
            result["id"] = value
            continue
        if key.isdigit() and int(key) in hidden:
            continue
        f = fields.get(int(key)) if key.isdigit() else None
        result[f.slug if f is not None else key] = value
    return result


def public_changes(
    registry: SchemaRegistry,
    schema: EntitySchema | None,
    changes: dict[str, Any],
    hide: Callable[[EntitySchema], frozenset[int]] | None = None,
) -> dict[str, Any]:
    """Stored changes -> keyed by the fields' current slugs (the id of a field that is gone),
    without the fields ``hide`` names."""
    fields = _fields(schema) if schema is not None else {}
    hidden = _hidden(schema, hide)
    result: dict[str, Any] = {}
    for key, change in changes.items():
        if key.isdigit() and int(key) in hidden:
            continue
        f = fields.get(int(key)) if key.isdigit() else None
        name = f.slug if f is not None else key
        if isinstance(change, dict):
            child = None
            if f is not None and f.type == "child_table":
                try:
                    child = registry.entity_by_id(f.options["target_id"])
                except NotFound:  # a line entity in trash: its fields show as ids
                    child = None
            result[name] = {
                "added": [_public_values(child, line, hide) for line in change.get("added", [])],
                "changed": [
                    {
                        "id": line.get("id"),
                        "changes": public_changes(registry, child, line.get("changes", {}), hide),
                    }
                    for line in change.get("changed", [])
                ],
                "removed": [
                    _public_values(child, line, hide) for line in change.get("removed", [])
                ],
            }
        else:
            before, after = change
            result[name] = {"before": before, "after": after}
    return result


def history_as_dicts(
    registry: SchemaRegistry,
    schema: EntitySchema,
    entries: list[RecordHistory],
    *,
    hide: Callable[[EntitySchema], frozenset[int]] | None = None,
) -> list[dict[str, Any]]:
    """History rows as the API shows them; fields ``hide`` names are left out."""
    return [
        {
            "id": entry.pk,
            "at": timezone.localtime(entry.at).isoformat(),
            "user": entry.user_id,
            "username": entry.user.get_username() if entry.user_id else None,
            "action": entry.action,
            "version": entry.version,
            "changes": public_changes(registry, schema, entry.changes, hide),
        }
        for entry in entries
    ]
