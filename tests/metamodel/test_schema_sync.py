"""Schema sync: entities and fields change real tables in the same transaction as the metadata."""

from __future__ import annotations

import pytest
from django.db import connection

from cardfile.core.models import AuditLog
from cardfile.metamodel.fields import field_type_names
from cardfile.metamodel.models import Entity, Field
from cardfile.metamodel.schema import services as schema_services
from cardfile.metamodel.schema.dynamic import get_registry
from cardfile.metamodel.schema.services import (
    SchemaValidationError,
    entity_create,
    entity_delete,
    entity_purge,
    entity_restore,
    entity_update,
    field_create,
    field_delete,
    field_purge,
    field_restore,
    field_update,
)
from cardfile.metamodel.schema.sync import SchemaChangeError

pytestmark = [pytest.mark.embedded]

SYSTEM_COLUMNS = {
    "id",
    "created_at",
    "created_by_id",
    "updated_at",
    "updated_by_id",
    "version",
    "branch_id",
    "deleted_at",
}


def columns(table: str) -> dict[str, str]:
    with connection.cursor() as cursor:
        return {
            c.name: c.type_code
            for c in connection.introspection.get_table_description(cursor, table)
        }


def tables() -> set[str]:
    with connection.cursor() as cursor:
        return set(connection.introspection.table_names(cursor))


def relfilenode(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT relfilenode FROM pg_class WHERE relname = %s", [table])
        return cursor.fetchone()[0]


def test_entity_gets_a_table_named_from_its_id_with_system_columns(schema_db, owner):
    # when
    entity = entity_create(slug="client", label="Client", user=owner)

    # then
    assert entity.table_name == f"cf_e{entity.pk}"
    assert set(columns(entity.table_name)) == SYSTEM_COLUMNS


# Options each type needs to be created at all.
REQUIRED_OPTIONS = {
    "choice": {"choices": ["a", "b"]},
    "multi_choice": {"choices": ["a", "b"]},
    "status": {"states": ["open", "done"]},
    "link": {"target": "client"},
    "multi_link": {"target": "client"},
    "child_table": {"target": "line"},
    "autonumber": {"pattern": "N-{000}"},
    "formula": {"expression": "1 + 1"},
    "lookup": {"through": "x_link", "field": "id"},
    "rollup": {"through": "x_child_table", "field": "id", "aggregate": "count"},
}


def test_every_field_type_creates_its_storage(schema_db, owner):
    # given
    entity_create(slug="client", label="Client")
    entity_create(slug="line", label="Line")
    order = entity_create(slug="order", label="Order")

    # when
    created = {
        name: field_create(
            entity="order",
            slug=f"x_{name}",
            label=name,
            type=name,
            options=REQUIRED_OPTIONS.get(name),
            user=owner,
        )
        # computed types read the link and lines created before them
        for name in sorted(field_type_names(), key=lambda n: n in ("formula", "lookup", "rollup"))
    }

    # then
    order_columns = columns(order.table_name)
    for name, f in created.items():
        if name == "multi_link":
            assert f"cf_m{f.pk}" in tables()
        elif name == "child_table":
            line = Entity.objects.get(slug="line")
            assert f.column in columns(line.table_name)
        else:
            assert f.column in order_columns, name
    money = created["money"]
    assert f"{money.column}_cur" in order_columns
    assert set(get_registry().entity("order").by_slug) == {f"x_{n}" for n in created}


def test_rename_of_entity_and_field_touches_no_table(schema_db, owner):
    # given
    entity = entity_create(slug="client", label="Client")
    name = field_create(entity="client", slug="name", label="Name", type="text")
    before_tables, before_columns = tables(), columns(entity.table_name)

    # when
    entity_update(entity="client", slug="customer", label="Customer", user=owner)
    field_update(entity="customer", field="name", slug="full_name", label="Full name", user=owner)

    # then
    assert tables() == before_tables
    assert columns(entity.table_name) == before_columns
    schema = get_registry().entity("customer")
    assert schema.field("full_name").pk == name.pk
    with pytest.raises(Exception, match="no entity client"):
        get_registry().entity("client")


def test_records_survive_a_rename(schema_db):
    # given
    entity_create(slug="client", label="Client")
    name = field_create(entity="client", slug="name", label="Name", type="text")
    get_registry().entity("client").model.objects.create(**{name.attname: "Ivan"})

    # when
    field_update(entity="client", field="name", slug="title")

    # then
    schema = get_registry().entity("client")
    assert schema.objects().values_list(schema.field("title").attname, flat=True).get() == "Ivan"


@pytest.mark.django_db
def test_adding_a_nullable_field_rewrites_nothing_on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("relfilenode is PostgreSQL's")
    # given a table with rows
    entity = entity_create(slug="client", label="Client")
    model = get_registry().entity("client").model
    model.objects.bulk_create([model() for _ in range(2000)])
    node = relfilenode(entity.table_name)

    # when fields of several types are added
    for slug, type_ in [("name", "text"), ("born", "date"), ("debt", "money"), ("n", "integer")]:
        field_create(entity="client", slug=slug, label=slug, type=type_)

    # then the table was not rewritten: PostgreSQL gives a rewritten table a new file
    assert relfilenode(entity.table_name) == node


def test_a_failed_change_leaves_nothing_half_done(schema_db, monkeypatch):
    # given
    entity = entity_create(slug="client", label="Client")
    before_columns = columns(entity.table_name)

    def broken_audit(**kwargs):
        raise RuntimeError("audit log unavailable")

    monkeypatch.setattr(schema_services, "audit_log_record", broken_audit)

    # when the change fails after its DDL ran
    with pytest.raises(RuntimeError):
        field_create(entity="client", slug="name", label="Name", type="text")

    # then neither metadata nor column remains
    assert not Field.objects.filter(slug="name").exists()
    assert columns(entity.table_name) == before_columns
    assert "name" not in get_registry().entity("client").by_slug


@pytest.mark.parametrize(
    ("slug", "message"),
    [
        ("Client", "lowercase"),
        ("1client", "lowercase"),
        ("client-name", "lowercase"),
        ("c" * 64, "63"),
        ("", "needs a slug"),
    ],
)
def test_bad_entity_slugs_are_refused_with_the_reason(schema_db, slug, message):
    with pytest.raises(SchemaValidationError) as error:
        entity_create(slug=slug, label="X")
    assert message in " ".join(error.value.errors["slug"])


def test_slugs_are_unique_per_parent_and_system_names_reserved(schema_db):
    entity_create(slug="client", label="Client")
    entity_create(slug="order", label="Order")
    field_create(entity="client", slug="name", label="Name", type="text")
    field_create(entity="order", slug="name", label="Name", type="text")  # another parent: fine

    with pytest.raises(SchemaValidationError, match="exists already"):
        entity_create(slug="client", label="Client again")
    with pytest.raises(SchemaValidationError, match="already has a field name"):
        field_create(entity="client", slug="name", label="Name", type="text")
    for reserved in ("id", "version", "created_at", "deleted_at", "sort", "where"):
        with pytest.raises(SchemaValidationError, match="reserved"):
            field_create(entity="client", slug=reserved, label="X", type="text")


@pytest.mark.parametrize(
    ("type_", "options", "key"),
    [
        ("text", {"max_length": 0}, "options.max_length"),
        ("text", {"max_lenght": 10}, "options"),
        ("choice", {}, "options"),
        ("choice", {"choices": ["a", "a"]}, "options.choices"),
        ("decimal", {"decimal_places": 11}, "options.decimal_places"),
        ("money", {"currency": "XXZ"}, "options.currency"),
        ("link", {"target": "nowhere"}, "options.target"),
        ("link", {"target": "client", "on_delete": "explode"}, "options.on_delete"),
        ("autonumber", {"pattern": "RO-{YYYY}"}, "options.pattern"),
        ("phone", {"region": "germany"}, "options.region"),
    ],
)
def test_options_are_checked_against_the_type_schema(schema_db, type_, options, key):
    entity_create(slug="client", label="Client")
    with pytest.raises(SchemaValidationError) as error:
        field_create(entity="client", slug="f", label="F", type=type_, options=options)
    assert key in error.value.errors


def test_unknown_type_names_the_known_ones(schema_db):
    entity_create(slug="client", label="Client")
    with pytest.raises(SchemaValidationError) as error:
        field_create(entity="client", slug="f", label="F", type="colour")
    assert "Known types" in error.value.errors["type"][0]


def test_field_trash_keeps_values_and_restore_brings_them_back(schema_db, owner):
    # given
    entity_create(slug="client", label="Client")
    phone = field_create(entity="client", slug="phone", label="Phone", type="text", unique=True)
    model = get_registry().entity("client").model
    model.objects.create(**{phone.attname: "+49301234567"})

    # when
    field_delete(entity="client", field="phone", user=owner)

    # then it is gone from the schema, a new field may take its slug, its column stays
    assert "phone" not in get_registry().entity("client").by_slug
    assert phone.column in columns(f"cf_e{phone.entity_id}")
    replacement = field_create(entity="client", slug="phone", label="Phone 2", type="phone")

    # when restored under another slug
    with pytest.raises(SchemaValidationError, match="restore under another slug"):
        field_restore(field_id=phone.pk)
    field_restore(field_id=phone.pk, slug="old_phone", user=owner)

    # then the values are back and the unique constraint holds again
    schema = get_registry().entity("client")
    assert schema.field("old_phone").pk == phone.pk
    assert list(schema.objects().values_list(phone.attname, flat=True)) == ["+49301234567"]
    assert schema.field("phone").pk == replacement.pk
    actions = list(
        AuditLog.objects.filter(object_type="field", object_id=str(phone.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["create", "delete", "restore"]


def test_field_purge_drops_the_column(schema_db):
    entity = entity_create(slug="client", label="Client")
    f = field_create(entity="client", slug="note", label="Note", type="money")
    with pytest.raises(Exception, match="in the trash"):
        field_purge(field_id=f.pk)
    field_delete(entity="client", field="note")

    field_purge(field_id=f.pk)

    assert f.column not in columns(entity.table_name)
    assert f"{f.column}_cur" not in columns(entity.table_name)
    assert not Field.objects.filter(pk=f.pk).exists()


def test_entity_trash_restore_and_purge(schema_db, owner):
    # given
    entity = entity_create(slug="client", label="Client")
    name = field_create(entity="client", slug="name", label="Name", type="text")
    get_registry().entity("client").model.objects.create(**{name.attname: "Ivan"})

    # when
    entity_delete(entity="client", user=owner)

    # then
    assert [s.slug for s in get_registry().entities()] == []
    assert entity.table_name in tables()
    entity_create(slug="client", label="Another client")  # the slug is free again

    with pytest.raises(SchemaValidationError, match="another slug"):
        entity_restore(entity_id=entity.pk)
    entity_restore(entity_id=entity.pk, slug="old_client", user=owner)
    schema = get_registry().entity("old_client")
    assert list(schema.objects().values_list(name.attname, flat=True)) == ["Ivan"]

    entity_delete(entity="old_client")
    entity_purge(entity_id=entity.pk, user=owner)
    assert entity.table_name not in tables()
    assert not Entity.objects.filter(pk=entity.pk).exists()


def test_an_entity_that_others_link_to_cannot_go_to_the_trash(schema_db):
    entity_create(slug="client", label="Client")
    entity_create(slug="order", label="Order")
    field_create(
        entity="order", slug="client", label="Client", type="link", options={"target": "client"}
    )

    with pytest.raises(SchemaChangeError, match=r"linked from order\.client"):
        entity_delete(entity="client")


def test_line_entities_go_to_the_trash_and_come_back_with_their_parent(schema_db):
    entity_create(slug="line", label="Line")
    entity_create(slug="order", label="Order")
    field_create(
        entity="order", slug="lines", label="Lines", type="child_table", options={"target": "line"}
    )
    order = Entity.objects.get(slug="order")

    entity_delete(entity="order")
    assert [s.slug for s in get_registry().entities()] == []

    entity_restore(entity_id=order.pk)
    registry = get_registry()
    assert {s.slug for s in registry.entities()} == {"order", "line"}
    assert registry.entity("line").parent_field.slug == "lines"


def test_link_options_follow_a_renamed_target(schema_db):
    entity_create(slug="client", label="Client")
    entity_create(slug="order", label="Order")
    link = field_create(
        entity="order", slug="client", label="Client", type="link", options={"target": "client"}
    )

    entity_update(entity="client", slug="customer")

    assert schema_services.field_public_options(Field.objects.get(pk=link.pk)) == {
        "target": "customer",
        "on_delete": "protect",
    }


def test_unique_and_index_can_be_switched_on_and_off(schema_db):
    entity_create(slug="client", label="Client")
    code = field_create(entity="client", slug="code", label="Code", type="text")
    model = get_registry().entity("client").model
    model.objects.create(**{code.attname: "A"})
    model.objects.create(**{code.attname: "A"})

    with pytest.raises(SchemaValidationError, match="more than once"):
        field_update(entity="client", field="code", unique=True)

    model.objects.filter(pk=model.objects.order_by("-pk").first().pk).update(**{code.attname: "B"})
    field_update(entity="client", field="code", unique=True, indexed=True)
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, f"cf_e{code.entity_id}")
    assert any(c["unique"] and c["columns"] == [code.column] for c in constraints.values())
    field_update(entity="client", field="code", unique=False, indexed=False)
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, f"cf_e{code.entity_id}")
    assert not any(c["columns"] == [code.column] for c in constraints.values())


def test_configuration_changes_are_in_the_audit_log(schema_db, owner):
    entity_create(slug="client", label="Client", user=owner)
    field_create(entity="client", slug="name", label="Name", type="text", user=owner)
    field_update(entity="client", field="name", label="Full name", user=owner)

    entry = AuditLog.objects.filter(object_type="field", action="update").get()
    assert entry.user == owner
    assert entry.object_repr == "client.name"
    assert entry.before == {"label": "Name"}
    assert entry.after == {"label": "Full name"}
    assert AuditLog.objects.filter(object_type="entity", action="create", user=owner).exists()


def test_an_update_that_changes_nothing_writes_no_audit_entry(schema_db):
    entity_create(slug="client", label="Client")
    entity_update(entity="client", label="Client")
    assert not AuditLog.objects.filter(action="update").exists()


def test_the_target_of_a_link_cannot_change(schema_db):
    entity_create(slug="client", label="Client")
    entity_create(slug="supplier", label="Supplier")
    entity_create(slug="order", label="Order")
    field_create(
        entity="order", slug="client", label="Client", type="link", options={"target": "client"}
    )

    with pytest.raises(SchemaValidationError) as error:
        field_update(entity="order", field="client", options={"target": "supplier"})

    assert "cannot change" in error.value.errors["options.target"][0]
    field_update(entity="order", field="client", options={"on_delete": "cascade"})
    assert Field.objects.get(slug="client", entity__slug="order").options["on_delete"] == "cascade"


def test_sqlite_never_rebuilds_a_generated_table(schema_db):
    """A rebuild would copy only the columns the model knows and lose trashed and archived
    ones; the schema editor used for generated tables refuses it."""
    if connection.vendor != "sqlite":
        pytest.skip("table rebuilds are SQLite's")
    from django.db import models

    from cardfile.metamodel.schema.sync import schema_atomic, schema_editor

    entity_create(slug="client", label="Client")
    model = get_registry().entity("client").model
    not_null = models.IntegerField(default=0)
    not_null.set_attributes_from_name("count")

    with (
        pytest.raises(SchemaChangeError, match="rebuild"),
        schema_atomic(),
        schema_editor() as editor,
    ):
        editor.add_field(model, not_null)  # NOT NULL with a default: SQLite would rebuild
