"""Trash and restore of records, following the ``on_delete`` of the links that point at them.

``protect`` (the default) refuses while live records link to the record; ``cascade`` trashes
the linking records too, with the same ``deleted_at``, and restore brings back exactly that group;
``set_null`` leaves the links alone (they become null only if the target is purged). Lines stay
attached to a trashed parent and come back with it.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from django.db import IntegrityError, models, transaction
from django.db.models import F
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from cardfile.core.exceptions import NotFound
from cardfile.metamodel import events
from cardfile.metamodel.fields import get_field_type
from cardfile.metamodel.models import Field, RecordHistory
from cardfile.metamodel.schema.dynamic import EntitySchema, SchemaRegistry, get_registry

from .cleaning import column_value
from .exceptions import RecordProtected, RecordValidationError
from .guard import check_row, writer_access
from .history import history_entry
from .writing import WriteContext, incoming_links, integrity_field, refuse_lines

Action = RecordHistory.Action
Groups = dict[int, set[int]]  # entity pk -> record ids


def _linking(
    registry: SchemaRegistry,
    source: EntitySchema,
    f: Field,
    target_ids: set[int],
    *,
    deleted_at: datetime | None = None,
) -> set[int]:
    """Ids of ``source`` records that link to any of ``target_ids`` through ``f``: live ones
    (lines of a trashed parent do not count), or those trashed at ``deleted_at``."""
    if f.type == "multi_link":
        queryset = registry.through_model(f)._default_manager.filter(target_id__in=target_ids)
        prefix, column = "source__", "source_id"
    else:
        queryset = source.model._base_manager.filter(**{f"{f.attname}__in": target_ids})
        prefix, column = "", "pk"
    if deleted_at is not None:
        queryset = queryset.filter(**{f"{prefix}deleted_at": deleted_at})
    else:
        queryset = queryset.filter(**{f"{prefix}deleted_at__isnull": True})
        if source.parent_field is not None:
            parent = f"{prefix}{source.parent_field.attname}__deleted_at__isnull"
            queryset = queryset.filter(**{parent: True})
    return set(queryset.values_list(column, flat=True))


def _trash_group(registry: SchemaRegistry, schema: EntitySchema, record_id: int) -> Groups:
    """The record and every live record that cascades from it; refuses on ``protect``."""
    refs = incoming_links(registry)
    chosen: defaultdict[int, set[int]] = defaultdict(set)
    blockers: list[tuple[EntitySchema, Field, EntitySchema, int, set[int]]] = []
    pending: list[tuple[EntitySchema, set[int]]] = [(schema, {record_id})]
    while pending:
        target, ids = pending.pop()
        ids = ids - chosen[target.entity.pk]
        if not ids:
            continue
        chosen[target.entity.pk] |= ids
        for source, f in refs.get(target.entity.pk, []):
            linking = _linking(registry, source, f, ids)
            if not linking:
                continue
            policy = f.options.get("on_delete", "protect")
            if policy == "cascade":
                pending.append((source, linking))
            elif policy == "protect":
                blockers.append((source, f, target, min(ids), linking))
    for source, f, target, target_id, linking in blockers:
        left = linking - chosen[source.entity.pk]
        if left:
            raise RecordProtected(
                ngettext(
                    "%(target)s #%(id)s cannot go to the trash: %(count)d %(source)s record "
                    "links to it through %(field)s (#%(ids)s). Change or delete it first.",
                    "%(target)s #%(id)s cannot go to the trash: %(count)d %(source)s records "
                    "link to it through %(field)s (#%(ids)s). Change or delete them first.",
                    len(left),
                )
                % {
                    "target": target.entity.label,
                    "id": target_id,
                    "count": len(left),
                    "source": source.slug,
                    "field": f.slug,
                    "ids": ", #".join(str(i) for i in sorted(left)[:10]),
                },
                entity=source.slug,
                field=f.slug,
                count=len(left),
            )
    return dict(chosen)


def _restore_group(
    registry: SchemaRegistry, schema: EntitySchema, record_id: int, deleted_at: datetime
) -> Groups:
    """The record and the records that went to the trash with it by ``cascade``."""
    refs = incoming_links(registry)
    chosen: defaultdict[int, set[int]] = defaultdict(set)
    pending: list[tuple[EntitySchema, set[int]]] = [(schema, {record_id})]
    while pending:
        target, ids = pending.pop()
        ids = ids - chosen[target.entity.pk]
        if not ids:
            continue
        chosen[target.entity.pk] |= ids
        for source, f in refs.get(target.entity.pk, []):
            if f.options.get("on_delete", "protect") == "cascade":
                linking = _linking(registry, source, f, ids, deleted_at=deleted_at)
                if linking:
                    pending.append((source, linking))
    return dict(chosen)


def _check_unique_free(registry: SchemaRegistry, groups: Groups, main: EntitySchema) -> None:
    """Unique values of the records to restore must not have been taken meanwhile."""
    errors: dict[str, list[str]] = {}
    for entity_pk, ids in groups.items():
        schema = registry.entity_by_id(entity_pk)
        unique = [f for f in schema.fields if f.unique and get_field_type(f.type).has_column]
        if not unique:
            continue
        objs = list(schema.model._base_manager.filter(pk__in=ids))
        for f in unique:
            ftype = get_field_type(f.type)
            mine = {
                obj.pk: column_value(f, ftype.get_value(f, obj))
                for obj in objs
                if ftype.get_value(f, obj) is not None
            }
            if not mine:
                continue
            taken = dict(
                schema.objects()
                .filter(**{f"{f.attname}__in": set(mine.values())})
                .values_list(f.attname, "pk")
            )
            for pk, value in mine.items():
                if value not in taken:
                    continue
                key = f.slug if schema is main else f"{schema.slug}[{pk}].{f.slug}"
                shown = str(value) if f.type == "money" else ftype.to_text(f, value)
                errors.setdefault(key, []).append(
                    _(
                        "%(value)s is now used by %(entity)s #%(other)s; change that record "
                        "before restoring this one."
                    )
                    % {"value": shown, "entity": schema.entity.label, "other": taken[value]}
                )
    if errors:
        raise RecordValidationError(errors)


def _mark(
    ctx: WriteContext,
    groups: Groups,
    *,
    deleted_at: datetime | None,
    action: str,
    event: str,
) -> None:
    for entity_pk, ids in groups.items():
        schema = ctx.registry.entity_by_id(entity_pk)
        manager = schema.model._base_manager
        try:
            with transaction.atomic():
                manager.filter(pk__in=ids).update(
                    deleted_at=deleted_at,
                    updated_at=ctx.now,
                    updated_by_id=ctx.user_id,
                    version=F("version") + 1,
                )
        except IntegrityError as error:  # a unique value taken by a concurrent write
            _schema, f = integrity_field(ctx.registry, error)
            raise RecordValidationError(
                {f.slug: [_("This value is now used by another record.")]}
            ) from error
        for pk, version in manager.filter(pk__in=ids).order_by("id").values_list("pk", "version"):
            ctx.history.append(history_entry(schema, pk, action, version, ctx.user_id))
            ctx.event(event, schema, pk, [], version)
        ctx.links_changed(schema, manager.filter(pk__in=ids))


def _lock(
    schema: EntitySchema, record_id: int, *, in_trash: bool, access: Any = None
) -> models.Model:
    obj = (
        schema.model._base_manager.select_for_update()
        .filter(pk=record_id, deleted_at__isnull=not in_trash)
        .first()
    )
    if obj is None:
        message = (
            _("%(entity)s #%(id)s is not in the trash.")
            if in_trash
            else _("There is no %(entity)s #%(id)s (or it is in the trash already).")
        )
        raise NotFound(message % {"entity": schema.entity.label, "id": record_id})
    if access is not None:
        missing = _("There is no %(entity)s #%(id)s.") % {
            "entity": schema.entity.label,
            "id": record_id,
        }
        check_row(access, schema, record_id, "delete", missing)
    return obj


def record_delete(*, entity: str, record_id: int, user: Any = None) -> models.Model:
    """Move a record to the trash (``deleted_at``), with what cascades from it."""
    registry = get_registry()
    schema = registry.entity(entity)
    refuse_lines(registry, schema)
    access = writer_access(user, "delete", schema)
    with transaction.atomic():
        obj = _lock(schema, record_id, in_trash=False, access=access)
        groups = _trash_group(registry, schema, obj.pk)
        ctx = WriteContext.start(registry, user)
        _mark(ctx, groups, deleted_at=ctx.now, action=Action.DELETE, event=events.RECORD_DELETED)
        ctx.finish()
    obj.refresh_from_db()
    return obj


def record_restore(*, entity: str, record_id: int, user: Any = None) -> models.Model:
    """Bring a record back from the trash with the records trashed together with it."""
    registry = get_registry()
    schema = registry.entity(entity)
    refuse_lines(registry, schema)
    access = writer_access(user, "delete", schema)
    with transaction.atomic():
        obj = _lock(schema, record_id, in_trash=True, access=access)
        groups = _restore_group(registry, schema, obj.pk, obj.deleted_at)
        _check_unique_free(registry, groups, schema)
        ctx = WriteContext.start(registry, user)
        _mark(ctx, groups, deleted_at=None, action=Action.RESTORE, event=events.RECORD_RESTORED)
        ctx.finish()
    obj.refresh_from_db()
    return obj
