"""Status fields: options, the initial state, allowed transitions by role, required fields on
entering a state, ``set`` actions, history and the STATUS_CHANGED event."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from cardfile.metamodel import events
from cardfile.metamodel.fields import FieldOptionsError, get_field_type
from cardfile.metamodel.records import (
    RecordValidationError,
    record_bulk_create,
    record_create,
    record_history,
    record_update,
)
from cardfile.metamodel.records.filtering import record_list
from cardfile.metamodel.records.statuses import allowed_transitions
from cardfile.metamodel.schema.dynamic import get_registry
from cardfile.metamodel.schema.services import SchemaValidationError, field_create, field_update
from tests.status_builders import STATES, build_status_schema, new_order, staff

pytestmark = [pytest.mark.embedded]

User = get_user_model()


@pytest.fixture
def shop(schema_db, owner):
    return build_status_schema(owner)


@pytest.fixture
def technician(shop):
    user = User.objects.create_user(username="tech", password="s3cret-pass!")
    staff(user, "technician")
    return user


@pytest.fixture
def manager(shop):
    user = User.objects.create_user(username="boss", password="s3cret-pass!")
    staff(user, "manager")
    return user


def _errors(call) -> dict[str, list[str]]:
    with pytest.raises(RecordValidationError) as caught:
        call()
    return caught.value.errors


def _move(order, to, user, **data):
    order.refresh_from_db()
    return record_update(
        entity="order",
        record_id=order.pk,
        version=order.version,
        data={"status": to, **data},
        user=user,
    )


def _attname(slug):
    return get_registry().entity("order").by_slug[slug].attname


def _state(order, slug="status"):
    return getattr(order.__class__._base_manager.get(pk=order.pk), _attname(slug))


# -- options -----------------------------------------------------------------------------------


def test_options_are_normalised_with_defaults():
    cleaned = get_field_type("status").clean_options(
        {"states": ["open", {"value": "done", "color": "green", "group": "done"}]}
    )

    assert cleaned["initial"] == "open"  # the first state
    assert cleaned["states"] == [
        {"value": "open", "label": "open", "color": "", "group": "open", "required": []},
        {"value": "done", "label": "done", "color": "green", "group": "done", "required": []},
    ]
    assert cleaned["transitions"] == []


def test_unknown_states_are_refused_naming_the_path():
    with pytest.raises(FieldOptionsError) as caught:
        get_field_type("status").clean_options(
            {
                "states": ["a", "b", "b"],
                "initial": "z",
                "transitions": [
                    {"from": "a", "to": "b"},
                    {"from": "*", "to": "c"},
                    {"from": "x", "to": "x"},
                ],
            }
        )

    errors = caught.value.details["errors"]
    assert "repeated: b" in errors["states"][0]
    assert errors["initial"] == ["'z' is not one of the states: a, b, b."]
    assert "'c' is not one of the states" in errors["transitions[2].to"][0]
    assert "'x' is not one of the states" in errors["transitions[3].from"][0]
    assert "another state" in errors["transitions[3].to"][-1]
    assert "transitions[1].to" not in errors


def test_options_schema_refuses_unknown_keys_and_groups():
    with pytest.raises(FieldOptionsError) as caught:
        get_field_type("status").clean_options(
            {"states": [{"value": "a", "group": "later"}], "colour": "x"}
        )

    assert set(caught.value.details["errors"]) == {"states.0", "options"}


def test_fields_and_formulas_the_options_name_are_checked_against_the_entity(shop, owner):
    options = {
        "states": [{"value": "a", "required": ["price", "nope"]}, "b", "c", "d"],
        "transitions": [
            {"from": "a", "to": "b", "set": {"closed_at": "NOW()"}},
            {"from": "b", "to": "c", "set": {"price": "1 +"}},
            {"from": "c", "to": "d", "set": {"closed_at": "price * 2", "lines": "1"}},
            {"from": "a", "to": "d", "set": {"ghost": "1"}},
        ],
    }
    with pytest.raises(SchemaValidationError) as caught:
        field_create(
            entity="order", slug="stage", label="Stage", type="status", options=options, user=owner
        )

    errors = caught.value.errors
    assert "order has no field nope" in errors["options.states[1].required"][0]
    assert "options.transitions[1].set.closed_at" not in errors
    assert errors["options.transitions[2].set.price"]  # the syntax error's message
    assert caught.value.formula["caret"].endswith("^")  # with the caret picture
    assert "but closed_at holds datetime" in errors["options.transitions[3].set.closed_at"][0]
    assert "cannot be set by a transition" in errors["options.transitions[3].set.lines"][0]
    assert "no field ghost" in errors["options.transitions[4].set.ghost"][0]


def test_changing_options_checks_them_against_the_entity_too(shop, owner):
    with pytest.raises(SchemaValidationError) as caught:
        field_update(
            entity="order",
            field="status",
            options={"transitions": [{"from": "new", "to": "ready", "set": {"price": "TODAY()"}}]},
            user=owner,
        )

    assert "but price holds decimal" in caught.value.errors["options.transitions[1].set.price"][0]


def test_formulas_and_filters_compare_a_status_with_text(shop, owner):
    order = new_order()
    new_order(status="cancelled")

    found = record_list("order", {"where": 'status = "new"'}, user=owner)

    assert [o.pk for o in found] == [order.pk]
    assert [o.pk for o in record_list("order", {"status": "new"}, user=owner)] == [order.pk]


# -- create ------------------------------------------------------------------------------------


def test_a_new_record_starts_in_the_initial_state(shop, technician):
    client = record_create(entity="client", data={"name": "Ann"}, user=technician)

    order = record_create(entity="order", data={"client": client.pk}, user=technician)

    assert _state(order) == "new"


def test_only_owners_create_records_in_another_state(shop, owner, technician):
    client = record_create(entity="client", data={"name": "Ann"}, user=owner)

    errors = _errors(
        lambda: record_create(
            entity="order", data={"client": client.pk, "status": "ready"}, user=technician
        )
    )
    imported = record_create(
        entity="order", data={"client": client.pk, "status": "issued"}, user=owner
    )

    assert errors == {
        "status": [
            "A new Order starts in \u201cNew\u201d; only owners may create records in another "
            "state."
        ]
    }
    assert _state(imported) == "issued"


def test_bulk_create_follows_the_same_rules(shop, owner, technician):
    client = record_create(entity="client", data={"name": "Ann"}, user=owner)
    rows = [{"client": client.pk}, {"client": client.pk, "status": "issued"}]

    with pytest.raises(RecordValidationError) as caught:
        record_bulk_create(entity="order", rows=rows, user=technician)
    created = record_bulk_create(
        entity="order",
        rows=[{"client": client.pk}, {"client": client.pk, "status": "ready", "price": "5"}],
        user=owner,
    )

    assert caught.value.rows == [2]
    assert "starts in \u201cNew\u201d" in caught.value.errors["rows[2].status"][0]
    assert "rows[1].status" not in caught.value.errors
    assert [_state(o) for o in created] == ["new", "ready"]


def test_entering_a_state_on_create_needs_its_required_fields(shop, owner):
    client = record_create(entity="client", data={"name": "Ann"}, user=owner)

    errors = _errors(
        lambda: record_bulk_create(
            entity="order", rows=[{"client": client.pk, "status": "ready"}], user=owner
        )
    )

    assert errors == {
        "rows[1].price": ["Row 1, Price: Price is required in the state \u201cReady\u201d."]
    }


# -- transitions -------------------------------------------------------------------------------


def test_an_allowed_transition_is_made(shop, technician):
    order = new_order()

    _move(order, "diagnostics", technician)

    assert _state(order) == "diagnostics"


def test_a_transition_outside_the_graph_names_the_allowed_next_states(shop, technician):
    order = new_order()

    errors = _errors(lambda: _move(order, "issued", technician))

    assert errors == {
        "status": [
            "Cannot move from \u201cNew\u201d to \u201cIssued\u201d. "
            "Allowed next states: Diagnostics, Cancelled."
        ]
    }


def test_a_technician_may_not_make_a_managers_transition_and_the_manager_may(
    shop, technician, manager
):
    order = new_order()
    _move(order, "diagnostics", technician)

    errors = _errors(lambda: _move(order, "ready", technician, price="120"))
    _move(order, "ready", manager, price="120")

    assert errors == {
        "status": [
            "Moving from \u201cDiagnostics\u201d to \u201cReady\u201d is reserved for the role "
            "manager. Allowed next states: none."
        ]
    }
    assert _state(order) == "ready"


def test_any_state_transitions_are_open_to_their_roles_only(shop, technician, manager):
    order = new_order()
    _move(order, "diagnostics", technician)

    refused = _errors(lambda: _move(order, "cancelled", technician))
    _move(order, "cancelled", manager)

    assert "reserved for the role manager" in refused["status"][0]
    assert _state(order) == "cancelled"


def test_owners_make_any_transition_of_the_graph_but_only_those(shop, owner):
    order = new_order()
    _move(order, "diagnostics", owner)

    outside = _errors(lambda: _move(order, "issued", owner))
    _move(order, "ready", owner, price="10")

    assert outside == {
        "status": [
            "Cannot move from \u201cDiagnostics\u201d to \u201cIssued\u201d. "
            "Allowed next states: Ready, Cancelled."
        ]
    }


def test_a_status_cannot_be_emptied(shop, owner):
    order = new_order()

    errors = _errors(lambda: _move(order, None, owner))

    assert errors["status"][0].startswith("The status cannot be emptied; it is \u201cNew\u201d.")


def test_a_record_without_a_status_may_move_to_the_initial_state(shop, owner):
    order = new_order()
    order.__class__._base_manager.filter(pk=order.pk).update(**{_attname("status"): None})

    refused = _errors(lambda: _move(order, "ready", owner, price="1"))
    _move(order, "new", owner)

    assert "Allowed next states: New, Cancelled." in refused["status"][0]


def test_required_fields_are_checked_on_entering_a_state(shop, owner, manager):
    order = new_order()
    _move(order, "diagnostics", owner)

    missing = _errors(lambda: _move(order, "ready", manager))
    _move(order, "diagnostics", owner, price="99")  # unchanged status: price stored
    _move(order, "ready", manager)

    assert missing == {"price": ["Price is required in the state \u201cReady\u201d."]}


def test_a_transition_sets_fields_by_formula_in_the_same_version(shop, owner, technician):
    order = new_order()
    _move(order, "diagnostics", owner)
    _move(order, "ready", owner, price="10")
    moment = dt.datetime(2026, 3, 1, 12, 30, tzinfo=dt.UTC)

    with time_machine.travel(moment, tick=False):
        updated = _move(order, "issued", technician)

    assert updated.version == 4
    assert _state(order, "closed_at") == moment
    last = record_history("order", order.pk, user=owner)[-1]
    assert (last["version"], last["user"]) == (4, technician.pk)
    assert last["changes"]["status"] == {"before": "ready", "after": "issued"}
    assert last["changes"]["closed_at"]["before"] is None
    assert dt.datetime.fromisoformat(last["changes"]["closed_at"]["after"]) == moment


def test_every_transition_is_in_history_with_who_and_when(shop, owner, technician):
    order = new_order()
    before = timezone.now().replace(microsecond=0)

    _move(order, "diagnostics", technician)

    entries = record_history("order", order.pk, user=owner)
    assert entries[0]["changes"]["status"] == {"before": None, "after": "new"}
    moved = entries[-1]
    assert moved["changes"] == {"status": {"before": "new", "after": "diagnostics"}}
    assert (moved["action"], moved["user"], moved["username"]) == ("update", technician.pk, "tech")
    assert dt.datetime.fromisoformat(moved["at"]) >= before


def test_status_changed_is_published_after_commit_with_from_and_to(
    shop, technician, django_capture_on_commit_callbacks
):
    order = new_order()
    seen = []
    stop = events.subscribe(
        events.STATUS_CHANGED, lambda event, **payload: seen.append((event, payload))
    )
    updated = []
    try:
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            updated.append(_move(order, "diagnostics", technician))
            assert seen == []  # not before the commit
        with django_capture_on_commit_callbacks(execute=True):
            record_update(
                entity="order", record_id=order.pk, version=2, data={"price": "3"}, user=technician
            )
    finally:
        stop()

    assert updated[0].version == 2
    assert seen == [
        (
            "status_changed",
            {
                "entity": "order",
                "record_id": order.pk,
                "user_id": technician.pk,
                "version": 2,
                "field": "status",
                "from_state": "new",
                "to_state": "diagnostics",
            },
        )
    ]


def test_allowed_transitions_depend_on_the_users_roles(shop, owner, technician, manager, clerk):
    order = new_order()
    schema = get_registry().entity("order")

    assert [s["value"] for s in allowed_transitions(schema, "status", order, technician)] == [
        "diagnostics",
        "cancelled",
    ]
    assert allowed_transitions(schema, "status", "diagnostics", technician) == []
    assert allowed_transitions(schema, "status", "diagnostics", manager) == [
        {"value": "ready", "label": "Ready", "color": "green", "group": "done"},
        {"value": "cancelled", "label": "Cancelled", "color": "red", "group": "cancelled"},
    ]
    assert [s["value"] for s in allowed_transitions(schema, "status", "ready", owner)] == [
        "issued",
        "cancelled",
    ]
    assert allowed_transitions(schema, "status", order, clerk) == []  # may not update orders
    assert len(STATES) == 5
