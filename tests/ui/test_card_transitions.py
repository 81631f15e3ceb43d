"""The card's transition buttons: one per move of a status the user may make now, labelled by
the transition (else the target state) and coloured like the state, posting the move through
the record service with the card's version."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model

from cardfile.metamodel.records import record_get, record_history, record_update
from cardfile.metamodel.schema.dynamic import get_registry
from tests.builders import grant
from tests.status_builders import build_status_schema, new_order, staff

pytestmark = [pytest.mark.embedded]


@pytest.fixture
def shop(owner):
    return build_status_schema(owner)


def _user(username, role):
    user = get_user_model().objects.create_user(username=username, password="s3cret-pass!")
    staff(user, role)
    return user


@pytest.fixture
def technician(shop):
    return _user("tech", "technician")


@pytest.fixture
def manager(shop):
    return _user("boss", "manager")


def _record(order):
    return record_get("order", order.pk)


def _state(order):
    schema = get_registry().entity("order")
    return getattr(_record(order), schema.by_slug["status"].attname)


def _buttons(html: str) -> list[tuple[str, str]]:
    """(target state, text) of each transition button of the status field, in order."""
    return [
        (to, text.strip())
        for to, text in re.findall(
            r'<button type="submit" name="to" value="([^"]*)"[^>]*>([^<]*)</button>', html
        )
    ]


def _move(browser, order, to, *, version=None, **headers):
    return browser.post(
        f"/r/order/{order.pk}/transition/",
        {
            "field": "status",
            "to": to,
            "version": str(_record(order).version if version is None else version),
        },
        **headers,
    )


def test_the_card_shows_a_button_per_move_from_the_current_state(shop, technician, signed_in):
    order = new_order()

    html = signed_in(technician).get(f"/r/order/{order.pk}/").content.decode()

    # labelled by the transition, else by the target state; none to the current state
    assert _buttons(html) == [("diagnostics", "Start diagnostics"), ("cancelled", "Cancelled")]
    button = re.search(r'<button[^>]*data-testid="transition-status-diagnostics"[^>]*>', html)
    assert 'style="--cf-badge: var(--bs-orange)"' in button.group(0)
    assert 'name="version" value="1"' in html.split('data-testid="card-transitions"')[1]


def test_the_buttons_follow_the_state_and_the_users_roles(
    shop, owner, technician, manager, signed_in
):
    in_diagnostics = new_order(status="diagnostics")
    ready = new_order(status="ready", price="5")

    def buttons(user, order):
        return _buttons(signed_in(user).get(f"/r/order/{order.pk}/").content.decode())

    # ready and every cancellation from diagnostics are the managers'
    assert buttons(technician, in_diagnostics) == []
    assert buttons(manager, in_diagnostics) == [("ready", "Ready"), ("cancelled", "Cancelled")]
    assert buttons(owner, in_diagnostics) == [("ready", "Ready"), ("cancelled", "Cancelled")]
    assert buttons(technician, ready) == [("issued", "Issue")]
    html = signed_in(technician).get(f"/r/order/{in_diagnostics.pk}/").content.decode()
    assert 'data-testid="card-transitions"' not in html
    assert 'data-testid="field-status"' in html  # the select stays


def test_a_button_moves_the_state_and_writes_history(shop, owner, technician, signed_in):
    order = new_order()
    browser = signed_in(technician)

    response = _move(browser, order, "diagnostics")

    assert response.status_code == 302
    assert response["Location"] == f"/r/order/{order.pk}/"
    assert _state(order) == "diagnostics"
    last = record_history("order", order.pk, user=owner)[-1]
    assert last["changes"] == {"status": {"before": "new", "after": "diagnostics"}}
    assert last["user"] == technician.pk
    page = browser.get(response["Location"]).content.decode()
    assert "Saved." in page
    assert re.search(r'<option value="diagnostics" selected', page)
    assert _buttons(page) == []  # no move of a technician's from diagnostics


def test_a_button_works_through_htmx_too(shop, technician, signed_in):
    order = new_order()

    response = _move(signed_in(technician), order, "cancelled", HTTP_HX_REQUEST="true")

    assert response.status_code == 204
    assert response["HX-Redirect"] == f"/r/order/{order.pk}/"
    assert _state(order) == "cancelled"


def test_a_refused_move_shows_the_services_message_and_keeps_the_state(shop, manager, signed_in):
    order = new_order(status="diagnostics")
    version = _record(order).version

    response = _move(signed_in(manager), order, "ready")

    assert response.status_code == 400
    html = response.content.decode()
    assert "Price is required in the state \u201cReady\u201d." in html
    assert 'data-testid="error-price"' in html  # also on the field, to fill in
    assert _state(order) == "diagnostics"
    assert _record(order).version == version
    assert _buttons(html) == [("ready", "Ready"), ("cancelled", "Cancelled")]


def test_a_move_refused_for_the_role_says_whose_it_is(shop, technician, signed_in):
    order = new_order(status="diagnostics")

    response = _move(signed_in(technician), order, "ready")

    assert response.status_code == 400
    assert "reserved for the role manager" in response.content.decode()
    assert _state(order) == "diagnostics"


def test_a_stale_card_gets_the_conflict_panel(shop, owner, technician, signed_in):
    order = new_order()
    record_update(entity="order", record_id=order.pk, version=1, data={"price": "7"}, user=owner)

    response = _move(signed_in(technician), order, "diagnostics", version=1)

    assert response.status_code == 409
    html = response.content.decode()
    assert 'data-testid="conflict-panel"' in html
    assert 'name="overwrite_version" value="2"' in html
    # overwriting makes the move: the card holds it
    assert re.search(r'<option value="diagnostics" selected', html)
    assert _state(order) == "new"


def test_no_buttons_for_a_user_who_may_only_read(shop, clerk, signed_in):
    grant(clerk, "client", "order", ops=("read",), role="reader")
    order = new_order()
    browser = signed_in(clerk)

    html = browser.get(f"/r/order/{order.pk}/").content.decode()
    response = _move(browser, order, "diagnostics")

    assert 'data-testid="read-only-card"' in html
    assert 'data-testid="card-transitions"' not in html
    assert response.status_code == 403
    assert _state(order) == "new"
