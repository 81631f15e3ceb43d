"""Saved list views: who may save, share, change and delete them, and how their settings
are checked (a view that the list could not show is refused with the error)."""

from __future__ import annotations

import pytest

from cardfile.core.exceptions import InvalidInput, NotFound, PermissionDenied
from cardfile.core.models import AuditLog
from cardfile.metamodel.access import access_for
from cardfile.metamodel.models import SavedView
from cardfile.metamodel.records import record_create
from cardfile.metamodel.records.filtering import record_list
from cardfile.metamodel.saved_views import (
    clean_filters,
    combined_where,
    filter_expression,
    saved_view_create,
    saved_view_delete,
    saved_view_list,
    saved_view_update,
    text_literal,
)
from cardfile.metamodel.schema.dynamic import get_registry
from cardfile.metamodel.schema.services import field_create
from tests.builders import build_shop_schema, grant


@pytest.fixture
def shop(owner):
    build_shop_schema(owner)
    field_create(entity="order", slug="total", label="Total", type="money", user=owner)
    field_create(entity="order", slug="due", label="Due", type="date", user=owner)
    field_create(entity="order", slug="paid", label="Paid", type="boolean", user=owner)


def _id(entity: str, slug: str) -> int:
    return get_registry().entity(entity).by_slug[slug].pk


@pytest.mark.embedded
def test_create_a_personal_view_normalises_its_settings_and_is_audited(owner, shop):
    # when
    view = saved_view_create(
        entity="order",
        name="  Open orders ",
        config={
            "columns": [_id("order", "state"), _id("order", "total"), _id("order", "state")],
            "sort": " -total ",
            "where": 'state = "new"',
            "filters": [{"field": "total", "op": "gt", "value": "100"}, {"field": ""}],
        },
        user=owner,
    )
    # then
    assert view.name == "Open orders"
    assert view.user_id == owner.pk
    assert view.config == {
        "columns": [_id("order", "state"), _id("order", "total")],
        "sort": "-total",
        "search": "",
        "filters": [{"field": "total", "op": "gt", "value": "100"}],
        "where": 'state = "new"',
        "page_size": 25,
    }
    entry = AuditLog.objects.get(object_type="saved_view", object_id=str(view.pk))
    assert entry.action == AuditLog.Action.CREATE
    assert entry.user == owner
    assert entry.after["name"] == "Open orders"


@pytest.mark.parametrize(
    ("config", "key", "fragment"),
    [
        ({"columns": [999999]}, "columns", "999999"),
        ({"columns": "state"}, "columns", "list"),
        ({"sort": "nothing"}, "sort", "nothing"),
        ({"sort": "lines"}, "sort", "no order"),
        ({"where": "total >"}, "where", ""),
        ({"where": "totl > 1"}, "where", "totl"),
        ({"where": "total"}, "where", ""),
        ({"filters": [{"field": "total", "op": "contains", "value": "1"}]}, "filters[1]", "total"),
        ({"filters": [{"field": "total", "op": "gt", "value": "many"}]}, "filters[1]", "number"),
        ({"filters": [{"field": "due", "op": "gt", "value": "31.12.2024"}]}, "filters[1]", "date"),
        ({"filters": [{"field": "state", "op": "eq", "value": "lost"}]}, "filters[1]", "lost"),
        ({"filters": [{"field": "lines", "op": "blank"}]}, "filters[1]", "lines"),
        ({"filters": "state"}, "filters", "list"),
        ({"page_size": 7}, "page_size", "25"),
        ({"kanban_field": _id}, "kanban_field", ""),
        ({"colour": "red"}, "config", "colour"),
        ({"search": 5}, "search", ""),
    ],
)
def test_wrong_settings_are_refused_naming_the_setting(owner, shop, config, key, fragment):
    if config.get("kanban_field") is _id:
        config = {"kanban_field": _id("order", "total")}  # not a choice field
    with pytest.raises(InvalidInput) as caught:
        saved_view_create(entity="order", name="Wrong", config=config, user=owner)
    assert key in caught.value.errors
    assert fragment in " ".join(caught.value.errors[key])
    assert not SavedView.objects.exists()


def test_a_wrong_where_carries_its_position(owner, shop):
    with pytest.raises(InvalidInput) as caught:
        saved_view_create(
            entity="order", name="Wrong", config={"where": 'state = "new" AND totl > 1'}, user=owner
        )
    position = caught.value.formula["position"]
    assert (position["start"], position["end"]) == (18, 22)


def test_a_view_needs_a_unique_name(owner, shop):
    saved_view_create(entity="order", name="Mine", config={}, user=owner)
    with pytest.raises(InvalidInput) as caught:
        saved_view_create(entity="order", name="Mine", config={}, user=owner)
    assert "name" in caught.value.errors
    with pytest.raises(InvalidInput):
        saved_view_create(entity="order", name="  ", config={}, user=owner)
    # a shared view may take the name of a personal one
    assert saved_view_create(entity="order", name="Mine", config={}, shared=True, user=owner)


def test_hidden_fields_cannot_be_put_in_a_view(owner, clerk, shop):
    grant(clerk, "client", ops=("read",), fields={"phone": "hidden"})
    for config, key in (
        ({"columns": [_id("client", "phone")]}, "columns"),
        ({"sort": "phone"}, "sort"),
        ({"where": 'phone = "1"'}, "where"),
        ({"filters": [{"field": "phone", "op": "eq", "value": "1"}]}, "filters[1]"),
    ):
        with pytest.raises(InvalidInput) as caught:
            saved_view_create(entity="client", name="Peek", config=config, user=clerk)
        assert key in caught.value.errors


@pytest.mark.embedded
def test_sharing_needs_the_configure_right(owner, clerk, shop):
    grant(clerk, "order", "client", ops=("read",))
    with pytest.raises(PermissionDenied):
        saved_view_create(entity="order", name="All", config={}, shared=True, user=clerk)
    own = saved_view_create(entity="order", name="Own", config={}, user=clerk)
    with pytest.raises(PermissionDenied):
        saved_view_update(entity="order", view_id=own.pk, shared=True, user=clerk)
    # given the configure right on orders
    grant(clerk, "order", ops=("read", "configure"), role="planner")
    shared = saved_view_create(entity="order", name="All", config={}, shared=True, user=clerk)
    assert shared.user_id is None
    view = saved_view_update(entity="order", view_id=own.pk, shared=True, user=clerk)
    assert view.shared


def test_shared_views_are_changed_only_by_configurers(owner, clerk, shop):
    grant(clerk, "order", "client", ops=("read",))
    shared = saved_view_create(
        entity="order", name="Ready", config={"where": 'state = "ready"'}, shared=True, user=owner
    )
    with pytest.raises(PermissionDenied):
        saved_view_update(entity="order", view_id=shared.pk, name="Mine now", user=clerk)
    with pytest.raises(PermissionDenied):
        saved_view_delete(entity="order", view_id=shared.pk, user=clerk)
    renamed = saved_view_update(entity="order", view_id=shared.pk, name="Done", user=owner)
    assert renamed.name == "Done"
    entry = AuditLog.objects.filter(object_type="saved_view", action="update").get()
    assert entry.before == {"name": "Ready"}
    assert entry.after == {"name": "Done"}


def test_list_gives_shared_then_own_views_and_never_others(owner, clerk, shop):
    grant(clerk, "order", "client", ops=("read",))
    mine = saved_view_create(entity="order", name="Clerk's", config={}, user=clerk)
    theirs = saved_view_create(entity="order", name="Owner's", config={}, user=owner)
    shared = saved_view_create(entity="order", name="Shared", config={}, shared=True, user=owner)
    assert saved_view_list("order", clerk) == [shared, mine]
    assert saved_view_list("order", owner) == [shared, theirs]
    with pytest.raises(NotFound):
        saved_view_update(entity="order", view_id=theirs.pk, name="Taken", user=clerk)
    with pytest.raises(NotFound):
        saved_view_delete(entity="order", view_id=theirs.pk, user=clerk)
    with pytest.raises(PermissionDenied):
        saved_view_list("order", get_user_model_instance())


def get_user_model_instance():
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user(username="nobody", password="x-pass-word!")


def test_delete_is_audited(owner, shop):
    view = saved_view_create(entity="order", name="Gone", config={}, user=owner)
    saved_view_delete(entity="order", view_id=view.pk, user=owner)
    assert not SavedView.objects.filter(pk=view.pk).exists()
    entry = AuditLog.objects.get(object_type="saved_view", action=AuditLog.Action.DELETE)
    assert entry.before["name"] == "Gone"


# -- the filter builder ------------------------------------------------------------------------


def test_text_literals_double_their_quotes():
    assert text_literal('say "hi"') == '"say ""hi"""'
    assert text_literal("") == '""'


@pytest.mark.embedded
def test_filter_rows_become_a_condition_the_list_reads(owner, shop):
    client = record_create(entity="client", data={"name": 'The "best" ) OR TRUE'}, user=owner)
    other = record_create(entity="client", data={"name": "Other"}, user=owner)
    for number, (c, total, paid) in enumerate(((client, "50", True), (other, "500", False))):
        record_create(
            entity="order",
            data={"client": c.pk, "total": total, "paid": paid, "due": f"2024-0{number + 1}-15"},
            user=owner,
        )
    schema = get_registry().entity("order")
    access = access_for(owner)
    rows = clean_filters(
        schema,
        [
            {"field": "client", "op": "contains", "value": '"best" ) OR TRUE'},
            {"field": "total", "op": "lte", "value": "-0,5"},
            {"field": "paid", "op": "true", "value": "ignored"},
        ],
        access,
    )
    assert rows[2] == {"field": "paid", "op": "true", "value": ""}
    assert filter_expression(schema, rows, access) == (
        'CONTAINS(client.name, """best"" ) OR TRUE") AND total <= -0.5 AND paid = TRUE'
    )

    def ids(filters, where=""):
        cleaned = clean_filters(schema, filters, access)
        expression, _offset = combined_where(where, filter_expression(schema, cleaned, access))
        return sorted(o.pk for o in record_list("order", {"where": expression}, user=owner))

    orders = sorted(o.pk for o in record_list("order", {}, user=owner))
    assert ids([{"field": "client", "op": "contains", "value": '"best" ) OR TRUE'}]) == [orders[0]]
    assert ids([{"field": "total", "op": "gte", "value": "100"}]) == [orders[1]]
    assert ids([{"field": "paid", "op": "false"}]) == [orders[1]]
    assert ids([{"field": "due", "op": "lt", "value": "2024-02-01"}]) == [orders[0]]
    assert ids([{"field": "created_at", "op": "gte", "value": "2000-01-01"}]) == orders
    assert ids([{"field": "number", "op": "starts", "value": "ro-"}]) == orders
    assert ids([{"field": "state", "op": "ne", "value": "new"}]) == []
    assert ids([{"field": "total", "op": "gt", "value": "10"}], where="paid") == [orders[0]]


def test_combined_where_tells_where_the_typed_text_starts():
    assert combined_where("  a > 1 ", "") == ("a > 1", 0)
    assert combined_where("", "b = 2") == ("b = 2", 0)
    assert combined_where("a > 1 OR c", "b = 2") == ("(a > 1 OR c) AND b = 2", 1)
