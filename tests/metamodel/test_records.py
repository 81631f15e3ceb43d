"""The record service and selectors: create, update, bulk create, validation, trash, reads."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from cardfile.core.exceptions import NotFound
from cardfile.core.services import branch_create
from cardfile.metamodel import events
from cardfile.metamodel.models import RecordHistory
from cardfile.metamodel.records import (
    RecordConflict,
    RecordProtected,
    RecordValidationError,
    duplicate_values,
    record_bulk_create,
    record_create,
    record_delete,
    record_get,
    record_queryset,
    record_restore,
    record_to_dict,
    record_update,
)
from cardfile.metamodel.schema.dynamic import get_registry
from cardfile.metamodel.schema.services import entity_create, field_create
from tests.builders import build_shop_with_tags, grant

pytestmark = [pytest.mark.embedded]

PHONE = "+49 30 1234567"
PHONE_E164 = "+49301234567"


@pytest.fixture
def shop(schema_db, owner):
    """The shop schema plus tags (multi_link on client) and a technician (user on order)."""
    return build_shop_with_tags(owner)


def _client(name="Ivan", **extra):
    return record_create(entity="client", data={"name": name, **extra})


def _errors(call) -> dict[str, list[str]]:
    with pytest.raises(RecordValidationError) as caught:
        call()
    assert caught.value.code == "invalid"
    return caught.value.errors


# -- create ------------------------------------------------------------------------------------


def test_create_stores_values_defaults_autonumber_and_system_columns(shop, owner):
    # given
    client = _client(phone=PHONE, email="Ivan@Example.COM", discount="7.5")

    # when
    order = record_create(entity="order", data={"client": client.pk}, user=owner)

    # then
    data = record_to_dict(shop.entity("order"), record_get("order", order.pk))
    assert data["number"].startswith("RO-")
    assert data["number"].endswith("-00001")
    assert data["state"] == "new"  # the field's default
    assert data["client"] == client.pk
    assert data["version"] == 1
    assert data["created_by"] == data["updated_by"] == owner.pk
    assert data["lines"] == []
    client_data = record_to_dict(shop.entity("client"), record_get("client", client.pk))
    assert client_data["phone"] == PHONE_E164
    assert client_data["email"] == "Ivan@example.com"
    assert client_data["discount"] == "7.50"
    assert client_data["created_by"] is None


def test_create_collects_every_field_error_at_once(shop):
    # when
    errors = _errors(
        lambda: record_create(
            entity="client",
            data={
                "phone": "not a phone",
                "email": "nobody",
                "discount": "150",
                "colour": "red",
            },
        )
    )

    # then: required, type, range and unknown field, each under its field
    assert errors["name"] == ["This field is required."]
    assert "not a valid phone number" in errors["phone"][0]
    assert "not an email address" in errors["email"][0]
    assert errors["discount"] == ["Must be at most 100."]
    assert "Unknown field colour" in errors["colour"][0]
    assert "name, phone, email, discount" in errors["colour"][0]
    assert not shop.entity("client").objects().exists()


def test_create_reports_length_choice_and_number_errors(shop):
    client = _client()

    errors = _errors(
        lambda: record_create(
            entity="order",
            data={"client": client.pk, "state": "lost", "lines": [{"item": "x" * 256}]},
        )
    )

    assert errors["state"] == ["'lost' is not one of the choices: new, in_work, ready, issued."]
    assert errors["lines[1].item"] == ["Line 1, Item: At most 255 characters (this has 256)."]
    errors = _errors(lambda: record_create(entity="client", data={"name": "a", "discount": "x"}))
    assert errors == {"discount": ["'x' is not a number."]}


def test_unique_value_already_used_names_the_record(shop):
    first = _client(phone=PHONE)

    errors = _errors(lambda: _client("Other", phone="030 1234567"))  # same number, typed apart

    assert errors == {
        "phone": [f"{PHONE_E164} is already used by record #{first.pk}; it must be unique."]
    }


def test_unique_value_of_a_trashed_record_is_free(shop):
    first = _client(phone=PHONE)
    record_delete(entity="client", record_id=first.pk)

    second = _client("Other", phone=PHONE)

    assert second.pk != first.pk


def test_links_to_missing_or_trashed_records_are_refused_with_their_ids(shop, django_user_model):
    # given
    client = _client()
    gone = _client("Gone")
    record_delete(entity="client", record_id=gone.pk)
    tag = record_create(entity="tag", data={"name": "vip"})
    inactive = django_user_model.objects.create_user(username="left", is_active=False)

    # when
    order_errors = _errors(
        lambda: record_create(entity="order", data={"client": gone.pk, "technician": inactive.pk})
    )
    client_errors = _errors(lambda: _client("New", tags=[tag.pk, 998, 999]))

    # then
    assert order_errors["client"] == [
        f"There is no Client with id {gone.pk} (it does not exist or is in the trash)."
    ]
    assert order_errors["technician"] == [f"There is no active user with id {inactive.pk}."]
    assert client_errors["tags"] == [
        "There are no Tag records with ids 998, 999 (they do not exist or are in the trash)."
    ]
    assert record_create(entity="order", data={"client": client.pk}).pk


def test_relation_checks_cost_one_query_per_field_not_per_value(shop):
    tags = record_bulk_create(entity="tag", rows=[{"name": f"t{i}"} for i in range(20)])
    few = [t.pk for t in tags[:2]]
    many = [t.pk for t in tags]

    with CaptureQueriesContext(connection) as small:
        _client("A", tags=few)
    with CaptureQueriesContext(connection) as large:
        _client("B", tags=many)

    assert len(large) == len(small)


def test_autonumber_and_system_fields_in_input(shop, owner):
    client = _client()

    errors = _errors(
        lambda: record_create(entity="order", data={"client": client.pk, "number": "X-1"})
    )
    order = record_create(
        entity="order",
        data={"client": client.pk, "id": 999, "version": 7, "created_by": owner.pk},
    )

    assert errors == {"number": ["This value is assigned automatically; leave it out."]}
    assert order.pk != 999
    assert order.version == 1
    assert order.created_by_id is None


def test_create_stores_the_branch(shop):
    branch = branch_create(name="Centre")

    by_object = record_create(entity="client", data={"name": "A"}, branch=branch)
    by_id = record_create(entity="client", data={"name": "B"}, branch=branch.pk)
    errors = _errors(lambda: record_create(entity="client", data={"name": "C"}, branch=9999))

    assert by_object.branch_id == by_id.branch_id == branch.pk
    assert record_to_dict(shop.entity("client"), by_id)["branch"] == branch.pk
    assert errors == {"branch": ["There is no branch #9999."]}


def test_file_values_go_through_the_field_type(shop, owner):
    field_create(entity="client", slug="photo", label="Photo", type="file", user=owner)

    errors = _errors(
        lambda: record_create(
            entity="client", data={"name": "A", "photo": {"path": "../etc/passwd"}}
        )
    )

    assert errors == {"photo": ["'../etc/passwd' is not a stored file."]}


# -- update ------------------------------------------------------------------------------------


def test_update_changes_given_fields_bumps_version_and_stamps_user(shop, clerk):
    grant(clerk, "client")
    client = _client(phone=PHONE, email="a@example.com")

    updated = record_update(
        entity="client", record_id=client.pk, version=1, data={"email": "b@example.com"}, user=clerk
    )

    data = record_to_dict(shop.entity("client"), record_get("client", client.pk))
    assert updated.version == data["version"] == 2
    assert data["email"] == "b@example.com"
    assert data["phone"] == PHONE_E164  # untouched
    assert data["updated_by"] == clerk.pk
    assert data["updated_at"] > data["created_at"]


def test_update_reads_version_from_data_and_requires_it(shop):
    client = _client()

    record_update(entity="client", record_id=client.pk, data={"name": "B", "version": 1})
    errors = _errors(lambda: record_update(entity="client", record_id=client.pk, data={}))

    assert record_get("client", client.pk).version == 2
    assert errors == {"version": ["Give the version of the record your change is based on."]}


def test_update_may_not_empty_a_required_field(shop):
    client = _client()

    errors = _errors(
        lambda: record_update(entity="client", record_id=client.pk, version=1, data={"name": ""})
    )

    assert errors == {"name": ["This field is required; it cannot be emptied."]}
    assert record_get("client", client.pk).version == 1


def test_update_with_a_stale_version_conflicts_and_shows_the_current_record(shop):
    client = _client()
    record_update(entity="client", record_id=client.pk, version=1, data={"name": "Winner"})

    with pytest.raises(RecordConflict) as caught:
        record_update(entity="client", record_id=client.pk, version=1, data={"name": "Loser"})

    assert caught.value.code == "conflict"
    assert caught.value.current["name"] == "Winner"
    assert caught.value.current["version"] == 2
    assert record_to_dict(shop.entity("client"), record_get("client", client.pk))["name"] == (
        "Winner"
    )


def test_update_that_changes_nothing_writes_nothing(shop):
    client = _client(email="a@example.com")

    same = record_update(
        entity="client", record_id=client.pk, version=1, data={"email": "a@EXAMPLE.com"}
    )

    assert same.version == 1
    assert RecordHistory.objects.filter(record_id=client.pk, action="update").count() == 0


def test_update_of_a_trashed_or_missing_record_is_not_found(shop):
    client = _client()
    record_delete(entity="client", record_id=client.pk)

    with pytest.raises(NotFound, match="in the trash"):
        record_update(entity="client", record_id=client.pk, version=2, data={"name": "x"})
    with pytest.raises(NotFound):
        record_update(entity="client", record_id=12345, version=1, data={"name": "x"})


def test_multi_link_keeps_the_given_order_and_only_new_ids_are_checked(shop):
    a, b, c = record_bulk_create(entity="tag", rows=[{"name": n} for n in "abc"])
    client = _client(tags=[c.pk, a.pk])
    record_delete(entity="tag", record_id=a.pk)  # set_null: the link stays

    record_update(
        entity="client", record_id=client.pk, version=1, data={"tags": [c.pk, a.pk, b.pk]}
    )

    data = record_to_dict(shop.entity("client"), record_get("client", client.pk))
    assert data["tags"] == [c.pk, a.pk, b.pk]
    unprefetched = shop.entity("client").model._default_manager.get(pk=client.pk)
    assert record_to_dict(shop.entity("client"), unprefetched)["tags"] == [c.pk, a.pk, b.pk]


# -- bulk create -------------------------------------------------------------------------------


def test_bulk_create_is_all_or_nothing_and_names_rows(shop):
    _client(phone=PHONE)

    with pytest.raises(RecordValidationError) as caught:
        record_bulk_create(
            entity="client",
            rows=[
                {"name": "ok"},
                {"name": "dup", "phone": PHONE},
                {"name": "ok too", "phone": "+49 30 7654321"},
                {"email": "x"},
                {"name": "twice", "phone": "+49 30 7654321"},
            ],
        )

    error = caught.value
    assert error.rows == [2, 4, 5]
    assert "Rows 2, 4, 5" in error.message
    assert error.errors["rows[2].phone"][0].startswith("Row 2, Phone: ")
    assert error.errors["rows[4].name"] == ["Row 4, Name: This field is required."]
    assert "rows[4].email" in error.errors
    assert "given twice (Row 3)" in error.errors["rows[5].phone"][0]
    assert shop.entity("client").objects().count() == 1


def test_bulk_create_inserts_in_one_statement_with_autonumbers_and_history(shop, owner):
    client = _client()
    rows = [{"client": client.pk, "lines": [{"item": f"i{n}"}]} for n in range(30)]

    with CaptureQueriesContext(connection) as queries:
        orders = record_bulk_create(entity="order", rows=rows, user=owner)

    order_table = shop.entity("order").entity.table_name
    inserts = [q for q in queries if q["sql"].startswith(f'INSERT INTO "{order_table}"')]
    assert len(inserts) == 1
    numbers = [record_to_dict(shop.entity("order"), o)["number"] for o in orders]
    assert [n[-5:] for n in numbers] == [f"{n:05d}" for n in range(1, 31)]
    history = RecordHistory.objects.filter(entity_id=shop.entity("order").entity.pk)
    assert history.filter(action="create").count() == 30
    assert all(len(record_to_dict(shop.entity("order"), o)["lines"]) == 1 for o in orders)


# -- reads -------------------------------------------------------------------------------------


def test_reading_many_records_costs_a_fixed_number_of_queries(shop):
    def read_all():
        schema = get_registry().entity("order")
        with CaptureQueriesContext(connection) as queries:
            result = [record_to_dict(schema, o) for o in record_queryset("order")]
        return result, len(queries)

    tags = record_bulk_create(entity="tag", rows=[{"name": "a"}, {"name": "b"}])
    client = _client(tags=[t.pk for t in tags])
    record_bulk_create(entity="order", rows=[{"client": client.pk, "lines": [{"item": "x"}]}] * 2)
    few, few_queries = read_all()
    record_bulk_create(
        entity="order", rows=[{"client": client.pk, "lines": [{"item": "x"}, {"item": "y"}]}] * 8
    )
    many, many_queries = read_all()

    assert len(few) == 2
    assert len(many) == 10
    assert many_queries == few_queries


def test_record_get_and_queryset_hide_the_trash_unless_asked(shop):
    kept, trashed = _client("kept"), _client("trashed")
    record_delete(entity="client", record_id=trashed.pk)

    assert [r.pk for r in record_queryset("client")] == [kept.pk]
    assert [r.pk for r in record_queryset("client", include_trash=True)] == [kept.pk, trashed.pk]
    with pytest.raises(NotFound):
        record_get("client", trashed.pk)
    assert record_get("client", trashed.pk, include_trash=True).deleted_at is not None


def test_duplicate_values_counts_live_records(shop):
    client = _client()
    rows = [{"client": client.pk, "state": s} for s in ["new", "new", "ready", "ready", "ready"]]
    orders = record_bulk_create(entity="order", rows=[*rows, {"client": client.pk}])
    record_delete(entity="order", record_id=orders[0].pk)

    schema = get_registry().entity("order")
    found = duplicate_values(schema, schema.field("state"))

    assert found == [("ready", 3), ("new", 2)]  # trashed "new" not counted; blank never


# -- events ------------------------------------------------------------------------------------


def test_events_are_published_after_commit_with_changed_fields(
    shop, owner, django_capture_on_commit_callbacks
):
    seen = []
    unsubscribe = [
        events.subscribe(name, lambda event, **payload: seen.append((event, payload)))
        for name in (
            events.RECORD_CREATED,
            events.RECORD_UPDATED,
            events.RECORD_DELETED,
            events.RECORD_RESTORED,
        )
    ]
    try:
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            client = _client(email="a@example.com")
            assert seen == []  # not before the commit
        with django_capture_on_commit_callbacks(execute=True):
            record_update(
                entity="client", record_id=client.pk, version=1, data={"name": "B"}, user=owner
            )
            record_delete(entity="client", record_id=client.pk, user=owner)
            record_restore(entity="client", record_id=client.pk, user=owner)
    finally:
        for stop in unsubscribe:
            stop()

    assert seen == [
        (
            "record_created",
            {
                "entity": "client",
                "record_id": client.pk,
                "user_id": None,
                "version": 1,
                "fields": ["name", "email"],
            },
        ),
        (
            "record_updated",
            {
                "entity": "client",
                "record_id": client.pk,
                "user_id": owner.pk,
                "version": 2,
                "fields": ["name"],
            },
        ),
        (
            "record_deleted",
            {
                "entity": "client",
                "record_id": client.pk,
                "user_id": owner.pk,
                "version": 3,
                "fields": [],
            },
        ),
        (
            "record_restored",
            {
                "entity": "client",
                "record_id": client.pk,
                "user_id": owner.pk,
                "version": 4,
                "fields": [],
            },
        ),
    ]


def test_a_failed_write_publishes_nothing(shop, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(RecordValidationError):
        record_create(entity="client", data={})

    assert callbacks == []


# -- trash -------------------------------------------------------------------------------------


def test_protect_refuses_naming_the_linking_entity_and_count(shop):
    client = _client()
    record_bulk_create(entity="order", rows=[{"client": client.pk}] * 2)

    with pytest.raises(RecordProtected) as caught:
        record_delete(entity="client", record_id=client.pk)

    assert caught.value.code == "protected"
    assert "2 order records link to it through client" in caught.value.message
    assert record_get("client", client.pk).deleted_at is None


def test_trashed_linking_records_do_not_protect(shop):
    client = _client()
    order = record_create(entity="order", data={"client": client.pk})
    record_delete(entity="order", record_id=order.pk)

    trashed = record_delete(entity="client", record_id=client.pk)

    assert trashed.deleted_at is not None


@pytest.fixture
def cascading(shop, owner):
    """device -> client with on_delete=cascade; repair -> device with cascade too."""
    entity_create(slug="device", label="Device", user=owner)
    field_create(entity="device", slug="serial", label="Serial", type="text", unique=True)
    field_create(
        entity="device",
        slug="client",
        label="Client",
        type="link",
        options={"target": "client", "on_delete": "cascade"},
    )
    entity_create(slug="repair", label="Repair", user=owner)
    field_create(
        entity="repair",
        slug="device",
        label="Device",
        type="link",
        options={"target": "device", "on_delete": "cascade"},
    )
    return get_registry()


def test_cascade_trashes_linking_records_with_the_same_time_and_restores_them(cascading):
    # given
    client = _client()
    other = _client("Other")
    devices = record_bulk_create(
        entity="device",
        rows=[{"serial": "A", "client": client.pk}, {"serial": "B", "client": client.pk}],
    )
    repair = record_create(entity="repair", data={"device": devices[0].pk})
    unrelated = record_create(entity="device", data={"serial": "C", "client": other.pk})
    separately = record_create(entity="device", data={"serial": "D", "client": client.pk})
    record_delete(entity="device", record_id=separately.pk)  # trashed on its own, earlier

    # when
    trashed = record_delete(entity="client", record_id=client.pk)

    # then
    def stamp(entity, pk):
        return record_get(entity, pk, include_trash=True).deleted_at

    assert stamp("device", devices[0].pk) == stamp("device", devices[1].pk) == trashed.deleted_at
    assert stamp("repair", repair.pk) == trashed.deleted_at
    assert stamp("device", unrelated.pk) is None

    # when
    record_restore(entity="client", record_id=client.pk)

    # then the group comes back, the device trashed on its own stays in the trash
    assert stamp("client", client.pk) is None
    assert stamp("device", devices[1].pk) is None
    assert stamp("repair", repair.pk) is None
    assert stamp("device", separately.pk) is not None


def test_set_null_leaves_links_as_they_are(shop):
    tag = record_create(entity="tag", data={"name": "vip"})
    client = _client(tags=[tag.pk])

    record_delete(entity="tag", record_id=tag.pk)

    data = record_to_dict(shop.entity("client"), record_get("client", client.pk))
    assert data["tags"] == [tag.pk]


def test_restore_is_refused_when_a_unique_value_was_taken_meanwhile(shop):
    first = _client(phone=PHONE)
    record_delete(entity="client", record_id=first.pk)
    second = _client("Second", phone=PHONE)

    errors = _errors(lambda: record_restore(entity="client", record_id=first.pk))

    assert list(errors) == ["phone"]
    assert f"now used by Client #{second.pk}" in errors["phone"][0]
    assert record_get("client", first.pk, include_trash=True).deleted_at is not None


def test_restore_of_a_live_record_is_not_found(shop):
    client = _client()

    with pytest.raises(NotFound, match="not in the trash"):
        record_restore(entity="client", record_id=client.pk)
