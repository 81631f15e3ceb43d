"""Writes to fields: create, update (rename, options, unique, index), trash, restore, purge.

Same rules as the entity services: schema lock, metadata and DDL in one transaction, schema token
bumped, audit log written.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from cardfile.core.exceptions import NotFound
from cardfile.core.models import AuditLog
from cardfile.core.selectors import installation_get
from cardfile.metamodel.fields import FieldOptionsError, FieldValueError, get_field_type
from cardfile.metamodel.fields.computed import COMPUTED_TYPES
from cardfile.metamodel.formulas.exceptions import FormulaDefinitionError
from cardfile.metamodel.formulas.services import (
    computed_options,
    recompute_later,
    refuse_if_read,
)
from cardfile.metamodel.models import ArchivedColumn, Entity, Field

from . import sync
from .dynamic import get_registry
from .services import (
    RESERVED_SLUGS,
    TITLE_TYPES,
    SchemaValidationError,
    _audit,
    _check_slug,
    entity_get,
    field_as_dict,
    field_get,
    field_public_options,
    merge_options,
)
from .sync import SchemaChangeError, schema_atomic


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


def clean_field_options(
    ftype, options: dict[str, Any] | None, *, entity: Entity | None = None, slug: str = ""
) -> dict[str, Any]:
    """Options checked by the type; with ``entity``, also the fields and formulas they name
    (a type's ``check_in_entity``, e.g. a status's required fields and ``set`` formulas)."""
    try:
        clean = ftype.clean_options(options)
    except FieldOptionsError as error:
        errors = error.details.get("errors") or {}
        raise SchemaValidationError(
            {f"options.{k}" if k != "options" else "options": v for k, v in errors.items()}
            or {"options": [error.message]}
        ) from None
    check = getattr(ftype, "check_in_entity", None)
    if entity is not None and check is not None:
        found = check(get_registry().entity_by_id(entity.pk), slug, clean)
        if found["errors"]:
            raise SchemaValidationError(
                {f"options.{k}": v for k, v in found["errors"].items()}, formula=found["formula"]
            )
    return clean


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
    default_formula: str = "",
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
        clean = clean_field_options(ftype, options, entity=owner, slug=slug)
        if type == "money" and not clean.get("currency"):
            clean = _with_installation_currency(clean)
        if type == "child_table":
            _check_child_target(owner, clean)
        if type in COMPUTED_TYPES:
            clean = _computed_options(owner, None, ftype, clean)
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
        f.default_formula = _clean_default_formula(owner, f, default_formula)
        f.save()
        if owner.title_field_id is None and type in TITLE_TYPES:
            owner.title_field = f
            owner.save(update_fields=["title_field", "updated_at"])
        registry = sync.bump_schema()
        sync.add_field_columns(registry, f)
        _audit(user, AuditLog.Action.CREATE, f, after=field_as_dict(f))
        if type in COMPUTED_TYPES:
            recompute_later(field=f, user=user)
    return f


def _with_installation_currency(options: dict[str, Any]) -> dict[str, Any]:
    """A new money field that names no currency is made in the installation's (the one the
    setup or the Company page chose), stored on the field, so changing the installation's
    currency later never relabels its amounts. Without one it keeps reading
    CARDFILE_CURRENCY, as before."""
    currency = installation_get().currency
    return {**options, "currency": currency} if currency else options


def _clean_default_formula(owner: Entity, f: Field, text: Any) -> str:
    from cardfile.metamodel.formulas.rules import clean_default_formula

    if text and f.default is not None:
        raise SchemaValidationError(
            {"default_formula": [_("Give either a default value or a default formula.")]}
        )
    registry = get_registry()
    try:
        return clean_default_formula(registry, registry.entity_by_id(owner.pk), f, text)
    except FormulaDefinitionError as refused:
        raise SchemaValidationError(refused.errors, formula=refused.formula) from None


def _computed_options(owner: Entity, f: Field | None, ftype, options: dict[str, Any]):
    try:
        return computed_options(owner=owner, field=f, ftype=ftype, options=options)
    except FormulaDefinitionError as refused:
        raise SchemaValidationError(refused.errors, formula=refused.formula) from None


def _change_computed(owner: Entity, f: Field, given: dict[str, Any], user) -> Field:
    """A new definition of a computed field: checked, its column replaced if the result type
    changed (the values are derived, so nothing is lost), then recomputed in the background."""
    ftype = get_field_type(f.type)
    merged = {k: v for k, v in merge_options(f.options, given).items() if k != "result"}
    options = _computed_options(owner, f, ftype, clean_field_options(ftype, merged))
    if options == f.options:
        return f
    old_columns = [f.column + name.removeprefix(f.attname) for name in ftype.model_fields(f)]
    old_signature = ftype.column_signature(f)
    f.options = options
    new_column = ftype.column_signature(f) != old_signature
    if new_column:
        f.column_rev += 1
    f.save()
    registry = sync.bump_schema()
    if new_column:
        sync.add_field_columns(registry, f)
        for column in old_columns:
            sync.drop_column(owner.table_name, column)
    recompute_later(field=f, user=user)
    return f


def _refuse_if_read(entity: str, field: str, what: str) -> None:
    owner = entity_get(entity)
    f = field_get(owner, field)
    if problems := refuse_if_read(get_registry(), f, what):
        raise SchemaValidationError({"type": problems})


def field_update(
    *,
    entity: str,
    field: str,
    user: AbstractBaseUser | None = None,
    confirm: bool = False,
    **changes: Any,
) -> Field:
    """Rename, relabel, or change required, unique, indexed, default, options, help_text or
    position. ``options`` are merged into the current ones; ``None`` for a key clears it.
    Options that change the column (decimal places) or that existing values no longer
    fit (a removed choice) go through the conversion check: refused with the count and a sample
    unless ``confirm``. A change of ``type`` goes to `field_change_type`."""
    if "type" in changes:
        from .conversion import field_change_type

        _refuse_if_read(entity, field, _("change its type"))
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
        "default_formula",
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
            if (problems := refuse_if_read(registry, f, _("rename it"))) or (
                problems := _check_slug(new_slug, what=_("field"))
            ):
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
        if "options" in changes and f.type in COMPUTED_TYPES:
            f = _change_computed(owner, f, dict(changes.pop("options") or {}), user)
            registry = get_registry()
            before = {**before, "options": field_public_options(f)}
        if "options" in changes:
            given = dict(changes["options"] or {})
            merged = merge_options(f.options, given)
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
                    options={**new_options, **{k: None for k in f.options if k not in new_options}},
                    confirm=confirm,
                    user=user,
                )
                # the conversion logged the options; this entry keeps to the rest
                before = {**before, "options": field_public_options(f)}
                registry = get_registry()
        if "default" in changes:
            f.default = _clean_default(f, changes["default"])
        if "default_formula" in changes:
            f.default_formula = _clean_default_formula(owner, f, changes["default_formula"])
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
        if problems := refuse_if_read(registry, f, _("delete it")):
            raise SchemaValidationError({"field": problems})
        sync.drop_field_extras(registry, f)
        f.deleted_at = timezone.now()
        f.save(update_fields=["deleted_at", "updated_at"])
        if owner.title_field_id == f.pk:
            owner.title_field = None
            owner.save(update_fields=["title_field", "updated_at"])
        sync.bump_schema()
        _audit(user, AuditLog.Action.DELETE, f, before=field_as_dict(f))
    return f


def _trashed_field(field_id: int, missing: str) -> Field:
    f = Field.objects.select_related("entity").filter(pk=field_id, deleted_at__isnull=False).first()
    if f is None:
        raise NotFound(missing, code="not_in_trash")
    return f


def field_restore(
    *, field_id: int, user: AbstractBaseUser | None = None, slug: str | None = None
) -> Field:
    with schema_atomic():
        sync.lock_schema()
        f = _trashed_field(field_id, _("That field is not in the trash."))
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
        f = _trashed_field(field_id, _("Only a field in the trash can be purged."))
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
