"""Writes to the schema: entities and fields, each with its DDL in the same transaction.

Every function here locks the schema row, changes metadata, runs DDL through the schema editor,
bumps the schema token and writes the audit log, all in one transaction: a failure leaves nothing
half-done. Trash keeps tables and columns with their values; purging is an explicit step.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from cardfile.core.exceptions import InvalidInput, NotFound
from cardfile.core.models import AuditLog
from cardfile.core.services import audit_log_record
from cardfile.metamodel.models import SLUG_MAX_LENGTH, Entity, Field, slug_validator

from . import sync
from .dynamic import SYSTEM_FIELDS, get_registry
from .sync import SchemaChangeError, schema_atomic

# Names the record API uses for itself (`?sort=`, `?where=`...), so no field may take them.
RESERVED_SLUGS = frozenset(
    {
        *SYSTEM_FIELDS,
        "pk",
        "objects",
        "search",
        "where",
        "sort",
        "page",
        "page_size",
        "expand",
        "cursor",
        "format",
        "fields",
    }
)
TITLE_TYPES = {"text", "autonumber", "email", "phone", "choice"}


class SchemaValidationError(InvalidInput):
    """Bad input for an entity or a field; ``errors`` maps names to messages."""


def _check_slug(slug: Any, *, what: str) -> list[str]:
    if not isinstance(slug, str) or not slug:
        return [_("A %(what)s needs a slug.") % {"what": what}]
    problems = []
    try:
        slug_validator(slug)
    except ValidationError as error:
        problems.extend(str(m) for m in error.messages)
    if len(slug) > SLUG_MAX_LENGTH:
        problems.append(_("At most %(n)d characters.") % {"n": SLUG_MAX_LENGTH})
    return problems


# -- read helpers used by services, the API and the audit log ------------------------------------


def merge_options(current: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """``current`` with ``given`` laid over it; a key given as ``None`` is removed, so an
    option can be cleared (back to its default, or unset) rather than only changed."""
    merged = {**current, **given}
    return {k: v for k, v in merged.items() if not (k in given and given[k] is None)}


def entity_get(slug: str, *, include_trash: bool = False) -> Entity:
    queryset = (
        Entity.objects.all() if include_trash else Entity.objects.filter(deleted_at__isnull=True)
    )
    entity = queryset.filter(slug=slug).order_by("deleted_at").first()
    if entity is None:
        raise NotFound(
            _("There is no entity %(entity)s.") % {"entity": slug}, code="unknown_entity"
        )
    return entity


def field_get(entity: Entity, slug: str) -> Field:
    found = entity.fields.filter(slug=slug, deleted_at__isnull=True).first()
    if found is None:
        raise NotFound(
            _("Entity %(entity)s has no field %(field)s.") % {"entity": entity.slug, "field": slug},
            code="unknown_field",
        )
    return found


def _entity_slug(entity_id: int) -> str | None:
    """A live entity's slug from the schema in memory; a query only for one in the trash."""
    try:
        return get_registry().entity_by_id(entity_id).slug
    except NotFound:
        return Entity.objects.filter(pk=entity_id).values_list("slug", flat=True).first()


def field_public_options(f: Field) -> dict[str, Any]:
    """Options as the API shows them: the target entity by slug, not by id."""
    options = dict(f.options or {})
    if "target_id" in options:
        options = {
            "target": _entity_slug(options["target_id"]),
            **{k: v for k, v in options.items() if k != "target_id"},
        }
    return options


def entity_as_dict(entity: Entity) -> dict[str, Any]:
    return {
        "slug": entity.slug,
        "label": entity.label,
        "label_plural": entity.label_plural,
        "description": entity.description,
        "title_field": entity.title_field.slug if entity.title_field_id else None,
        "validation_rules": list(entity.validation_rules or []),
    }


def field_as_dict(f: Field) -> dict[str, Any]:
    return {
        "slug": f.slug,
        "label": f.label,
        "type": f.type,
        "required": f.required,
        "unique": f.unique,
        "indexed": f.indexed,
        "default": f.default,
        "default_formula": f.default_formula,
        "options": field_public_options(f),
        "help_text": f.help_text,
    }


def _audit(user, action: str, obj: Entity | Field, before=None, after=None) -> None:
    kind = "entity" if isinstance(obj, Entity) else "field"
    audit_log_record(
        user=user,
        action=action,
        object_type=kind,
        object_id=obj.pk,
        object_repr=obj.slug if kind == "entity" else f"{obj.entity.slug}.{obj.slug}",
        before=before,
        after=after,
    )


# -- entities ----------------------------------------------------------------------------------

NAV_GROUP_MAX_LENGTH = 100


def _nav_group_problems(nav_group: Any) -> dict[str, list[str]]:
    if nav_group is not None and not isinstance(nav_group, str):
        return {"nav_group": [_("A menu group is a text.")]}
    if nav_group and len(nav_group) > NAV_GROUP_MAX_LENGTH:
        return {"nav_group": [_("At most %(n)d characters.") % {"n": NAV_GROUP_MAX_LENGTH}]}
    return {}


def _entity_audited(entity: Entity) -> dict[str, Any]:
    """What the audit log keeps of an entity: the API shape and its menu group."""
    return {**entity_as_dict(entity), "nav_group": entity.nav_group}


def entity_create(
    *,
    slug: str,
    label: str,
    label_plural: str = "",
    description: str = "",
    nav_group: str = "",
    user: AbstractBaseUser | None = None,
) -> Entity:
    errors: dict[str, list[str]] = {}
    if problems := _check_slug(slug, what=_("entity")):
        errors["slug"] = problems
    elif Entity.objects.filter(slug=slug, deleted_at__isnull=True).exists():
        errors["slug"] = [_("An entity %(slug)s exists already.") % {"slug": slug}]
    if not label:
        errors["label"] = [_("An entity needs a label.")]
    errors.update(_nav_group_problems(nav_group))
    if errors:
        raise SchemaValidationError(errors)
    with schema_atomic():
        sync.lock_schema()
        position = (Entity.objects.aggregate(p=Max("position"))["p"] or 0) + 1
        entity = Entity.objects.create(
            slug=slug,
            label=label,
            label_plural=label_plural or label,
            description=description,
            nav_group=nav_group,
            position=position,
        )
        registry = sync.bump_schema()
        sync.create_entity_table(registry, entity)
        _audit(user, AuditLog.Action.CREATE, entity, after=_entity_audited(entity))
    return entity


def entity_update(*, entity: str, user: AbstractBaseUser | None = None, **changes: Any) -> Entity:
    """Change slug (a rename: metadata only), label, label_plural, description, nav_group (the
    menu group), title_field, position or validation_rules (each condition checked against the
    entity)."""
    allowed = {
        "slug",
        "label",
        "label_plural",
        "description",
        "nav_group",
        "title_field",
        "position",
        "validation_rules",
    }
    errors: dict[str, list[str]] = {
        key: [_("Unknown or read-only attribute.")] for key in changes if key not in allowed
    }
    with schema_atomic():
        sync.lock_schema()
        obj = entity_get(entity)
        before = _entity_audited(obj)
        if "slug" in changes and changes["slug"] != obj.slug:
            new_slug = changes["slug"]
            if problems := _check_slug(new_slug, what=_("entity")):
                errors["slug"] = problems
            elif Entity.objects.filter(slug=new_slug, deleted_at__isnull=True).exists():
                errors["slug"] = [_("An entity %(slug)s exists already.") % {"slug": new_slug}]
            obj.slug = new_slug
        for key in ("label", "label_plural", "description"):
            if key in changes:
                setattr(obj, key, changes[key] or "")
        if "label" in changes and not changes["label"]:
            errors["label"] = [_("An entity needs a label.")]
        if "nav_group" in changes:
            errors.update(_nav_group_problems(changes["nav_group"]))
            obj.nav_group = (changes["nav_group"] or "").strip()
        if "position" in changes:
            obj.position = int(changes["position"])
        if "title_field" in changes:
            title = changes["title_field"]
            if title in (None, ""):
                obj.title_field = None
            else:
                try:
                    obj.title_field = field_get(obj, title)
                except NotFound as error:
                    errors["title_field"] = [error.message]
        if "validation_rules" in changes and not errors:
            from cardfile.metamodel.formulas.exceptions import FormulaDefinitionError
            from cardfile.metamodel.formulas.rules import clean_validation_rules

            try:
                obj.validation_rules = clean_validation_rules(
                    get_registry().entity_by_id(obj.pk), changes["validation_rules"]
                )
            except FormulaDefinitionError as refused:
                raise SchemaValidationError(refused.errors, formula=refused.formula) from None
        if errors:
            raise SchemaValidationError(errors)
        obj.save()
        sync.bump_schema()
        _audit(user, AuditLog.Action.UPDATE, obj, before=before, after=_entity_audited(obj))
    return obj


def _referencing_fields(entity: Entity) -> list[Field]:
    """Live fields of other entities that link to this one."""
    return [
        f
        for f in Field.objects.filter(
            deleted_at__isnull=True,
            entity__deleted_at__isnull=True,
            type__in=["link", "multi_link", "child_table"],
        ).select_related("entity")
        if f.options.get("target_id") == entity.pk and f.entity_id != entity.pk
    ]


def _child_entities(entity: Entity) -> list[Entity]:
    ids = [
        f.options["target_id"]
        for f in entity.fields.filter(deleted_at__isnull=True, type="child_table")
    ]
    return list(Entity.objects.filter(pk__in=ids, deleted_at__isnull=True))


def entity_delete(*, entity: str, user: AbstractBaseUser | None = None) -> Entity:
    """Move an entity to the trash with its table and records; its line entities go with it."""
    with schema_atomic():
        sync.lock_schema()
        obj = entity_get(entity)
        moving = [obj, *_child_entities(obj)]
        moving_ids = {e.pk for e in moving}
        blockers = [
            f for e in moving for f in _referencing_fields(e) if f.entity_id not in moving_ids
        ]
        if blockers:
            names = ", ".join(f"{f.entity.slug}.{f.slug}" for f in blockers)
            raise SchemaChangeError(
                _("%(entity)s is linked from %(fields)s; delete or change those fields first.")
                % {"entity": obj.slug, "fields": names},
                code="entity_in_use",
            )
        now = timezone.now()
        for e in moving:
            e.deleted_at = now
            e.save(update_fields=["deleted_at", "updated_at"])
            _audit(user, AuditLog.Action.DELETE, e, before=entity_as_dict(e))
        sync.bump_schema()
    return obj


def entity_restore(
    *, entity_id: int, user: AbstractBaseUser | None = None, slug: str | None = None
) -> Entity:
    """Bring an entity back from the trash, under a new slug if its old one was taken since."""
    with schema_atomic():
        sync.lock_schema()
        obj = Entity.objects.filter(pk=entity_id, deleted_at__isnull=False).first()
        if obj is None:
            raise NotFound(_("That entity is not in the trash."), code="not_in_trash")
        trashed_at = obj.deleted_at
        new_slug = slug or obj.slug
        if problems := _check_slug(new_slug, what=_("entity")):
            raise SchemaValidationError({"slug": problems})
        if Entity.objects.filter(slug=new_slug, deleted_at__isnull=True).exists():
            raise SchemaValidationError(
                {
                    "slug": [
                        _("An entity %(slug)s exists now; restore it under another slug.")
                        % {"slug": new_slug}
                    ]
                }
            )
        obj.slug = new_slug
        obj.deleted_at = None
        obj.save(update_fields=["slug", "deleted_at", "updated_at"])
        # Line entities trashed together with it come back together with it.
        children = [
            Entity.objects.filter(pk=f.options["target_id"], deleted_at=trashed_at).first()
            for f in obj.fields.filter(deleted_at__isnull=True, type="child_table")
        ]
        for child in [c for c in children if c is not None]:
            child.deleted_at = None
            child.save(update_fields=["deleted_at", "updated_at"])
            _audit(user, AuditLog.Action.RESTORE, child, after=entity_as_dict(child))
        sync.bump_schema()
        _audit(user, AuditLog.Action.RESTORE, obj, after=entity_as_dict(obj))
    return obj


def entity_purge(*, entity_id: int, user: AbstractBaseUser | None = None) -> None:
    """Drop a trashed entity's table and metadata for good."""
    with schema_atomic():
        sync.lock_schema()
        obj = Entity.objects.filter(pk=entity_id, deleted_at__isnull=False).first()
        if obj is None:
            raise NotFound(_("Only an entity in the trash can be purged."), code="not_in_trash")
        blockers = [f for f in _referencing_fields(obj) if f.entity.deleted_at is None]
        if blockers:
            raise SchemaChangeError(
                _("%(entity)s is still linked from %(fields)s.")
                % {"entity": obj.slug, "fields": ", ".join(str(f) for f in blockers)},
                code="entity_in_use",
            )
        before = entity_as_dict(obj)
        for f in obj.fields.filter(type="multi_link"):
            sync.drop_table(f"cf_m{f.pk}")
        sync.drop_table(obj.table_name)
        _audit(user, AuditLog.Action.PURGE, obj, before=before)
        obj.delete()
        sync.bump_schema()


# The field services live in `field_services`; this module stays the one import path.
from .field_services import (  # noqa: E402
    clean_field_options,
    field_create,
    field_delete,
    field_purge,
    field_restore,
    field_update,
)

__all__ = [
    "RESERVED_SLUGS",
    "SchemaValidationError",
    "clean_field_options",
    "entity_as_dict",
    "entity_create",
    "entity_delete",
    "entity_get",
    "entity_purge",
    "entity_restore",
    "entity_update",
    "field_as_dict",
    "field_create",
    "field_delete",
    "field_get",
    "field_public_options",
    "field_purge",
    "field_restore",
    "field_update",
]
