"""Kanban boards: /r/<entity>/kanban/<field>/ shows a list's records in a column per value of
a choice field; dragging a card posts the move (with the record's version)."""

from __future__ import annotations

import re
from html import unescape

import pytest

from cardfile.metamodel.records import record_get
from cardfile.metamodel.schema.dynamic import get_registry
from tests.builders import grant


def _attname(entity: str, slug: str) -> str:
    return get_registry().entity(entity).by_slug[slug].attname


def test_kanban_shows_a_column_per_choice(owner, shop, signed_in):
    orders = shop["orders"]
    response = signed_in(owner).get("/r/order/kanban/state/")
    html = response.content.decode()
    assert response.status_code == 200
    for value in ("new", "in_work", "ready", "issued"):
        assert f'data-testid="kanban-column-{value}"' in html
    column = html.split('data-testid="kanban-column-ready"')[1].split("</section>")[0]
    assert f'data-testid="kanban-card-{orders[1].pk}"' in column
    assert f'data-version="{orders[1].version}"' in column
    assert signed_in(owner).get("/r/order/kanban/total/").status_code == 404  # no choice
    assert signed_in(owner).get("/r/order/kanban/nothing/").status_code == 404


def test_kanban_move_changes_the_value_and_a_stale_version_is_refused(owner, shop, signed_in):
    browser = signed_in(owner)
    order = shop["orders"][0]
    version = record_get("order", order.pk).version
    # when
    response = browser.post(
        "/r/order/kanban/state/move/",
        {"record": order.pk, "version": version, "value": "ready"},
        HTTP_HX_REQUEST="true",
    )
    # then
    assert response.status_code == 200
    current = record_get("order", order.pk)
    assert getattr(current, _attname("order", "state")) == "ready"
    assert f'data-version="{current.version}"' in response.content.decode()
    assert "cf:toast" in response["HX-Trigger"]
    # when: moved again from the old version
    response = browser.post(
        "/r/order/kanban/state/move/",
        {"record": order.pk, "version": version, "value": "issued"},
        HTTP_HX_REQUEST="true",
    )
    # then: refused, unchanged, with a message for the toast
    assert response.status_code == 409
    assert '"level": "warning"' in response["HX-Trigger"]
    assert getattr(record_get("order", order.pk), _attname("order", "state")) == "ready"


@pytest.mark.embedded
def test_kanban_quick_search_swaps_the_board(owner, shop, signed_in):
    browser = signed_in(owner)
    orders = shop["orders"]
    html = browser.get("/r/order/kanban/state/?columns=number,total").content.decode()
    assert 'data-testid="quick-search"' in html
    assert 'id="kanban-board"' in html
    # the form carries the list's state along with the search
    assert '<input type="hidden" name="columns" value="number,total">' in html
    # when: searching through htmx, aimed at the board
    response = browser.get(
        "/r/order/kanban/state/?applied=1&columns=number,total&search=ready",
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="kanban-board",
    )
    html = response.content.decode()
    # then: only the board, with the matching cards, and the links out of band
    assert "<html" not in html
    assert 'data-testid="quick-search"' not in html
    cards = [int(i) for i in re.findall(r'data-testid="kanban-card-(\d+)"', html)]
    assert cards == [orders[1].pk]
    assert '<div id="kanban-nav" class="d-flex flex-wrap gap-2" hx-swap-oob="true">' in html
    table = re.search(r'href="([^"]*)" data-testid="kanban-list"', html).group(1)
    assert "search=ready" in unescape(table)
    assert "HX-Target" in response["Vary"]
    # a full page load with the search (a link, a reload) shows the same cards
    html = browser.query("/r/order/kanban/state/", search="ready").content.decode()
    assert [int(i) for i in re.findall(r'data-testid="kanban-card-(\d+)"', html)] == cards


def test_kanban_move_answers_the_card_with_the_boards_fields(owner, shop, signed_in):
    order = shop["orders"][0]
    html = signed_in(owner).get("/r/order/kanban/state/?columns=paid").content.decode()
    state = unescape(re.search(r'data-state="([^"]*)"', html).group(1))
    assert "columns=paid" in state
    # when: the board's state goes with the move, as list.js sends it
    body = f"{state}&record={order.pk}&version={order.version}&value=ready"
    response = signed_in(owner).post(
        "/r/order/kanban/state/move/",
        body,
        content_type="application/x-www-form-urlencoded",
        HTTP_HX_REQUEST="true",
    )
    # then: the card comes back with "paid" and without the default columns, as on the board
    assert response.status_code == 200
    html = response.content.decode()
    assert "bi-check-lg" in html
    assert "€1,234.50" not in html


def test_kanban_move_needs_the_update_right(owner, clerk, shop, signed_in):
    grant(clerk, "order", "client", ops=("read",))
    order = shop["orders"][0]
    html = signed_in(clerk).get("/r/order/kanban/state/").content.decode()
    assert 'data-can-move="false"' in html
    response = signed_in(clerk).post(
        "/r/order/kanban/state/move/",
        {"record": order.pk, "version": order.version, "value": "ready"},
    )
    assert response.status_code == 403
    assert getattr(record_get("order", order.pk), _attname("order", "state")) == "new"
