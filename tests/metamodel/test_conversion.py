"""Changing a field's type or options: values convert, or the change is refused, or (confirmed)
the old values stay recoverable in an archived column."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from cardfile.core.models import AuditLog
from cardfile.metamodel.fields import get_field_type
from cardfile.metamodel.models import ArchivedColumn, Entity, Field
from cardfile.metamodel.schema import conversion
from cardfile.metamodel.schema.conversion import (
    ConversionRefused,
    archived_column_purge,
    archived_column_restore,
    conversion_preview,
    field_archived_columns,
    field_change_type,
)
from cardfile.metamodel.schema.dynamic import get_registry
from cardfile.metamodel.schema.services import (
    SchemaValidationError,
    entity_create,
    field_create,
    field_update,
)
from cardfile.metamodel.schema.sync import SchemaChangeError, column_exists

pytestmark = pytest.mark.usefixtures("schema_db")

# -- helpers -----------------------------------------------------------------------------------


def make_field(slug: str, type_: str, entity: str = "thing", **kwargs) -> Field:
    if not Entity.objects.filter(slug=entity, deleted_at__isnull=True).exists():
        entity_create(slug=entity, label=entity.title())
    return field_create(entity=entity, slug=slug, label=slug.title(), type=type_, **kwargs)


def insert(entity: str = "thing", *, trashed: bool = False, **values) -> int:
    """A record written straight through the generated model (internal values)."""
    schema = get_registry().entity(entity)
    obj = schema.model()
    for slug, value in values.items():
        f = schema.field(slug)
        get_field_type(f.type).set_value(f, obj, value)
    if trashed:
        obj.deleted_at = timezone.now()
    obj.save()
    return obj.pk


def values(slug: str, entity: str = "thing") -> dict[int, object]:
    """Every record's value of the field, trashed records included."""
    schema = get_registry().entity(entity)
    f = schema.field(slug)
    ftype = get_field_type(f.type)
    return {obj.pk: ftype.get_value(f, obj) for obj in schema.model._base_manager.order_by("pk")}


def raw_column(table: str, column: str) -> dict[int, object]:
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, {quote(column)} FROM {quote(table)} ORDER BY id")  # noqa: S608
        return dict(cursor.fetchall())


def fresh(f: Field) -> Field:
    return Field.objects.select_related("entity").get(pk=f.pk)


# -- text -> integer -----------------------------------------------------------------------------


@pytest.mark.embedded
def test_text_to_integer_converts_every_value(owner):
    # given
    f = make_field("qty", "text")
    ids = [insert(qty="12"), insert(qty=" 7 "), insert(qty="-3"), insert(qty=None)]

    # when
    changed = field_change_type(entity="thing", field="qty", new_type="integer", user=owner)

    # then
    assert changed.type == "integer"
    assert changed.column == f"f{f.pk}_1"
    assert fresh(f).column_rev == 1
    assert values("qty") == dict(zip(ids, [12, 7, -3, None], strict=True))
    archived = field_archived_columns(changed)
    assert [(a.column_rev, a.type, a.failed_count) for a in archived] == [(0, "text", 0)]
    assert archived[0].archived_by == owner
    entry = AuditLog.objects.filter(object_type="field", object_id=str(f.pk)).latest("id")
    assert entry.action == AuditLog.Action.UPDATE
    assert entry.before["type"] == "text"
    assert entry.after["type"] == "integer"
    assert entry.user == owner


@pytest.mark.embedded
def test_text_to_integer_with_bad_values_is_refused_and_changes_nothing():
    # given
    f = make_field("qty", "text")
    good = insert(qty="12")
    half = insert(qty="12.5")
    word = insert(qty="abc")
    table = f.entity.table_name

    # when
    with pytest.raises(ConversionRefused) as caught:
        field_change_type(entity="thing", field="qty", new_type="integer")

    # then
    error = caught.value
    assert error.code == "conversion_refused"
    assert error.details["failed_count"] == 2
    assert error.details["total"] == 3
    assert [s["id"] for s in error.details["sample"]] == [half, word]
    assert [s["value"] for s in error.details["sample"]] == ["12.5", "abc"]
    assert "whole number" in error.details["sample"][0]["error"]
    assert error.message.startswith("2 of 3 values of thing.qty cannot become integer: ")
    assert f"#{half} '12.5'" in error.message
    assert "Confirm to convert anyway" in error.message
    # nothing changed: metadata, columns, values
    after = fresh(f)
    assert (after.type, after.column_rev, after.options) == ("text", 0, f.options)
    assert column_exists(table, f"f{f.pk}")
    assert not column_exists(table, f"f{f.pk}_1")
    assert not ArchivedColumn.objects.exists()
    assert values("qty") == {good: "12", half: "12.5", word: "abc"}


@pytest.mark.embedded
def test_confirmed_lossy_conversion_keeps_old_values_and_restore_brings_them_back(owner):
    # given
    f = make_field("qty", "text")
    good, half, word = insert(qty="12"), insert(qty="12.5"), insert(qty="abc")
    blank = insert(qty=None)
    before = values("qty")

    # when
    field_change_type(entity="thing", field="qty", new_type="integer", confirm=True, user=owner)

    # then: failures are blank, the old column still holds every old value
    assert values("qty") == {good: 12, half: None, word: None, blank: None}
    archived = ArchivedColumn.objects.get(field=f)
    assert (archived.type, archived.column_rev, archived.failed_count) == ("text", 0, 2)
    assert raw_column(f.entity.table_name, archived.column) == before

    # when: restored
    restored = archived_column_restore(archived_id=archived.pk, user=owner)

    # then: exactly the values before the change; the integer column is archived in turn
    assert (restored.type, restored.column_rev) == ("text", 0)
    assert values("qty") == before
    [integer_column] = field_archived_columns(restored)
    assert (integer_column.type, integer_column.column_rev) == ("integer", 1)
    assert AuditLog.objects.filter(
        object_type="field", object_id=str(f.pk), action=AuditLog.Action.RESTORE
    ).exists()

    # and the restore itself can be undone, and the field converted again to a fresh column
    archived_column_restore(archived_id=integer_column.pk)
    assert values("qty") == {good: 12, half: None, word: None, blank: None}
    field_change_type(entity="thing", field="qty", new_type="decimal", confirm=True)
    assert fresh(f).column_rev == 2
    assert values("qty") == {good: Decimal("12.00"), half: None, word: None, blank: None}


@pytest.mark.embedded
def test_preview_counts_without_changing_anything():
    f = make_field("qty", "text")
    insert(qty="1")
    bad = insert(qty="x")
    insert(qty=None)

    preview = conversion_preview(entity="thing", field="qty", new_type="integer", options=None)

    assert (preview.total, preview.failed_count, preview.needs_new_column) == (2, 1, True)
    assert preview.sample[0]["id"] == bad
    assert fresh(f).type == "text"
    assert not column_exists(f.entity.table_name, f"f{f.pk}_1")


@pytest.mark.embedded
def test_trashed_records_are_checked_and_converted_too():
    make_field("qty", "text")
    live = insert(qty="5")
    trashed_good = insert(qty="6", trashed=True)
    trashed_bad = insert(qty="six", trashed=True)

    with pytest.raises(ConversionRefused) as caught:
        field_change_type(entity="thing", field="qty", new_type="integer")
    assert [s["id"] for s in caught.value.details["sample"]] == [trashed_bad]

    field_change_type(entity="thing", field="qty", new_type="integer", confirm=True)
    assert values("qty") == {live: 5, trashed_good: 6, trashed_bad: None}


# -- numbers -----------------------------------------------------------------------------------


@pytest.mark.embedded
def test_integer_to_decimal():
    make_field("qty", "integer")
    a, b = insert(qty=12), insert(qty=-4)

    field_change_type(
        entity="thing", field="qty", new_type="decimal", options={"decimal_places": 3}
    )

    assert values("qty") == {a: Decimal("12.000"), b: Decimal("-4.000")}


@pytest.mark.embedded
def test_fewer_decimal_places_refused_when_values_need_them():
    f = make_field("price", "decimal")
    a, b = insert(price=Decimal("12.50")), insert(price=Decimal("3.14"))

    with pytest.raises(ConversionRefused) as caught:
        field_update(entity="thing", field="price", options={"decimal_places": 1})

    assert caught.value.details["failed_count"] == 1
    assert caught.value.details["sample"][0]["id"] == b
    assert "do not fit the new options" in caught.value.message
    after = fresh(f)
    assert (after.options["decimal_places"], after.column_rev) == (2, 0)
    assert values("price") == {a: Decimal("12.50"), b: Decimal("3.14")}


@pytest.mark.embedded
def test_more_decimal_places_moves_values_to_a_new_column():
    f = make_field("price", "decimal")
    a, b = insert(price=Decimal("12.50")), insert(price=Decimal("3.14"))

    field_update(entity="thing", field="price", options={"decimal_places": 3})

    after = fresh(f)
    assert (after.options["decimal_places"], after.column_rev) == (3, 1)
    assert values("price") == {a: Decimal("12.500"), b: Decimal("3.140")}
    assert ArchivedColumn.objects.get(field=f).options["decimal_places"] == 2


@pytest.mark.embedded
def test_money_to_decimal_takes_amounts_in_the_field_currency(settings):
    settings.CARDFILE_CURRENCY = "EUR"
    make_field("price", "money")
    eur = insert(price=(Decimal("12.50"), "EUR"))
    usd = insert(price=(Decimal("3.00"), "USD"))

    with pytest.raises(ConversionRefused) as caught:
        field_change_type(entity="thing", field="price", new_type="decimal")
    assert caught.value.details["sample"] == [
        {"id": usd, "value": "3.00 USD", "error": "The amount is in USD, not EUR."}
    ]

    field_change_type(entity="thing", field="price", new_type="decimal", confirm=True)
    assert values("price") == {eur: Decimal("12.50"), usd: None}


@pytest.mark.embedded
def test_decimal_to_money_uses_the_field_currency():
    make_field("price", "decimal", options={"decimal_places": 3})
    a, b = insert(price=Decimal("12.5")), insert(price=Decimal("1.005"))

    with pytest.raises(ConversionRefused):
        field_change_type(
            entity="thing", field="price", new_type="money", options={"currency": "EUR"}
        )
    field_change_type(
        entity="thing", field="price", new_type="money", options={"currency": "EUR"}, confirm=True
    )

    assert values("price") == {a: (Decimal("12.5"), "EUR"), b: None}


@pytest.mark.embedded
def test_money_archive_is_purged_with_its_currency_column():
    f = make_field("price", "money")
    a = insert(price=(Decimal("1.00"), "EUR"))
    field_change_type(entity="thing", field="price", new_type="decimal")
    archived = ArchivedColumn.objects.get(field=f)
    table = f.entity.table_name
    assert column_exists(table, f"f{f.pk}")
    assert column_exists(table, f"f{f.pk}_cur")

    archived_column_purge(archived_id=archived.pk)

    assert not column_exists(table, f"f{f.pk}")
    assert not column_exists(table, f"f{f.pk}_cur")
    assert column_exists(table, f"f{f.pk}_1")
    assert not ArchivedColumn.objects.exists()
    assert values("price") == {a: Decimal("1.00")}


# -- choices -------------------------------------------------------------------------------------


@pytest.mark.embedded
def test_text_to_choice_matches_labels_ignoring_case_and_back_to_text():
    make_field("state", "text")
    a, b, c = insert(state="NEW ORDER"), insert(state="Done"), insert(state="new")
    choices = [{"value": "new", "label": "New order"}, "done"]

    field_change_type(
        entity="thing", field="state", new_type="choice", options={"choices": choices}
    )
    assert values("state") == {a: "new", b: "done", c: "new"}

    field_change_type(entity="thing", field="state", new_type="text")
    assert values("state") == {a: "new", b: "done", c: "new"}


@pytest.mark.embedded
def test_removed_choice_in_use_is_refused_and_confirmed_keeps_values_in_place():
    # given
    f = make_field("state", "choice", options={"choices": ["new", "ready", "issued"]})
    a, b = insert(state="new"), insert(state="ready")

    # when / then: refused
    with pytest.raises(ConversionRefused) as caught:
        field_update(entity="thing", field="state", options={"choices": ["new", "issued"]})
    assert caught.value.details["sample"][0]["id"] == b
    assert caught.value.details["needs_new_column"] is False
    assert "stay as they are" in caught.value.message
    assert fresh(f).options["choices"][1]["value"] == "ready"

    # when: confirmed
    field_update(
        entity="thing", field="state", options={"choices": ["new", "issued"]}, confirm=True
    )

    # then: metadata only; the value is not destroyed
    after = fresh(f)
    assert [c["value"] for c in after.options["choices"]] == ["new", "issued"]
    assert after.column_rev == 0
    assert not ArchivedColumn.objects.exists()
    assert values("state") == {a: "new", b: "ready"}


@pytest.mark.embedded
def test_smaller_max_length_is_checked_like_a_conversion():
    make_field("code", "text")
    insert(code="abcdef")
    short = insert(code="abc")

    with pytest.raises(ConversionRefused) as caught:
        field_update(entity="thing", field="code", options={"max_length": 4})
    assert caught.value.details["failed_count"] == 1
    assert short not in [s["id"] for s in caught.value.details["sample"]]


# -- dates ---------------------------------------------------------------------------------------


@pytest.mark.embedded
def test_date_to_datetime_is_midnight_in_the_installation_time_zone(settings):
    settings.TIME_ZONE = "Europe/Berlin"
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    make_field("due", "date")
    a = insert(due=dt.date(2026, 5, 1))

    with timezone.override("America/New_York"):  # the user's zone does not matter
        field_change_type(entity="thing", field="due", new_type="datetime")

    assert values("due")[a] == dt.datetime(2026, 5, 1, 0, 0, tzinfo=berlin)


@pytest.mark.embedded
def test_datetime_to_date_keeps_the_local_date(settings):
    settings.TIME_ZONE = "Europe/Berlin"
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    make_field("due", "datetime")
    # 00:30 in Berlin is still the previous day in UTC
    a = insert(due=dt.datetime(2026, 5, 1, 0, 30, tzinfo=berlin))

    field_change_type(entity="thing", field="due", new_type="date")

    assert values("due") == {a: dt.date(2026, 5, 1)}


# -- what cannot be converted ------------------------------------------------------------------


@pytest.mark.embedded
@pytest.mark.parametrize(
    ("slug", "new_type"),
    [("client", "integer"), ("lines", "text"), ("tags", "text"), ("qty", "link")],
)
def test_conversions_without_a_definition_are_refused(slug, new_type):
    entity_create(slug="client", label="Client")
    entity_create(slug="line", label="Line")
    make_field("client", "link", options={"target": "client"})
    make_field("lines", "child_table", options={"target": "line"})
    make_field("tags", "multi_link", options={"target": "client"})
    make_field("qty", "integer")
    before = fresh(Field.objects.get(slug=slug))

    with pytest.raises(SchemaChangeError) as caught:
        field_change_type(
            entity="thing", field=slug, new_type=new_type, options={"target": "client"}
        )

    assert caught.value.code == "conversion_undefined"
    assert (fresh(before).type, fresh(before).column_rev) == (before.type, 0)


@pytest.mark.embedded
def test_link_target_cannot_change():
    entity_create(slug="client", label="Client")
    entity_create(slug="shop", label="Shop")
    make_field("client", "link", options={"target": "client"})

    with pytest.raises(SchemaChangeError) as caught:
        field_change_type(
            entity="thing", field="client", new_type="link", options={"target": "shop"}
        )
    assert caught.value.code == "conversion_undefined"
    field_change_type(
        entity="thing", field="client", new_type="link", options={"on_delete": "cascade"}
    )
    assert Field.objects.get(slug="client").options == {
        "target_id": Entity.objects.get(slug="client").pk,
        "on_delete": "cascade",
    }


@pytest.mark.embedded
def test_autonumber_is_not_a_conversion_target():
    make_field("code", "text")
    with pytest.raises(SchemaChangeError) as caught:
        field_change_type(entity="thing", field="code", new_type="autonumber")
    assert caught.value.code == "conversion_undefined"


@pytest.mark.embedded
def test_bad_options_for_the_new_type_are_a_validation_error():
    make_field("qty", "text")
    with pytest.raises(SchemaValidationError) as caught:
        field_change_type(
            entity="thing", field="qty", new_type="decimal", options={"decimal_places": 99}
        )
    assert "options.decimal_places" in caught.value.errors


@pytest.mark.embedded
def test_unique_values_that_collide_after_conversion_change_nothing():
    # given
    f = make_field("code", "text", unique=True)
    a, b = insert(code="1"), insert(code="01")

    # when
    with pytest.raises(SchemaChangeError) as caught:
        field_change_type(entity="thing", field="code", new_type="integer")

    # then
    assert caught.value.code == "conversion_not_unique"
    assert "thing.code" in caught.value.message
    after = fresh(f)
    assert (after.type, after.column_rev) == ("text", 0)
    assert not column_exists(f.entity.table_name, f"f{f.pk}_1")
    assert not ArchivedColumn.objects.exists()
    assert values("code") == {a: "1", b: "01"}
    # and the old unique constraint is still in force
    with pytest.raises(Exception):  # noqa: B017, PT011  (IntegrityError, wrapped per backend)
        insert(code="1")


@pytest.mark.embedded
def test_unique_field_converts_and_keeps_its_constraint_on_the_new_column():
    f = make_field("code", "text", unique=True)
    insert(code="1")
    insert(code="2")

    field_change_type(entity="thing", field="code", new_type="integer")

    assert fresh(f).column_rev == 1
    with pytest.raises(Exception):  # noqa: B017, PT011
        insert(code=1)


@pytest.mark.embedded
def test_default_is_converted_with_the_values():
    f = make_field("qty", "integer", default=5)

    field_change_type(entity="thing", field="qty", new_type="text")

    assert fresh(f).default == "5"


@pytest.mark.embedded
def test_purge_drops_the_archived_column():
    f = make_field("qty", "text")
    insert(qty="x")
    field_change_type(entity="thing", field="qty", new_type="integer", confirm=True)
    archived = ArchivedColumn.objects.get(field=f)

    archived_column_purge(archived_id=archived.pk)

    assert not column_exists(f.entity.table_name, f"f{f.pk}")
    assert column_exists(f.entity.table_name, f"f{f.pk}_1")
    assert not ArchivedColumn.objects.filter(pk=archived.pk).exists()
    assert AuditLog.objects.filter(
        object_type="field", object_id=str(f.pk), action=AuditLog.Action.PURGE
    ).exists()


@pytest.mark.embedded
def test_values_are_converted_across_batches(monkeypatch):
    monkeypatch.setattr(conversion, "BATCH_SIZE", 2)
    make_field("qty", "text")
    ids = [insert(qty=str(n)) for n in range(5)]
    bad = insert(qty="many", trashed=True)

    with pytest.raises(ConversionRefused) as caught:
        field_change_type(entity="thing", field="qty", new_type="integer")
    assert (caught.value.details["total"], caught.value.details["failed_count"]) == (6, 1)

    field_change_type(entity="thing", field="qty", new_type="integer", confirm=True)
    assert values("qty") == {**dict(zip(ids, range(5), strict=True)), bad: None}


@pytest.mark.embedded
def test_user_to_text_uses_usernames_and_restores_the_ids(owner, clerk):
    f = make_field("who", "user")
    a, b = insert(who=owner.pk), insert(who=clerk.pk)

    field_change_type(entity="thing", field="who", new_type="text")
    assert values("who") == {a: "owner", b: "clerk"}

    archived_column_restore(archived_id=ArchivedColumn.objects.get(field=f).pk)
    assert values("who") == {a: owner.pk, b: clerk.pk}


@pytest.mark.embedded
def test_type_change_and_other_changes_in_one_update():
    f = make_field("qty", "text", indexed=True)
    a = insert(qty="3")

    field_update(entity="thing", field="qty", type="integer", label="Quantity")

    after = fresh(f)
    assert (after.type, after.label, after.column_rev) == ("integer", "Quantity", 1)
    assert values("qty") == {a: 3}
