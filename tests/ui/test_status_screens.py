"""Status fields on screens: the card offers only allowed moves, badges in state colours, a
board per status with columns in state order that refuses a bad drop, and the configurator's
editor of states and transitions."""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from cardfile.metamodel.records import record_get
from cardfile.metamodel.schema.dynamic import get_registry
from tests.status_builders import build_status_schema, new_order, staff

pytestmark = [pytest.mark.embedded]


@pytest.fixture
def shop(owner):
    return build_status_schema(owner)


@pytest.fixture
def technician(shop):
    user = get_user_model().objects.create_user(username="tech", password="s3cret-pass!")
    staff(user, "technician")
    return user


def _state(order):
    schema = get_registry().entity("order")
    return getattr(record_get("order", order.pk), schema.by_slug["status"].attname)


def _options(html: str, slug: str) -> list[str]:
    select = html.split(f'data-testid="field-{slug}"')[1].split("</select>")[0]
    return re.findall(r'<option value="([^"]*)"', select)


def test_the_card_offers_only_the_current_and_the_allowed_states(shop, technician, signed_in):
    order = new_order()
    browser = signed_in(technician)

    fresh = browser.get(f"/r/order/{order.pk}/").content.decode()
    new = browser.get("/r/order/new/").content.decode()

    assert _options(fresh, "status") == ["new", "diagnostics", "cancelled"]
    assert re.search(r'<option value="new" selected data-colour="#0d6efd">New</option>', fresh)
    assert _options(new, "status") == ["new"]  # a new record shows its initial state


def test_the_card_refuses_a_move_with_the_services_message(shop, technician, signed_in):
    order = new_order()
    browser = signed_in(technician)

    refused = browser.post(
        f"/r/order/{order.pk}/",
        {"version": "1", "status": "issued"},
        HTTP_HX_REQUEST="true",
    )
    moved = browser.post(
        f"/r/order/{order.pk}/", {"version": "1", "status": "diagnostics"}, HTTP_HX_REQUEST="true"
    )

    assert refused.status_code == 400
    html = refused.content.decode()
    assert 'data-testid="error-status"' in html
    assert "Allowed next states: Diagnostics, Cancelled." in html
    assert moved.status_code == 204
    assert _state(order) == "diagnostics"
    after = browser.get(f"/r/order/{order.pk}/").content.decode()
    assert _options(after, "status") == ["diagnostics"]  # ready and cancelled need a manager


def test_lists_show_states_as_coloured_badges(shop, owner, signed_in):
    new_order(status="diagnostics")

    html = signed_in(owner).get("/r/order/").content.decode()

    assert "Diagnostics" in html
    assert "--cf-badge: var(--bs-orange)" in html


def test_kanban_groups_by_status_in_state_order(shop, owner, signed_in):
    first = new_order()
    new_order(status="ready", price="5")

    html = signed_in(owner).get("/r/order/kanban/status/").content.decode()

    columns = re.findall(r'data-testid="kanban-column-([a-z_]*)"', html)
    assert columns == ["new", "diagnostics", "ready", "issued", "cancelled"]  # no blank one
    column = html.split('data-testid="kanban-column-new"')[1].split("</section>")[0]
    assert f'data-testid="kanban-card-{first.pk}"' in column
    lists = signed_in(owner).get("/r/order/").content.decode()
    assert reverse("ui:record_kanban", args=["order", "status"]) in lists


def test_kanban_refuses_a_move_outside_the_allowed_transitions(shop, technician, signed_in):
    order = new_order()
    browser = signed_in(technician)

    refused = browser.post(
        "/r/order/kanban/status/move/",
        {"record": order.pk, "version": 1, "value": "ready"},
        HTTP_HX_REQUEST="true",
    )
    moved = browser.post(
        "/r/order/kanban/status/move/",
        {"record": order.pk, "version": 1, "value": "diagnostics"},
        HTTP_HX_REQUEST="true",
    )

    assert refused.status_code == 400
    toast = json.loads(refused["HX-Trigger"])["cf:toast"]
    assert toast["level"] == "danger"
    assert toast["text"] == (
        "Cannot move from \u201cNew\u201d to \u201cReady\u201d. "
        "Allowed next states: Diagnostics, Cancelled."
    )
    assert moved.status_code == 200
    assert _state(order) == "diagnostics"


def test_kanban_refuses_a_move_into_a_state_whose_required_fields_are_blank(shop, signed_in):
    manager = get_user_model().objects.create_user(username="boss", password="s3cret-pass!")
    staff(manager, "manager")
    order = new_order(status="diagnostics")

    refused = signed_in(manager).post(
        "/r/order/kanban/status/move/",
        {"record": order.pk, "version": 1, "value": "ready"},
        HTTP_HX_REQUEST="true",
    )

    assert refused.status_code == 400
    toast = json.loads(refused["HX-Trigger"])["cf:toast"]
    assert toast["text"] == "Price is required in the state \u201cReady\u201d."
    assert _state(order) == "diagnostics"


# -- configurator ------------------------------------------------------------------------------


@pytest.fixture
def as_owner(client, owner):
    client.force_login(owner)
    return client


def _form(**extra):
    return {
        "type": "status",
        "label": "Stage",
        "slug": "stage",
        "state_value": ["open", "done", ""],
        "state_label": ["Open", "Done", ""],
        "state_color": ["#0d6efd", "", ""],
        "state_group": ["open", "done", "open"],
        "state_required": ["", "price", ""],
        "option-initial": "open",
        "transition_from": ["open", ""],
        "transition_to": ["done", ""],
        "transition_roles": ["manager, technician", ""],
        "transition_label": ["Finish", ""],
        "transition_set": ["closed_at = NOW()", ""],
        **extra,
    }


def test_the_field_form_has_the_status_editor(as_owner, shop):
    page = as_owner.get(reverse("ui:config-field-options", args=["order"]), {"type": "status"})
    html = page.content.decode()

    assert 'data-testid="option-states"' in html
    assert 'data-testid="state-add"' in html
    assert 'data-testid="transition-add"' in html
    assert 'data-testid="option-initial"' in html


def test_the_configurator_creates_and_edits_status_options(as_owner, shop):
    created = as_owner.post(reverse("ui:config-field-new", args=["order"]), _form())

    assert created.status_code == 302
    stage = get_registry().entity("order").by_slug["stage"]
    assert stage.options == {
        "states": [
            {
                "value": "open",
                "label": "Open",
                "color": "#0d6efd",
                "group": "open",
                "required": [],
            },
            {"value": "done", "label": "Done", "color": "", "group": "done", "required": ["price"]},
        ],
        "initial": "open",
        "transitions": [
            {
                "from": "open",
                "to": "done",
                "roles": ["manager", "technician"],
                "set": {"closed_at": "NOW()"},
                "label": "Finish",
            }
        ],
    }
    page = as_owner.get(reverse("ui:config-field", args=["order", "stage"])).content.decode()
    assert 'value="price"' in page
    assert "closed_at = NOW()" in page
    assert 'value="manager, technician"' in page

    edited = as_owner.post(
        reverse("ui:config-field", args=["order", "stage"]),
        _form(transition_from=["*", ""], transition_roles=["", ""], transition_set=["", ""]),
    )

    assert edited.status_code == 302
    transitions = get_registry().entity("order").by_slug["stage"].options["transitions"]
    assert transitions == [{"from": "*", "to": "done", "roles": [], "set": {}, "label": "Finish"}]


def test_the_configurator_shows_errors_naming_the_row(as_owner, shop):
    response = as_owner.post(
        reverse("ui:config-field-new", args=["order"]),
        _form(
            transition_to=["gone", ""],
            transition_set=["closed_at = NOW(", ""],
            state_required=["", "nothing", ""],
        ),
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert "transitions[1].to: &#x27;gone&#x27; is not one of the states: open, done." in html
    assert "stage" not in get_registry().entity("order").by_slug

    bad_formula = as_owner.post(
        reverse("ui:config-field-new", args=["order"]),
        _form(transition_set=["closed_at = NOW(", ""], state_required=["", "nothing", ""]),
    )
    html = bad_formula.content.decode()
    assert "states[2].required: order has no field nothing" in html
    assert "transitions[1].set.closed_at:" in html
