"""Reads of records: querysets with their relations loaded, one record, history, duplicates.

Reading N records costs a fixed number of queries: links and users come with the records
(``select_related``), multi-links and child-table lines with one query each (prefetch).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import models
from django.db.models import Count, Prefetch
from django.db.models.query import ModelIterable
from django.utils import timezone
from django.utils.translation import gettext as _

from cardfile.core.exceptions import NotFound
from cardfile.metamodel.fields import get_field_type
from cardfile.metamodel.models import Field, RecordHistory
from cardfile.metamodel.schema.dynamic import EntitySchema, SchemaRegistry, get_registry

from .cleaning import multi_link_ids, position_field
from .history import history_as_dicts


def line_ordering(schema: EntitySchema) -> list[str]:
    """Lines keep the order they were given in: a position field if the line entity has one,
    else creation order (new lines are inserted in list order)."""
    ordering = position_field(schema)
    return [ordering.attname, "id"] if ordering is not None else ["id"]


class RecordQuerySet(models.QuerySet):
    """Records that bring their multi-link ids along (one query per multi_link field, on its
    through table, for all fetched records) and the schema registry they were read with, so
    serializing them needs no further query."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._cf_registry: SchemaRegistry | None = None
        self._cf_links: list[Field] = []

    def _clone(self) -> RecordQuerySet:
        clone = super()._clone()
        clone._cf_registry = self._cf_registry
        clone._cf_links = self._cf_links
        return clone

    def _fetch_all(self) -> None:
        fresh = self._result_cache is None
        super()._fetch_all()
        if fresh and self._cf_registry is not None and self._iterable_class is ModelIterable:
            for obj in self._result_cache:
                obj.__dict__["_cf_registry"] = self._cf_registry
            if self._cf_links:
                attach_links(self._cf_registry, self._cf_links, self._result_cache)


def attach_links(registry: SchemaRegistry, fields: list[Field], objs: list[models.Model]) -> None:
    ids = [obj.pk for obj in objs]
    for f in fields:
        links = multi_link_ids(registry, f, ids) if ids else {}
        for obj in objs:
            obj.__dict__.setdefault("_cf_links", {})[f.pk] = links.get(obj.pk, [])


def with_relations(
    registry: SchemaRegistry, schema: EntitySchema, queryset: models.QuerySet
) -> RecordQuerySet:
    """Multi-links and lines in one query each. Links and users need no join: their values
    are the ids in the record's own row (``?expand=`` loads targets on its own)."""
    queryset = RecordQuerySet(
        model=queryset.model, query=queryset.query.chain(), using=queryset._db
    )
    queryset._cf_registry = registry
    queryset._cf_links = [f for f in schema.fields if f.type == "multi_link"]
    prefetches: list[Prefetch] = []
    for f in schema.child_fields:
        child = registry.entity_by_id(f.options["target_id"])
        lines = with_relations(
            registry, child, child.model._default_manager.filter(deleted_at__isnull=True)
        ).order_by(*line_ordering(child))
        prefetches.append(Prefetch(f"rev_f{f.pk}", queryset=lines))
    if prefetches:
        queryset = queryset.prefetch_related(*prefetches)
    return queryset


def record_queryset(entity: str, *, include_trash: bool = False) -> models.QuerySet:
    """Live records of an entity (with ``include_trash`` also those in the trash), by id."""
    registry = get_registry()
    schema = registry.entity(entity)
    queryset = schema.model._default_manager.all() if include_trash else schema.objects()
    return with_relations(registry, schema, queryset).order_by("id")


def record_get(entity: str, record_id: int, *, include_trash: bool = False) -> models.Model:
    obj = record_queryset(entity, include_trash=include_trash).filter(pk=record_id).first()
    if obj is None:
        raise NotFound(
            _("There is no %(entity)s #%(id)s.") % {"entity": entity, "id": record_id},
            code="not_found",
        )
    return obj


def _prefetched(obj: models.Model, name: str) -> bool:
    return name in getattr(obj, "_prefetched_objects_cache", {})


def _moment(value: Any) -> str | None:
    return None if value is None else timezone.localtime(value).isoformat()


# Given an entity, the ids of its fields to leave out (those hidden from the reader).
Hide = Callable[[EntitySchema], frozenset[int]]


def record_to_dict(
    schema: EntitySchema,
    obj: models.Model,
    *,
    registry: SchemaRegistry | None = None,
    hide: Hide | None = None,
) -> dict[str, Any]:
    """A record as the API shows it: system values, each field's serialized value by slug, and
    each child table as a list of line dicts; without the fields ``hide`` names."""
    registry = registry or obj.__dict__.get("_cf_registry")
    hidden = hide(schema) if hide is not None else frozenset()
    data: dict[str, Any] = {
        "id": obj.pk,
        "version": obj.version,
        "created_at": _moment(obj.created_at),
        "updated_at": _moment(obj.updated_at),
        "created_by": obj.created_by_id,
        "updated_by": obj.updated_by_id,
        "branch": obj.branch_id,
    }
    for f in schema.fields:
        if f.pk in hidden:
            continue
        ftype = get_field_type(f.type)
        if f.type == "child_table":
            registry = registry or get_registry()
            child = registry.entity_by_id(f.options["target_id"])
            data[f.slug] = [
                record_to_dict(child, line, registry=registry, hide=hide)
                for line in _lines(child, f, obj)
            ]
        elif f.type == "multi_link":
            loaded = obj.__dict__.get("_cf_links", {})
            if f.pk in loaded:
                data[f.slug] = list(loaded[f.pk])
            else:
                registry = registry or get_registry()
                data[f.slug] = multi_link_ids(registry, f, [obj.pk])[obj.pk] if obj.pk else []
        elif ftype.has_column:
            value = ftype.get_value(f, obj)
            data[f.slug] = None if value is None else ftype.serialize(f, value)
    return data


def _lines(child: EntitySchema, f: Field, obj: models.Model) -> list[models.Model]:
    name = f"rev_f{f.pk}"
    if obj.pk is None:
        return []
    manager = getattr(obj, name)
    if _prefetched(obj, name):
        return list(manager.all())
    return list(manager.filter(deleted_at__isnull=True).order_by(*line_ordering(child)))


def record_history(entity: str, record_id: int, *, user: Any = None) -> list[dict[str, Any]]:
    """Who changed what and when, oldest first; changes keyed by the fields' current slugs.

    Also for a record in the trash. ``user`` must be able to read the record (else NotFound,
    as for a missing one); fields hidden from them are left out of every entry."""
    from cardfile.metamodel.access import access_for, require

    registry = get_registry()
    schema = registry.entity(entity)
    access = access_for(user)
    require(access, "read", schema)
    rows = schema.model._base_manager.filter(pk=record_id)
    if not access.unrestricted and not access.visible(schema, rows).exists():
        raise NotFound(
            _("There is no %(entity)s #%(id)s.") % {"entity": entity, "id": record_id},
            code="not_found",
        )
    entries = list(
        RecordHistory.objects.filter(entity_id=schema.entity.pk, record_id=record_id)
        .select_related("user")
        .order_by("id")
    )
    hide = None if access.unrestricted else access.hidden
    return history_as_dicts(registry, schema, entries, hide=hide)


def duplicate_values(schema: EntitySchema, field: Field) -> list[tuple[Any, int]]:
    """Values that more than one live record holds, most frequent first, as (value, count).

    Values are in their JSON form (a money field: its amount as text)."""
    ftype = get_field_type(field.type)
    rows = (
        schema.objects()
        .exclude(**{f"{field.attname}__isnull": True})
        .values(field.attname)
        .annotate(count=Count("pk"))
        .filter(count__gt=1)
        .order_by("-count", field.attname)
    )
    result = []
    for row in rows:
        value = row[field.attname]
        shown = str(value) if field.type == "money" else ftype.serialize(field, value)
        result.append((shown, row["count"]))
    return result
