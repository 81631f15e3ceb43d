"""Record history: every write leaves a row; changes read by the fields' current slugs."""

from __future__ import annotations

import pytest

from cardfile.metamodel.models import RecordHistory
from cardfile.metamodel.records import (
    RecordValidationError,
    record_create,
    record_delete,
    record_history,
    record_restore,
    record_update,
)
from cardfile.metamodel.schema.services import field_delete, field_update
from tests.builders import build_shop_schema, grant

pytestmark = [pytest.mark.embedded]


@pytest.fixture
def shop(schema_db, owner):
    return build_shop_schema(owner)


def test_create_update_delete_restore_each_leave_a_row(shop, owner, clerk):
    grant(clerk, "client")
    client = record_create(entity="client", data={"name": "Ivan", "discount": 5}, user=owner)
    record_update(
        entity="client", record_id=client.pk, version=1, data={"discount": "7.5"}, user=clerk
    )
    record_delete(entity="client", record_id=client.pk, user=owner)
    record_restore(entity="client", record_id=client.pk, user=clerk)

    history = record_history("client", client.pk)

    assert [(h["action"], h["version"], h["username"]) for h in history] == [
        ("create", 1, "owner"),
        ("update", 2, "clerk"),
        ("delete", 3, "owner"),
        ("restore", 4, "clerk"),
    ]
    assert history[0]["changes"] == {
        "name": {"before": None, "after": "Ivan"},
        "discount": {"before": None, "after": "5.00"},
    }
    assert history[1]["changes"] == {"discount": {"before": "5.00", "after": "7.50"}}
    assert history[1]["user"] == clerk.pk
    assert history[0]["at"] <= history[1]["at"]


def test_only_fields_that_changed_are_recorded(shop):
    client = record_create(
        entity="client", data={"name": "Ivan", "email": "ivan@example.com", "discount": 5}
    )

    record_update(
        entity="client",
        record_id=client.pk,
        version=1,
        data={
            "name": "Ivan",
            "email": "ivan@EXAMPLE.com",
            "discount": "5.0",
            "phone": "030 1234567",
        },
    )

    changes = record_history("client", client.pk)[-1]["changes"]
    assert changes == {"phone": {"before": None, "after": "+49301234567"}}


def test_history_is_stored_by_field_id_and_read_by_current_slug(shop):
    client = record_create(entity="client", data={"name": "Ivan"})
    record_update(entity="client", record_id=client.pk, version=1, data={"name": "Ivan P."})
    name = shop.entity("client").field("name")

    field_update(entity="client", field="name", slug="full_name")

    stored = RecordHistory.objects.filter(record_id=client.pk, action="update").get()
    assert stored.changes == {str(name.pk): ["Ivan", "Ivan P."]}
    assert record_history("client", client.pk)[-1]["changes"] == {
        "full_name": {"before": "Ivan", "after": "Ivan P."}
    }


def test_a_field_that_is_gone_shows_its_id(shop):
    client = record_create(entity="client", data={"name": "Ivan", "email": "ivan@example.com"})
    email = shop.entity("client").field("email")

    field_delete(entity="client", field="email")

    changes = record_history("client", client.pk)[0]["changes"]
    assert changes[str(email.pk)] == {"before": None, "after": "ivan@example.com"}
    assert changes["name"] == {"before": None, "after": "Ivan"}


def test_a_refused_write_leaves_no_history(shop):
    client = record_create(entity="client", data={"name": "Ivan"})

    with pytest.raises(RecordValidationError):
        record_update(entity="client", record_id=client.pk, version=1, data={"discount": 500})

    assert [h["action"] for h in record_history("client", client.pk)] == ["create"]


def test_history_of_an_unknown_record_is_empty(shop):
    assert record_history("client", 424242) == []
