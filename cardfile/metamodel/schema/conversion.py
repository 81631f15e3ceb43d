"""Changing a field's type or options without losing values.

Each value goes through its text form (``old.to_text`` -> ``new.from_text``); a same-type option
change checks each value against the new options. Values that would not convert make the change
refused with their count and a sample, unless the caller confirms. A change that needs a new
column (another type, another column signature) writes the converted values to ``f<id>_<rev>``
and keeps the old column as an `ArchivedColumn`, so a confirmed lossy change can be undone with
`archived_column_restore`; a change that keeps the column leaves every value where it is.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from dataclasses import field as dc_field
from types import SimpleNamespace
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connection, models
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from cardfile.core.exceptions import NotFound
from cardfile.core.models import AuditLog
from cardfile.core.services import audit_log_record
from cardfile.metamodel.fields import FieldOptionsError, FieldType, FieldValueError, get_field_type
from cardfile.metamodel.models import ArchivedColumn, Entity, Field

from . import sync
from .dynamic import get_registry
from .services import (
    SchemaValidationError,
    clean_field_options,
    entity_get,
    field_get,
    field_public_options,
    merge_options,
)
from .sync import SchemaChangeError, schema_atomic

BATCH_SIZE = 5000
SAMPLE_SIZE = 10
# Values shown in the refusal's message; the full sample is in ``details["sample"]``.
MESSAGE_SAMPLE_SIZE = 3
_NUMBER_TYPES = {"integer", "decimal", "percent"}
_FILE_TYPES = {"file", "image"}


class ConversionRefused(SchemaChangeError):
    """Some values would not convert; ``details`` has failed_count, total and a sample."""

    code = "conversion_refused"


@dataclass(frozen=True)
class ConversionPreview:
    """What a type or options change would do to the stored values."""

    total: int  # non-blank values, trashed records included
    failed_count: int
    sample: list[dict[str, Any]] = dc_field(default_factory=list)  # {"id", "value", "error"}
    needs_new_column: bool = False


@dataclass
class _Plan:
    entity: Entity
    old: Field
    new: Field  # an unsaved copy of ``old`` with the new type and options
    old_type: FieldType
    new_type: FieldType
    needs_new_column: bool
    convert: Callable[[Any], Any]  # a stored old value -> the new value, or FieldValueError

    @property
    def same_type(self) -> bool:
        return self.old.type == self.new.type

    @property
    def unchanged(self) -> bool:
        return self.same_type and self.old.options == self.new.options


# -- reads -------------------------------------------------------------------------------------


def field_archived_columns(field: Field) -> list[ArchivedColumn]:
    """The field's archived columns, newest first."""
    return list(ArchivedColumn.objects.filter(field=field).select_related("archived_by"))


def conversion_preview(
    *, entity: str, field: str, new_type: str, options: dict[str, Any] | None = None
) -> ConversionPreview:
    """Scan every value (trash included) and say how many would not convert; changes nothing."""
    owner = entity_get(entity)
    plan = _plan(owner, field_get(owner, field), new_type, options)
    return _scan(plan, get_registry().entity_by_id(owner.pk).model)


# -- writes ------------------------------------------------------------------------------------


def field_change_type(
    *,
    entity: str,
    field: str,
    new_type: str,
    options: dict[str, Any] | None = None,
    confirm: bool = False,
    user: AbstractBaseUser | None = None,
) -> Field:
    """Change a field's type, or its options within the same type, converting its values.

    Refused with `ConversionRefused` when values would not convert, unless ``confirm``: then
    they become blank in the new column and the old column is archived, or, when the column
    stays, they stay as they are.
    """
    with schema_atomic():
        sync.lock_schema()
        owner = entity_get(entity)
        f = field_get(owner, field)
        plan = _plan(owner, f, new_type, options)
        if plan.unchanged:
            return f
        registry = get_registry()
        old_model = registry.entity_by_id(owner.pk).model
        preview = _scan(plan, old_model)
        if preview.failed_count and not confirm:
            raise _refusal(plan, preview)
        new_default = _converted_default(plan, confirm=confirm)
        before = _snapshot(f)
        if plan.needs_new_column:
            ArchivedColumn.objects.create(
                field=f,
                column_rev=f.column_rev,
                type=f.type,
                options=f.options,
                default=f.default,
                archived_by=_real_user(user),
                failed_count=preview.failed_count,
            )
            sync.drop_field_extras(registry, f)  # named after the old column_rev
            f.column_rev = _next_column_rev(f)
            _apply(f, plan.new, new_default)
            registry = sync.bump_schema()
            sync.add_field_columns(registry, f)
            _write_values(plan, f, old_model, registry.entity_by_id(owner.pk).model)
        else:
            _apply(f, plan.new, new_default)
            registry = sync.bump_schema()
            # Values that fit keep their place; only a changed shape (a file field turned
            # multiple) is rewritten. Values that do not fit are left untouched.
            _write_values(
                plan, f, old_model, registry.entity_by_id(owner.pk).model, only_changed=True
            )
        _audit(user, AuditLog.Action.UPDATE, f, before=before, after=_snapshot(f))
    return f


def archived_column_restore(*, archived_id: int, user: AbstractBaseUser | None = None) -> Field:
    """Give a field back its archived column (type, options and values); the current column
    is archived in turn, so the restore can itself be undone."""
    with schema_atomic():
        sync.lock_schema()
        archived = _archived_get(archived_id)
        f = archived.field
        if f.deleted_at is not None or f.entity.deleted_at is not None:
            raise SchemaChangeError(
                _("%(field)s is in the trash; restore it first.") % {"field": _name(f)},
                code="field_in_trash",
            )
        for column in _physical_columns(archived.type, archived.column):
            if not sync.column_exists(f.entity.table_name, column):
                raise SchemaChangeError(
                    _("The archived column of %(field)s is gone; it cannot be restored.")
                    % {"field": _name(f)},
                    code="archived_column_missing",
                )
        registry = get_registry()
        before = _snapshot(f)
        restored = copy.copy(f)
        restored.type, restored.options = archived.type, archived.options
        ArchivedColumn.objects.create(
            field=f,
            column_rev=f.column_rev,
            type=f.type,
            options=f.options,
            default=f.default,
            archived_by=_real_user(user),
        )
        sync.drop_field_extras(registry, f)
        default = archived.default  # exactly what the field had before the change
        f.column_rev = archived.column_rev
        archived.delete()
        _apply(f, restored, default)
        registry = sync.bump_schema()
        try:
            if f.unique:
                sync.set_unique(registry, f, unique=True)
            if f.indexed:
                sync.set_indexed(registry, f, indexed=True)
        except IntegrityError:
            raise _not_unique(f) from None
        _audit(user, AuditLog.Action.RESTORE, f, before=before, after=_snapshot(f))
    return f


def archived_column_purge(*, archived_id: int, user: AbstractBaseUser | None = None) -> None:
    """Drop an archived column (both columns of a money field) for good."""
    with schema_atomic():
        sync.lock_schema()
        archived = _archived_get(archived_id)
        f = archived.field
        table = f.entity.table_name
        for column in _physical_columns(archived.type, archived.column):
            if sync.column_exists(table, column):
                sync.drop_column(table, column)
        audit_log_record(
            user=user,
            action=AuditLog.Action.PURGE,
            object_type="field",
            object_id=f.pk,
            object_repr=_name(f),
            before={
                "archived_column": archived.column,
                "type": archived.type,
                "options": archived.options,
                "archived_at": archived.archived_at.isoformat(),
            },
        )
        archived.delete()


# -- planning ----------------------------------------------------------------------------------


def _plan(entity: Entity, f: Field, new_type: str, options: dict[str, Any] | None) -> _Plan:
    try:
        ftype = get_field_type(new_type)
    except FieldOptionsError as error:
        raise SchemaValidationError({"type": [error.message]}) from None
    if new_type == f.type:
        # Same type: the given options change the current ones (as a PATCH of options does).
        given = dict(options or {})
        options = merge_options(f.options, given)
        if "target" in given:  # a target named by slug replaces the stored id
            options.pop("target_id", None)
    elif not _convertible(get_field_type(f.type), ftype):
        raise _undefined(f, new_type)
    new = copy.copy(f)
    new.type = new_type
    new.options = clean_field_options(ftype, options, entity=entity, slug=f.slug)
    plan = _plan_between(entity, f, new)
    if plan is None:
        raise _undefined(f, new_type)
    if plan.same_type:
        old_target, new_target = f.options.get("target_id"), new.options.get("target_id")
        if old_target != new_target:
            raise SchemaChangeError(
                _(
                    "%(field)s cannot point to another entity: its values are records of the "
                    "current one. Create a new field instead."
                )
                % {"field": _name(f)},
                code="conversion_undefined",
            )
    else:
        errors: dict[str, list[str]] = {}
        if f.unique and not ftype.can_be_unique:
            errors["type"] = [
                _("A %(type)s field cannot be unique; make the field not unique first.")
                % {"type": new_type}
            ]
        elif f.indexed and not ftype.can_be_indexed:
            errors["type"] = [
                _("A %(type)s field cannot be indexed; remove the index first.")
                % {"type": new_type}
            ]
        if errors:
            raise SchemaValidationError(errors)
    return plan


def _plan_between(entity: Entity, old: Field, new: Field) -> _Plan | None:
    """The plan from ``old`` to ``new`` (same pk), or None when no conversion is defined."""
    old_type, new_type = get_field_type(old.type), get_field_type(new.type)
    if old.type == new.type:
        needs_new_column = old_type.column_signature(old) != new_type.column_signature(new)
        is_file = new.type in _FILE_TYPES
        convert = _file_shape(new) if is_file else _same_type_check(new_type, new)
    else:
        if not _convertible(old_type, new_type):
            return None
        needs_new_column = True
        convert = _through_text(old_type, old, new_type, new)
    return _Plan(entity, old, new, old_type, new_type, needs_new_column, convert)


def _convertible(old_type: FieldType, new_type: FieldType) -> bool:
    """Whether values can move between two different types (through their text)."""
    return (
        old_type.has_column
        and new_type.has_column
        and old_type.text_convertible
        and new_type.text_convertible
        and new_type.writable
    )


def _undefined(f: Field, new_type: str) -> SchemaChangeError:
    return SchemaChangeError(
        _(
            "A %(old)s field cannot be converted to %(new)s: there is no conversion between "
            "them. Create a new field instead."
        )
        % {"old": f.type, "new": new_type},
        code="conversion_undefined",
    )


def _same_type_check(ftype: FieldType, new: Field) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        return ftype.to_internal(new, value)

    return convert


def _file_shape(new: Field) -> Callable[[Any], Any]:
    """Files are checked for shape only: the stored files themselves are not re-validated."""
    multiple = new.options.get("multiple", False)

    def convert(value: Any) -> Any:
        items = value if isinstance(value, list) else [value]
        if multiple:
            return items
        if len(items) > 1:
            raise FieldValueError(
                _("This field holds one file; %(n)d are stored.") % {"n": len(items)}
            )
        return items[0] if items else None

    return convert


def _through_text(
    old_type: FieldType, old: Field, new_type: FieldType, new: Field
) -> Callable[[Any], Any]:
    money_to_number = old_type.name == "money" and new_type.name in _NUMBER_TYPES

    def convert(value: Any) -> Any:
        if money_to_number:
            text = _money_amount_text(old_type, old, value)
        else:
            text = old_type.to_text(old, value)
        if text is None:
            return None
        return new_type.from_text(new, text)

    return convert


def _money_amount_text(money: FieldType, old: Field, value: Any) -> str:
    """A number keeps the amount only when it is in the field's own currency; an amount in
    another currency would silently change meaning."""
    _amount, currency = value
    expected = money.default_currency(old)  # type: ignore[attr-defined]
    if currency != expected:
        raise FieldValueError(
            _("The amount is in %(currency)s, not %(expected)s.")
            % {"currency": currency, "expected": expected}
        )
    return money.serialize(old, value)["amount"]


def _converted_default(plan: _Plan, *, confirm: bool) -> Any:
    """The field's default in its new type; cleared (when confirmed) if it does not convert."""
    default = plan.old.default
    if default is None:
        return None
    try:
        with _installation_time_zone():
            value = plan.old_type.to_internal(plan.old, default)
            converted = plan.convert(value)
        return None if converted is None else plan.new_type.serialize(plan.new, converted)
    except FieldValueError as error:
        if confirm:
            return None
        raise SchemaValidationError(
            {
                "default": [
                    _(
                        "The default value %(value)r does not fit the change (%(error)s); "
                        "change or clear it first, or confirm to clear it."
                    )
                    % {"value": default, "error": error.message.rstrip(".")}
                ]
            }
        ) from None


# -- scanning and writing values -------------------------------------------------------------


def _installation_time_zone():
    """Dates become midnight in the installation's time zone, not the current user's."""
    return timezone.override(timezone.get_default_timezone())


def _stored_values(
    model: type[models.Model], ftype: FieldType, f: Field
) -> Iterator[list[tuple[int, Any]]]:
    """Batches of (id, value) over all records, trashed ones included, in id order."""
    if not ftype.has_column:  # multi_link, child_table: nothing of theirs is in this table
        return
    model_fields = [model._meta.get_field(a) for a in ftype.model_fields(f)]
    attnames = [mf.attname for mf in model_fields]
    manager = model._base_manager
    last_id = 0
    while True:
        rows = list(
            manager.filter(pk__gt=last_id).order_by("pk").values_list("pk", *attnames)[:BATCH_SIZE]
        )
        if not rows:
            return
        batch = []
        for pk, *columns in rows:
            holder = SimpleNamespace(**dict(zip(attnames, columns, strict=True)))
            batch.append((pk, ftype.get_value(f, holder)))
        yield batch
        last_id = rows[-1][0]


def _scan(plan: _Plan, model: type[models.Model]) -> ConversionPreview:
    total = failed = 0
    sample: list[dict[str, Any]] = []
    with _installation_time_zone():
        for batch in _stored_values(model, plan.old_type, plan.old):
            for pk, value in batch:
                if plan.old_type.is_blank(value):
                    continue
                total += 1
                try:
                    plan.convert(value)
                except FieldValueError as error:
                    failed += 1
                    if len(sample) < SAMPLE_SIZE:
                        sample.append(
                            {
                                "id": pk,
                                "value": plan.old_type.to_text(plan.old, value),
                                "error": error.message,
                            }
                        )
    return ConversionPreview(
        total=total, failed_count=failed, sample=sample, needs_new_column=plan.needs_new_column
    )


def _write_values(
    plan: _Plan,
    f: Field,
    old_model: type[models.Model],
    new_model: type[models.Model],
    *,
    only_changed: bool = False,
) -> None:
    """Write the converted values with one UPDATE per batch; failures stay as they are (NULL in
    a new column, untouched in place). Identifiers come from ids only; values are parameters."""
    targets = [new_model._meta.get_field(a) for a in plan.new_type.model_fields(f)]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(mf.column)} = %s" for mf in targets)
    table, pk_column = quote(new_model._meta.db_table), quote(new_model._meta.pk.column)
    sql = f"UPDATE {table} SET {assignments} WHERE {pk_column} = %s"  # noqa: S608  (ids only)
    try:
        with _installation_time_zone():
            for batch in _stored_values(old_model, plan.old_type, plan.old):
                params = []
                for pk, value in batch:
                    if plan.old_type.is_blank(value):
                        continue
                    try:
                        converted = plan.convert(value)
                    except FieldValueError:
                        continue
                    if converted is None or (only_changed and converted == value):
                        continue
                    holder = SimpleNamespace()
                    plan.new_type.set_value(f, holder, converted)
                    params.append(
                        [
                            mf.get_db_prep_save(getattr(holder, mf.attname), connection)
                            for mf in targets
                        ]
                        + [pk]
                    )
                if params:
                    _update_batch(sql, targets, table, pk_column, params)
    except IntegrityError:
        raise _not_unique(f) from None


def _update_batch(
    sql: str, targets: list[models.Field], table: str, pk_column: str, params: list[list[Any]]
) -> None:
    """One set-based UPDATE per batch on PostgreSQL (ids and values as arrays); row by row
    elsewhere. The array's type is the column's own SQL type, from the Django field."""
    with connection.cursor() as cursor:
        if (
            connection.vendor == "postgresql"
            and len(targets) == 1
            and targets[0].get_internal_type() != "JSONField"
        ):
            column = connection.ops.quote_name(targets[0].column)
            sql_type = targets[0].db_type(connection)
            cursor.execute(
                f"UPDATE {table} SET {column} = v.val "  # noqa: S608  (ids and Django types only)
                f"FROM unnest(%s::bigint[], %s::{sql_type}[]) AS v(id, val) "
                f"WHERE {table}.{pk_column} = v.id",
                [[row[1] for row in params], [row[0] for row in params]],
            )
        else:
            cursor.executemany(sql, params)


# -- small helpers -----------------------------------------------------------------------------


def _refusal(plan: _Plan, preview: ConversionPreview) -> ConversionRefused:
    examples = ", ".join(
        f"#{s['id']} {s['value']!r} ({s['error'].rstrip('.')})"
        for s in preview.sample[:MESSAGE_SAMPLE_SIZE]
    )
    if preview.failed_count > MESSAGE_SAMPLE_SIZE:
        examples += ", ..."
    numbers = {
        "failed": preview.failed_count,
        "total": preview.total,
        "field": _name(plan.old),
        "type": plan.new.type,
        "examples": examples,
    }
    if plan.same_type:
        head = _("%(failed)d of %(total)d values of %(field)s do not fit the new options: ")
    else:
        head = _("%(failed)d of %(total)d values of %(field)s cannot become %(type)s: ")
    if plan.needs_new_column:
        tail = _(
            "Confirm to convert anyway: those values become blank and the old column is kept "
            "so they can be restored."
        )
    else:
        tail = _(
            "Confirm to change the options anyway: those values stay as they are and must be "
            "corrected when their records are next edited."
        )
    return ConversionRefused(
        (head % numbers) + examples + ". " + tail,
        failed_count=preview.failed_count,
        total=preview.total,
        sample=preview.sample,
        needs_new_column=preview.needs_new_column,
    )


def _not_unique(f: Field) -> SchemaChangeError:
    return SchemaChangeError(
        _(
            "%(field)s is unique, but after the change some values would occur more than once; "
            "nothing was changed. Make the values distinct, or the field not unique, first."
        )
        % {"field": _name(f)},
        code="conversion_not_unique",
    )


def _apply(f: Field, new: Field, default: Any) -> None:
    f.type, f.options, f.default = new.type, new.options, default
    f.save()


def _next_column_rev(f: Field) -> int:
    """Above every revision in use, archived ones included (a restore can lower the field's)."""
    archived = ArchivedColumn.objects.filter(field=f).aggregate(m=Max("column_rev"))["m"]
    return max(f.column_rev, archived if archived is not None else 0) + 1


def _physical_columns(type_name: str, column: str) -> list[str]:
    return [column, f"{column}_cur"] if type_name == "money" else [column]


def _archived_get(archived_id: int) -> ArchivedColumn:
    archived = ArchivedColumn.objects.select_related("field__entity").filter(pk=archived_id).first()
    if archived is None:
        raise NotFound(_("There is no such archived column."), code="unknown_archived_column")
    return archived


def _real_user(user: AbstractBaseUser | None) -> AbstractBaseUser | None:
    return user if user is not None and user.is_authenticated else None


def _name(f: Field) -> str:
    return f"{f.entity.slug}.{f.slug}"


def _snapshot(f: Field) -> dict[str, Any]:
    return {
        "type": f.type,
        "options": field_public_options(f),
        "default": f.default,
        "column_rev": f.column_rev,
    }


def _audit(user, action: str, f: Field, *, before: dict, after: dict) -> None:
    audit_log_record(
        user=user,
        action=action,
        object_type="field",
        object_id=f.pk,
        object_repr=_name(f),
        before=before,
        after=after,
    )
