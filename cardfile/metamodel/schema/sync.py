"""DDL for the metamodel, run through Django's schema editor inside the metadata transaction.

Physical names come from ids only (``cf_e12``, ``f57``, ``cf_m57``); nothing a user types
reaches SQL as an identifier.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, models, transaction
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.utils.translation import gettext as _

from cardfile.core.exceptions import CardfileError
from cardfile.metamodel.fields import get_field_type
from cardfile.metamodel.models import Entity, Field, SchemaState

from .dynamic import (
    SchemaRegistry,
    ensure_state,
    field_index,
    get_registry,
    repin,
    unique_constraint,
)

# PostgreSQL counts dropped columns towards its 1,600-column limit until the table is rewritten.
PG_COLUMN_BUDGET = 1500


class SchemaChangeError(CardfileError):
    code = "schema_change_refused"


@contextmanager
def schema_atomic() -> Iterator[None]:
    """A transaction in which DDL may run, on PostgreSQL and on SQLite.

    SQLite cannot switch foreign-key enforcement inside a transaction and Django's SQLite schema
    editor needs it off (it rebuilds tables), so it is switched off before BEGIN and back on
    after. An outer block (the preset installer) must itself be a ``schema_atomic``.
    """
    if connection.vendor == "sqlite" and not connection.in_atomic_block:
        connection.disable_constraint_checking()
        try:
            with transaction.atomic():
                yield
        finally:
            connection.enable_constraint_checking()
    else:
        with transaction.atomic():
            yield


def schema_editor() -> BaseDatabaseSchemaEditor:
    """Django's schema editor, refusing SQLite's table rebuild.

    A rebuild copies only the columns the model knows, so it would silently drop the columns
    of fields in the trash and archived columns. Every change made here is one SQLite does in
    place (ADD COLUMN, partial unique indexes, DROP COLUMN); this keeps it that way.
    """
    editor = connection.schema_editor()
    if connection.vendor == "sqlite":

        def refuse_rebuild(model, *args, **kwargs):
            raise SchemaChangeError(
                _("This change would rebuild table %(table)s on SQLite and lose kept columns.")
                % {"table": model._meta.db_table},
                code="table_rebuild_refused",
            )

        editor._remake_table = refuse_rebuild
    return editor


def lock_schema() -> SchemaState:
    """Serialise schema changes across processes: one at a time holds this row.

    On PostgreSQL, foreign keys checked at commit (Django's are DEFERRABLE INITIALLY DEFERRED)
    block ALTER TABLE while checks are pending from earlier writes in the same transaction
    (an installer that loads records, then adds a field); run those checks now.
    """
    if connection.vendor == "postgresql" and connection.in_atomic_block:
        connection.check_constraints()
    ensure_state()
    return SchemaState.objects.select_for_update().get(pk=1)


def bump_schema() -> SchemaRegistry:
    """Record that the schema changed and return the registry of the new schema."""
    state = lock_schema()
    state.version += 1
    state.token = uuid.uuid4().hex
    state.save(update_fields=["version", "token", "changed_at"])
    repin(state.token)
    return get_registry()


def create_entity_table(registry: SchemaRegistry, entity: Entity) -> None:
    model = registry.entity_by_id(entity.pk).model
    with schema_editor() as editor:
        editor.create_model(model)


def check_column_budget(entity: Entity, extra: int = 1) -> None:
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(max(attnum), 0) FROM pg_attribute "
            "WHERE attrelid = to_regclass(%s) AND attnum > 0",
            [entity.table_name],
        )
        used = cursor.fetchone()[0]
    if used + extra > PG_COLUMN_BUDGET:
        raise SchemaChangeError(
            _(
                "Entity %(entity)s has used %(used)d of PostgreSQL's column slots (dropped "
                "columns count until the table is rebuilt). Purge archived columns and rebuild "
                "the table before adding more fields."
            )
            % {"entity": entity.slug, "used": used}
        )


def add_field_columns(registry: SchemaRegistry, f: Field) -> None:
    """Create what a new (or restored) field needs: columns, through table, constraints."""
    ftype = get_field_type(f.type)
    schema = registry.entity_by_id(f.entity_id)
    model = schema.model
    with schema_editor() as editor:
        if f.type == "multi_link":
            editor.create_model(registry.through_model(f))
        elif f.type == "child_table":
            child = registry.entity_by_id(ftype.target_id(f)).model
            editor.add_field(child, child._meta.get_field(f.attname))
        else:
            check_column_budget(schema.entity, extra=len(ftype.model_fields(f)))
            for attname in ftype.model_fields(f):
                editor.add_field(model, model._meta.get_field(attname))
            if f.unique:
                editor.add_constraint(model, unique_constraint(schema.entity, f))
            if f.indexed:
                editor.add_index(model, field_index(schema.entity, f))


def set_unique(registry: SchemaRegistry, f: Field, *, unique: bool) -> None:
    schema = registry.entity_by_id(f.entity_id)
    with schema_editor() as editor:
        if unique:
            editor.add_constraint(schema.model, unique_constraint(schema.entity, f))
        else:
            editor.remove_constraint(schema.model, unique_constraint(schema.entity, f))


def set_indexed(registry: SchemaRegistry, f: Field, *, indexed: bool) -> None:
    schema = registry.entity_by_id(f.entity_id)
    with schema_editor() as editor:
        if indexed:
            editor.add_index(schema.model, field_index(schema.entity, f))
        else:
            editor.remove_index(schema.model, field_index(schema.entity, f))


def drop_field_extras(registry: SchemaRegistry, f: Field) -> None:
    """Drop a field's unique constraint and index, keeping its column and values (trash)."""
    if not get_field_type(f.type).has_column:
        return
    if f.unique:
        set_unique(registry, f, unique=False)
    if f.indexed:
        set_indexed(registry, f, indexed=False)


def drop_table(table: str) -> None:
    with schema_editor() as editor:
        editor.execute(f"DROP TABLE {editor.quote_name(table)}")


def drop_column(table: str, column: str) -> None:
    with schema_editor() as editor:
        if connection.vendor == "sqlite":
            # SQLite refuses DROP COLUMN on a column that an index names; those indexes belong
            # to the column being purged, so they go first.
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT il.name FROM pragma_index_list(%s) il, pragma_index_info(il.name) ii "
                    "WHERE ii.name = %s AND il.origin = 'c'",
                    [table, column],
                )
                for (index_name,) in cursor.fetchall():
                    editor.execute(f"DROP INDEX {editor.quote_name(index_name)}")
        editor.execute(
            f"ALTER TABLE {editor.quote_name(table)} DROP COLUMN {editor.quote_name(column)}"
        )


def column_exists(table: str, column: str) -> bool:
    with connection.cursor() as cursor:
        names = [c.name for c in connection.introspection.get_table_description(cursor, table)]
    return column in names


def model_field(model: type[models.Model], attname: str) -> models.Field:
    return model._meta.get_field(attname)
