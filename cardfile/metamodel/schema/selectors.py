"""Reads of the schema for the API and the configurator: live entities and fields, the trash."""

from __future__ import annotations

from django.db.models import QuerySet

from cardfile.metamodel.models import Entity, Field


def entity_list() -> QuerySet[Entity]:
    """Live entities in the owner's order, with their title fields."""
    return (
        Entity.objects.filter(deleted_at__isnull=True)
        .select_related("title_field")
        .order_by("position", "id")
    )


def entity_fields(entity: Entity) -> list[Field]:
    """The live fields of an entity, in order."""
    return list(entity.fields.filter(deleted_at__isnull=True).order_by("position", "id"))


def trash_entities() -> QuerySet[Entity]:
    return Entity.objects.filter(deleted_at__isnull=False).order_by("-deleted_at", "-id")


def trash_fields() -> QuerySet[Field]:
    return (
        Field.objects.filter(deleted_at__isnull=False)
        .select_related("entity")
        .order_by("-deleted_at", "-id")
    )
