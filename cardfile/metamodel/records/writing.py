"""The write half of the record service: INSERT and conditional UPDATE of cleaned rows.

Called by `services` inside its transaction, after `cleaning.Cleaner` found no problem. History
rows and events are collected in a `WriteContext` and written at the end in one INSERT.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cardfile.core.exceptions import NotFound
from cardfile.metamodel import events
from cardfile.metamodel.fields import get_field_type
from cardfile.metamodel.models import Field, RecordHistory
from cardfile.metamodel.schema.dynamic import EntitySchema, SchemaRegistry

from .cleaning import Cleaner, RowPlan, column_value, unique_message
from .exceptions import RecordConflict, RecordValidationError, RecordWriteRefused
from .history import history_entry, row_changes, stored_values
from .selectors import record_to_dict, with_relations
from .statuses import status_events

BATCH_SIZE = 500
Action = RecordHistory.Action

# The unique constraint of a field: ``cf_e12_f57r0_u`` (PostgreSQL names it; SQLite names the
# column, ``cf_e12.f57`` or ``cf_e12.f57_1`` after a type change).
_CONSTRAINT = re.compile(r"cf_e(\d+)_f(\d+)r\d+_u")
_COLUMN = re.compile(r"cf_e(\d+)\.f(\d+)(?:_\d+)?\b")


def user_id_of(user: Any) -> int | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return user.pk


@dataclass
class WriteContext:
    registry: SchemaRegistry
    user_id: int | None
    now: datetime
    today: date
    history: list[RecordHistory] = field(default_factory=list)
    published: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    # For the computed columns: what this write changed, and the records it created.
    changes: defaultdict[tuple[int, Any], set[int]] = field(
        default_factory=lambda: defaultdict(set)
    )
    inserted: defaultdict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    written: list[tuple[EntitySchema, models.Model]] = field(default_factory=list)
    # (entity, record id, error key prefix) of every record written, for validation rules
    validated: list[tuple[EntitySchema, int, str]] = field(default_factory=list)

    @classmethod
    def start(cls, registry: SchemaRegistry, user: Any) -> WriteContext:
        now = timezone.now()
        return cls(registry, user_id_of(user), now, timezone.localdate(now))

    def event(
        self, name: str, schema: EntitySchema, record_id: int, fields: list[str], version: int
    ) -> None:
        self.published.append(
            (
                name,
                {
                    "entity": schema.slug,
                    "record_id": record_id,
                    "user_id": self.user_id,
                    "version": version,
                    "fields": fields,
                },
            )
        )

    def changed(self, entity_pk: int, key: Any, ids: list[int]) -> None:
        """Record that ``key`` (a field pk or system slug) of these records changed."""
        self.changes[(entity_pk, key)].update(ids)

    def watched_links(self, schema: EntitySchema) -> list[Field]:
        """Link fields of ``schema`` that computed fields read backwards (``SUM(order.total)``
        on a client): a record starting or stopping to link moves them."""
        from cardfile.metamodel.formulas.graph import plan_for

        watched = plan_for(self.registry).reverse_links
        return [f for f in schema.fields if f.pk in watched]

    def linked(self, f: Field, ids: list[Any]) -> None:
        # key ("linked", link pk): the formula graph (formulas.graph.LINKED) reads the same
        targets = [pk for pk in ids if pk is not None]
        if targets:
            self.changed(f.options["target_id"], ("linked", f.pk), targets)

    def links_changed(self, schema: EntitySchema, rows: Any) -> None:
        """The records of ``rows`` (a queryset) were trashed or restored: whatever they link
        to through watched links has new computed values over its linking records."""
        links = self.watched_links(schema)
        if links:
            for values in rows.values(*[f.attname for f in links]):
                for f in links:
                    self.linked(f, [values[f.attname]])

    def lines_changed(self, row: RowPlan) -> None:
        """A line of ``row.parent`` was added, changed or removed: its parent's rollups move."""
        if row.parent is not None:
            self.changed(row.parent.schema.entity.pk, row.parent_field.pk, [row.parent.obj.pk])

    def finish(self) -> None:
        if self.changes or self.inserted:
            # imported here: the formula package reads records through this package
            from cardfile.metamodel.formulas.recompute import (
                recompute_after_write,
                refresh_computed,
            )

            recompute_after_write(self.registry, self.changes, self.inserted, user=self.user_id)
            refresh_computed(self.registry, self.written)
        if any(schema.entity.validation_rules for schema, _pk, _prefix in self.validated):
            from cardfile.metamodel.formulas.rules import rule_errors

            errors, rows = rule_errors(self.registry, self.validated, user=self.user_id)
            if errors:  # raised inside the service's transaction: nothing is kept
                raise RecordValidationError(errors, rows=rows)
        if self.history:
            RecordHistory.objects.bulk_create(self.history, batch_size=BATCH_SIZE)
        for name, payload in self.published:
            events.publish_on_commit(name, **payload)


def refuse_lines(registry: SchemaRegistry, schema: EntitySchema) -> None:
    """Lines are written with their parent, never alone."""
    if schema.parent_field is None:
        return
    parent = registry.entity_by_id(schema.parent_field.entity_id)
    raise RecordWriteRefused(
        _(
            "%(lines)s records are written through their %(parent)s (its field %(field)s); "
            "change the %(parent)s instead."
        )
        % {"lines": schema.slug, "parent": parent.slug, "field": schema.parent_field.slug},
        code="written_through_parent",
    )


def raise_conflict(
    registry: SchemaRegistry, schema: EntitySchema, record_id: int, access: Any = None
) -> None:
    """The record changed since the writer read it: raise `RecordConflict` with its current
    values, as the writer may see them."""
    current = with_relations(registry, schema, schema.objects()).filter(pk=record_id).first()
    if current is None:
        raise NotFound(
            _("%(entity)s #%(id)s was moved to the trash meanwhile.")
            % {"entity": schema.entity.label, "id": record_id},
            code="not_found",
        )
    raise RecordConflict(
        record_to_dict(
            schema,
            current,
            registry=registry,
            hide=None if access is None or access.unrestricted else access.hidden,
        ),
        entity_label=schema.entity.label,
    )


def _attnames(schema: EntitySchema, f: Field) -> list[str]:
    meta = schema.model._meta
    return [meta.get_field(name).attname for name in get_field_type(f.type).model_fields(f)]


def _set_values(schema: EntitySchema, row: RowPlan, obj: models.Model) -> set[str]:
    """Put the row's column values on the model instance; return the attnames written."""
    touched: set[str] = set()
    fields = {f.pk: f for f in schema.fields}
    for pk, value in row.values.items():
        f = fields[pk]
        ftype = get_field_type(f.type)
        if ftype.has_column:
            ftype.set_value(f, obj, value)
            touched.update(_attnames(schema, f))
    return touched


# -- unique races ------------------------------------------------------------------------------


def integrity_field(registry: SchemaRegistry, error: IntegrityError) -> tuple[EntitySchema, Field]:
    """The unique field an IntegrityError is about, or re-raise it."""
    text = str(error)
    match = _CONSTRAINT.search(text) or _COLUMN.search(text)
    if match:
        try:
            schema = registry.entity_by_id(int(match.group(1)))
        except NotFound:
            raise error from None
        found = next((f for f in schema.fields if f.pk == int(match.group(2))), None)
        if found is not None:
            return schema, found
    raise error


@contextmanager
def unique_guard(registry: SchemaRegistry, rows: list[RowPlan]) -> Iterator[None]:
    """Turn a unique violation that slipped past the pre-check (a concurrent insert) into the
    same error the pre-check gives."""
    try:
        with transaction.atomic():
            yield
    except IntegrityError as error:
        schema, f = integrity_field(registry, error)
        cleaner = Cleaner(registry)
        mine = [
            (row, column_value(f, row.values[f.pk]))
            for row in rows
            if row.schema.entity.pk == schema.entity.pk and row.values.get(f.pk) is not None
        ]
        own = {row.obj.pk for row, _value in mine if not row.creating}
        taken = dict(
            schema.objects()
            .filter(**{f"{f.attname}__in": {value for _row, value in mine}})
            .exclude(pk__in=own)
            .values_list(f.attname, "pk")
        )
        for row, value in mine:
            if value in taken:
                cleaner.add(row, f.slug, unique_message(f, value, taken[value]), f)
        if not cleaner.errors:
            cleaner.add_error(f.slug, unique_message(f, _("This value"), None))
        cleaner.raise_if_errors(bulk=True)


# -- inserts -----------------------------------------------------------------------------------


def insert_rows(
    ctx: WriteContext, schema: EntitySchema, rows: list[RowPlan], *, branch_id: int | None = None
) -> None:
    """INSERT new records in batches, then their multi-links and lines; history and events."""
    if not rows:
        return
    autonumbers = [f for f in schema.fields if f.type == "autonumber"]
    numbering = get_field_type("autonumber")
    numbers = {f.pk: iter(numbering.next_values(f, ctx.today, len(rows))) for f in autonumbers}
    objs = []
    for row in rows:
        obj = schema.model(
            created_at=ctx.now,
            updated_at=ctx.now,
            created_by_id=ctx.user_id,
            updated_by_id=ctx.user_id,
            version=1,
            branch_id=branch_id,
        )
        if row.parent is not None:
            setattr(obj, f"{row.parent_field.attname}_id", row.parent.obj.pk)
            obj.branch_id = row.parent.obj.branch_id
        for f in autonumbers:
            row.values[f.pk] = next(numbers[f.pk])
        _set_values(schema, row, obj)
        row.obj = obj
        objs.append(obj)
    with unique_guard(ctx.registry, rows):
        schema.model._default_manager.bulk_create(objs, batch_size=BATCH_SIZE)
    ctx.inserted[schema.entity.pk].update(obj.pk for obj in objs)
    for f in ctx.watched_links(schema):
        ctx.linked(f, [row.values.get(f.pk) for row in rows])
    for row in rows:
        ctx.validated.append((schema, row.obj.pk, row.prefix))
        ctx.lines_changed(row)
        if row.parent is None:
            ctx.written.append((schema, row.obj))
    for f in schema.fields:
        if f.type == "multi_link":
            _write_links(ctx, f, [row for row in rows if row.values.get(f.pk)], replace=False)
    for f in schema.child_fields:
        lines = [line for row in rows if f.pk in row.lines for line in row.lines[f.pk].keep]
        if lines:
            insert_rows(ctx, lines[0].schema, lines)
    for row in rows:
        changes = row_changes(ctx.registry, row)
        ctx.history.append(
            history_entry(schema, row.obj.pk, Action.CREATE, 1, ctx.user_id, changes)
        )
        if row.parent is None:
            ctx.event(events.RECORD_CREATED, schema, row.obj.pk, _changed_slugs(schema, changes), 1)


def _write_links(ctx: WriteContext, f: Field, rows: list[RowPlan], *, replace: bool) -> None:
    if not rows:
        return
    through = ctx.registry.through_model(f)
    if replace:
        through._default_manager.filter(source_id__in=[row.obj.pk for row in rows]).delete()
    through._default_manager.bulk_create(
        [
            through(source_id=row.obj.pk, target_id=target, position=position)
            for row in rows
            for position, target in enumerate(row.values.get(f.pk) or [], start=1)
        ],
        batch_size=BATCH_SIZE,
    )


def _changed_slugs(schema: EntitySchema, changes: dict[str, Any]) -> list[str]:
    slugs = {str(f.pk): f.slug for f in schema.fields}
    return [slugs[key] for key in changes if key in slugs]


# -- updates -----------------------------------------------------------------------------------


def update_row(ctx: WriteContext, row: RowPlan) -> None:
    """UPDATE ... WHERE id = %s AND version = %s: a stale version never overwrites."""
    schema, obj = row.schema, row.obj
    model = schema.model
    based_on = obj.version
    touched = _set_values(schema, row, obj)
    obj.version = based_on + 1
    obj.updated_at = ctx.now
    obj.updated_by_id = ctx.user_id
    columns = {name: getattr(obj, name) for name in touched}
    with unique_guard(ctx.registry, [row]):
        count = model._base_manager.filter(pk=obj.pk, version=based_on).update(
            **columns, version=obj.version, updated_at=ctx.now, updated_by_id=ctx.user_id
        )
    if count != 1:
        raise_conflict(ctx.registry, schema, obj.pk)
    entity_pk = schema.entity.pk
    ctx.changed(entity_pk, "updated_at", [obj.pk])
    ctx.changed(entity_pk, "updated_by", [obj.pk])
    for pk in row.values:
        ctx.changed(entity_pk, pk, [obj.pk])
    for pk, plan in row.lines.items():
        if plan.changed():
            ctx.changed(entity_pk, pk, [obj.pk])
    ctx.lines_changed(row)
    for f in ctx.watched_links(schema):
        if f.pk in row.values:
            ctx.linked(f, [row.before.get(f.pk), row.values[f.pk]])
    ctx.validated.append((schema, obj.pk, row.prefix))
    if row.parent is None:
        ctx.written.append((schema, obj))
    for f in schema.fields:
        if f.type == "multi_link" and f.pk in row.values:
            _write_links(ctx, f, [row], replace=True)
    for plan in row.lines.values():
        _write_lines(ctx, row, plan)
    changes = row_changes(ctx.registry, row)
    ctx.history.append(
        history_entry(schema, obj.pk, Action.UPDATE, obj.version, ctx.user_id, changes)
    )
    if row.parent is None:
        ctx.event(
            events.RECORD_UPDATED, schema, obj.pk, _changed_slugs(schema, changes), obj.version
        )
    status_events(ctx, row, obj.version)


def incoming_links(registry: SchemaRegistry) -> dict[int, list[tuple[EntitySchema, Field]]]:
    """target entity pk -> the (entity, field) pairs whose link or multi_link points at it."""
    refs: defaultdict[int, list[tuple[EntitySchema, Field]]] = defaultdict(list)
    for schema in registry.entities():
        for f in schema.fields:
            if f.type in ("link", "multi_link"):
                refs[f.options["target_id"]].append((schema, f))
    return refs


def hard_delete(ctx: WriteContext, schema: EntitySchema, ids: set[int], *, key: str) -> None:
    """Delete removed lines for good. Links to them are cleared where their field says
    ``set_null``; any other link refuses. Their own multi-links and sub-lines go with them."""
    registry = ctx.registry
    for source, f in incoming_links(registry).get(schema.entity.pk, []):
        if f.type == "multi_link":
            linking = registry.through_model(f)._default_manager.filter(target_id__in=ids)
        else:
            linking = source.model._base_manager.filter(**{f"{f.attname}__in": ids})
        if f.options.get("on_delete", "protect") == "set_null":
            if f.type == "multi_link":
                linking.delete()
            else:
                linking.update(**{f.attname: None})
        elif linking.exists():
            raise RecordValidationError(
                {
                    key: [
                        _(
                            "A removed line is linked from %(entity)s records (field %(field)s); "
                            "keep the line or change those records first."
                        )
                        % {"entity": source.slug, "field": f.slug}
                    ]
                }
            )
    for f in schema.fields:
        if f.type == "multi_link":
            registry.through_model(f)._default_manager.filter(source_id__in=ids).delete()
    for f in schema.child_fields:
        sub = registry.entity_by_id(f.options["target_id"])
        sub_ids = set(
            sub.model._base_manager.filter(**{f"{f.attname}_id__in": ids}).values_list(
                "pk", flat=True
            )
        )
        if sub_ids:
            hard_delete(ctx, sub, sub_ids, key=key)
    schema.model._base_manager.filter(pk__in=ids).delete()


def _write_lines(ctx: WriteContext, parent: RowPlan, plan: Any) -> None:
    child = plan.schema
    if plan.removed:
        plan.removed_values = stored_values(ctx.registry, child, plan.removed)
        hard_delete(ctx, child, {o.pk for o in plan.removed}, key=parent.prefix + plan.field.slug)
        for line in plan.removed:
            changes = {key: [value, None] for key, value in plan.removed_values[line.pk].items()}
            ctx.history.append(
                history_entry(child, line.pk, Action.DELETE, line.version + 1, ctx.user_id, changes)
            )
    for line in plan.keep:
        if not line.creating and line.has_changes():
            update_row(ctx, line)
    insert_rows(ctx, child, [line for line in plan.keep if line.creating])
