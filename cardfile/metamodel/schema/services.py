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

from cardfile.core.exceptions import CardfileError, NotFound
from cardfile.core.models import AuditLog
from cardfile.core.services import audit_log_record
from cardfile.metamodel.fields import FieldOptionsError, FieldValueError, get_field_type
from cardfile.metamodel.models import SLUG_MAX_LENGTH, ArchivedColumn, Entity, Field, slug_validator

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


class SchemaValidationError(CardfileError):
    """Bad input for an entity or a field; ``details['errors']`` maps names to messages."""

    code = "invalid"

    def __init__(self, errors: dict[str, list[str]]) -> None:
        first = next(iter(errors.items()))
        super().__init__(f"{first[0]}: {first[1][0]}", errors=errors)
        self.errors = errors


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


def field_public_options(f: Field) -> dict[str, Any]:
    """Options as the API shows them: the target entity by slug, not by id."""
    options = dict(f.options or {})
    if "target_id" in options:
        target = Entity.objects.filter(pk=options["target_id"]).values_list("slug", flat=True)
        options = {
            "target": target.first(),
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


def entity_create(
    *,
    slug: str,
    label: str,
    label_plural: str = "",
    description: str = "",
    user: AbstractBaseUser | None = None,
) -> Entity:
    errors: dict[str, list[str]] = {}
    if problems := _check_slug(slug, what=_("entity")):
        errors["slug"] = problems
    elif Entity.objects.filter(slug=slug, deleted_at__isnull=True).exists():
        errors["slug"] = [_("An entity %(slug)s exists already.") % {"slug": slug}]
    if not label:
        errors["label"] = [_("An entity needs a label.")]
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
            position=position,
        )
        registry = sync.bump_schema()
        sync.create_entity_table(registry, entity)
        _audit(user, AuditLog.Action.CREATE, entity, after=entity_as_dict(entity))
    return entity


def entity_update(*, entity: str, user: AbstractBaseUser | None = None, **changes: Any) -> Entity:
    """Change slug (a rename: metadata only), label, label_plural, description, title_field or
    position."""
    allowed = {"slug", "label", "label_plural", "description", "title_field", "position"}
    errors: dict[str, list[str]] = {
        key: [_("Unknown or read-only attribute.")] for key in changes if key not in allowed
    }
    with schema_atomic():
        sync.lock_schema()
        obj = entity_get(entity)
        before = entity_as_dict(obj)
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
        if errors:
            raise SchemaValidationError(errors)
        obj.save()
        sync.bump_schema()
        _audit(user, AuditLog.Action.UPDATE, obj, before=before, after=entity_as_dict(obj))
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


# -- fields ------------------------------------------------------------------------------------


def _clean_default(f: Field, default: Any) -> Any:
    """Validate a literal default through the field type; store its JSON form."""
    if default is None:
        return None
    ftype = get_field_type(f.type)
    if not ftype.writable or f.type in {"child_table", "multi_link", "file", "image"}:
        raise SchemaValidationError({"default": [_("This type of field takes no default value.")]})
    try:
        return ftype.serialize(f, ftype.to_internal(f, default))
    except FieldValueError as error:
        raise SchemaValidationError({"default": [error.message]}) from None


def clean_field_options(ftype, options: dict[str, Any] | None) -> dict[str, Any]:
    try:
        return ftype.clean_options(options)
    except FieldOptionsError as error:
        errors = error.details.get("errors") or {}
        raise SchemaValidationError(
            {f"options.{k}" if k != "options" else "options": v for k, v in errors.items()}
            or {"options": [error.message]}
        ) from None


def _check_child_target(entity: Entity, options: dict[str, Any]) -> None:
    target_id = options["target_id"]
    if target_id == entity.pk:
        raise SchemaValidationError({"options.target": [_("An entity cannot be its own lines.")]})
    owner = [
        f
        for f in Field.objects.filter(deleted_at__isnull=True, type="child_table")
        if f.options.get("target_id") == target_id
    ]
    if owner:
        raise SchemaValidationError(
            {
                "options.target": [
                    _("These lines already belong to %(field)s.") % {"field": owner[0]}
                ]
            }
        )
    schema = get_registry().entity_by_id(target_id)
    if schema.objects().exists():
        raise SchemaValidationError(
            {
                "options.target": [
                    _(
                        "%(entity)s already has records; lines must belong to a parent, "
                        "so choose an entity without records."
                    )
                    % {"entity": schema.slug}
                ]
            }
        )


def field_create(
    *,
    entity: str,
    slug: str,
    label: str,
    type: str,  # noqa: A002  (the contract's name)
    required: bool = False,
    unique: bool = False,
    indexed: bool = False,
    default: Any = None,
    options: dict[str, Any] | None = None,
    help_text: str = "",
    position: int | None = None,
    user: AbstractBaseUser | None = None,
) -> Field:
    errors: dict[str, list[str]] = {}
    if problems := _check_slug(slug, what=_("field")):
        errors["slug"] = problems
    elif slug in RESERVED_SLUGS:
        errors["slug"] = [_("%(slug)s is a reserved name.") % {"slug": slug}]
    if not label:
        errors["label"] = [_("A field needs a label.")]
    try:
        ftype = get_field_type(type)
    except FieldOptionsError as error:
        errors["type"] = [error.message]
        raise SchemaValidationError(errors) from None
    if unique and not ftype.can_be_unique:
        errors["unique"] = [_("A %(type)s field cannot be unique.") % {"type": type}]
    if indexed and not ftype.can_be_indexed:
        errors["indexed"] = [_("A %(type)s field cannot be indexed.") % {"type": type}]
    if errors:
        raise SchemaValidationError(errors)
    with schema_atomic():
        sync.lock_schema()
        owner = entity_get(entity)
        if owner.fields.filter(slug=slug, deleted_at__isnull=True).exists():
            raise SchemaValidationError(
                {
                    "slug": [
                        _("%(entity)s already has a field %(slug)s.")
                        % {"entity": owner.slug, "slug": slug}
                    ]
                }
            )
        clean = clean_field_options(ftype, options)
        if type == "child_table":
            _check_child_target(owner, clean)
        if position is None:
            position = (owner.fields.aggregate(p=Max("position"))["p"] or 0) + 1
        f = Field(
            entity=owner,
            slug=slug,
            label=label,
            type=type,
            required=required,
            unique=unique or type == "autonumber",
            indexed=indexed,
            options=clean,
            help_text=help_text,
            position=position,
        )
        f.default = _clean_default(f, default)
        f.save()
        if owner.title_field_id is None and type in TITLE_TYPES:
            owner.title_field = f
            owner.save(update_fields=["title_field", "updated_at"])
        registry = sync.bump_schema()
        sync.add_field_columns(registry, f)
        _audit(user, AuditLog.Action.CREATE, f, after=field_as_dict(f))
    return f


def field_update(
    *,
    entity: str,
    field: str,
    user: AbstractBaseUser | None = None,
    confirm: bool = False,
    **changes: Any,
) -> Field:
    """Rename, relabel, or change required, unique, indexed, default, options, help_text or
    position. Options that change the column (decimal places) or that existing values no longer
    fit (a removed choice) go through the conversion check: refused with the count and a sample
    unless ``confirm``. A change of ``type`` goes to `field_change_type`."""
    if "type" in changes:
        from .conversion import field_change_type

        new_type = changes.pop("type")
        converted = field_change_type(
            entity=entity,
            field=field,
            new_type=new_type,
            options=changes.pop("options", None),
            confirm=confirm,
            user=user,
        )
        if not changes:
            return converted
        field = converted.slug
    allowed = {
        "slug",
        "label",
        "required",
        "unique",
        "indexed",
        "default",
        "options",
        "help_text",
        "position",
    }
    errors: dict[str, list[str]] = {
        key: [_("Unknown or read-only attribute.")] for key in changes if key not in allowed
    }
    if errors:
        raise SchemaValidationError(errors)
    with schema_atomic():
        sync.lock_schema()
        owner = entity_get(entity)
        f = field_get(owner, field)
        ftype = get_field_type(f.type)
        before = field_as_dict(f)
        registry = get_registry()
        if "slug" in changes and changes["slug"] != f.slug:
            new_slug = changes["slug"]
            if problems := _check_slug(new_slug, what=_("field")):
                errors["slug"] = problems
            elif new_slug in RESERVED_SLUGS:
                errors["slug"] = [_("%(slug)s is a reserved name.") % {"slug": new_slug}]
            elif owner.fields.filter(slug=new_slug, deleted_at__isnull=True).exists():
                errors["slug"] = [
                    _("%(entity)s already has a field %(slug)s.")
                    % {"entity": owner.slug, "slug": new_slug}
                ]
            f.slug = new_slug
        if "label" in changes:
            if not changes["label"]:
                errors["label"] = [_("A field needs a label.")]
            f.label = changes["label"]
        for key in ("required", "help_text", "position"):
            if key in changes:
                setattr(f, key, changes[key])
        if errors:
            raise SchemaValidationError(errors)
        if "options" in changes:
            given = dict(changes["options"] or {})
            merged = {**f.options, **given}
            if "target" in given:
                merged.pop("target_id", None)
            new_options = clean_field_options(ftype, merged)
            if new_options.get("target_id") != f.options.get("target_id"):
                raise SchemaValidationError(
                    {
                        "options.target": [
                            _(
                                "The target of a link cannot change; add a new field "
                                "that links to the other entity instead."
                            )
                        ]
                    }
                )
            if new_options != f.options:
                from .conversion import field_change_type

                f.save()
                sync.bump_schema()
                f = field_change_type(
                    entity=owner.slug,
                    field=f.slug,
                    new_type=f.type,
                    options=new_options,
                    confirm=confirm,
                    user=user,
                )
                before = {**before, "options": field_public_options(f)}
                registry = get_registry()
        if "default" in changes:
            f.default = _clean_default(f, changes["default"])
        if "unique" in changes and bool(changes["unique"]) != f.unique:
            _change_unique(registry, f, bool(changes["unique"]))
        if "indexed" in changes and bool(changes["indexed"]) != f.indexed:
            if changes["indexed"] and not ftype.can_be_indexed:
                raise SchemaValidationError(
                    {"indexed": [_("A %(type)s field cannot be indexed.") % {"type": f.type}]}
                )
            f.indexed = bool(changes["indexed"])
            sync.set_indexed(registry, f, indexed=f.indexed)
        f.save()
        sync.bump_schema()
        _audit(user, AuditLog.Action.UPDATE, f, before=before, after=field_as_dict(f))
    return f


def _change_unique(registry, f: Field, unique: bool) -> None:
    ftype = get_field_type(f.type)
    if f.type == "autonumber" and not unique:
        raise SchemaValidationError({"unique": [_("An autonumber is always unique.")]})
    if unique:
        if not ftype.can_be_unique:
            raise SchemaValidationError(
                {"unique": [_("A %(type)s field cannot be unique.") % {"type": f.type}]}
            )
        from cardfile.metamodel.records.selectors import duplicate_values

        duplicates = duplicate_values(registry.entity_by_id(f.entity_id), f)
        if duplicates:
            sample = ", ".join(repr(v) for v, _n in duplicates[:5])
            raise SchemaValidationError(
                {
                    "unique": [
                        _(
                            "%(n)d values occur more than once (for example %(sample)s); "
                            "make them distinct first."
                        )
                        % {"n": len(duplicates), "sample": sample}
                    ]
                }
            )
    f.unique = unique
    sync.set_unique(registry, f, unique=unique)


def field_delete(*, entity: str, field: str, user: AbstractBaseUser | None = None) -> Field:
    """Move a field to the trash; its column and values stay until it is purged."""
    with schema_atomic():
        sync.lock_schema()
        owner = entity_get(entity)
        f = field_get(owner, field)
        registry = get_registry()
        sync.drop_field_extras(registry, f)
        f.deleted_at = timezone.now()
        f.save(update_fields=["deleted_at", "updated_at"])
        if owner.title_field_id == f.pk:
            owner.title_field = None
            owner.save(update_fields=["title_field", "updated_at"])
        sync.bump_schema()
        _audit(user, AuditLog.Action.DELETE, f, before=field_as_dict(f))
    return f


def field_restore(
    *, field_id: int, user: AbstractBaseUser | None = None, slug: str | None = None
) -> Field:
    with schema_atomic():
        sync.lock_schema()
        f = (
            Field.objects.select_related("entity")
            .filter(pk=field_id, deleted_at__isnull=False)
            .first()
        )
        if f is None:
            raise NotFound(_("That field is not in the trash."), code="not_in_trash")
        if f.entity.deleted_at is not None:
            raise SchemaChangeError(
                _("Restore the entity %(entity)s first.") % {"entity": f.entity.slug},
                code="entity_in_trash",
            )
        target_id = f.options.get("target_id")
        if target_id and not Entity.objects.filter(pk=target_id, deleted_at__isnull=True).exists():
            raise SchemaChangeError(
                _("The entity this field links to is in the trash; restore it first."),
                code="target_in_trash",
            )
        new_slug = slug or f.slug
        if f.entity.fields.filter(slug=new_slug, deleted_at__isnull=True).exists():
            raise SchemaValidationError(
                {
                    "slug": [
                        _("%(entity)s has a field %(slug)s now; restore under another slug.")
                        % {"entity": f.entity.slug, "slug": new_slug}
                    ]
                }
            )
        f.slug = new_slug
        f.deleted_at = None
        f.save(update_fields=["slug", "deleted_at", "updated_at"])
        registry = sync.bump_schema()
        schema = registry.entity_by_id(f.entity_id)
        if get_field_type(f.type).has_column:
            if f.unique:
                sync.set_unique(registry, f, unique=True)
            if f.indexed:
                sync.set_indexed(registry, f, indexed=True)
        del schema
        _audit(user, AuditLog.Action.RESTORE, f, after=field_as_dict(f))
    return f


def field_purge(*, field_id: int, user: AbstractBaseUser | None = None) -> None:
    """Drop a trashed field's columns (and archived columns) for good."""
    with schema_atomic():
        sync.lock_schema()
        f = (
            Field.objects.select_related("entity")
            .filter(pk=field_id, deleted_at__isnull=False)
            .first()
        )
        if f is None:
            raise NotFound(_("Only a field in the trash can be purged."), code="not_in_trash")
        before = field_as_dict(f)
        ftype = get_field_type(f.type)
        table = f.entity.table_name
        if f.type == "multi_link":
            sync.drop_table(f"cf_m{f.pk}")
        elif f.type == "child_table":
            child = Entity.objects.filter(pk=f.options.get("target_id")).first()
            if child is not None and sync.column_exists(child.table_name, f.column):
                sync.drop_column(child.table_name, f.column)
        else:
            for attname in ftype.model_fields(f):
                column = f.column + attname.removeprefix(f.attname)
                if sync.column_exists(table, column):
                    sync.drop_column(table, column)
        for archived in ArchivedColumn.objects.filter(field=f):
            for suffix in ("", "_cur"):
                if sync.column_exists(table, archived.column + suffix):
                    sync.drop_column(table, archived.column + suffix)
        _audit(user, AuditLog.Action.PURGE, f, before=before)
        f.delete()
        sync.bump_schema()
