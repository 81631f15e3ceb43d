"""The record list screens: /r/<entity>/ tables (columns, sort, filters, search, saved views,
pagination, rights) and /r/<entity>/kanban/<field>/ boards."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from cardfile.metamodel.models import SavedView
from cardfile.metamodel.records import record_bulk_create, record_create, record_get
from cardfile.metamodel.schema.services import field_create
from tests.builders import build_shop_with_tags, grant


def _shop(owner):
    """The shop with tags, plus on order a total (money), paid (yes/no), a due date and a
    colourful priority."""
    build_shop_with_tags(owner)
    field_create(
        entity="order",
        slug="total",
        label="Total",
        type="money",
        options={"currency": "EUR"},
        user=owner,
    )
    field_create(entity="order", slug="paid", label="Paid", type="boolean", user=owner)
    field_create(entity="order", slug="due", label="Due", type="date", user=owner)
    field_create(
        entity="order",
        slug="priority",
        label="Priority",
        type="choice",
        options={
            "choices": [
                {"value": "high", "label": "High", "color": "#dc3545"},
                {"value": "low", "label": "Low", "color": "red; background: url(x)"},
            ]
        },
        user=owner,
    )


@pytest.fixture
def shop(owner):
    _shop(owner)
    ann = record_create(
        entity="client", data={"name": "Ann Archer", "phone": "+4930901820"}, user=owner
    )
    bob = record_create(
        entity="client", data={"name": "Bob Baker", "phone": "+4940123456"}, user=owner
    )
    orders = [
        record_create(
            entity="order",
            data={
                "client": ann.pk,
                "state": "new",
                "total": {"amount": "1234.50", "currency": "EUR"},
                "paid": True,
                "priority": "high",
            },
            user=owner,
        ),
        record_create(
            entity="order",
            data={"client": bob.pk, "state": "ready", "total": "80", "paid": False},
            user=owner,
        ),
        record_create(
            entity="order",
            data={"client": ann.pk, "state": "in_work", "total": "300", "priority": "low"},
            user=owner,
        ),
    ]
    return {"ann": ann, "bob": bob, "orders": orders}


def _browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _rows(html: str) -> list[int]:
    """Record ids of the table rows, in order."""
    return [int(i) for i in re.findall(r'data-testid="list-row-(\d+)"', html)]


def _get(client, url, **params):
    return client.get(url + ("?" + urlencode(params, doseq=True) if params else ""))


# -- the table ---------------------------------------------------------------------------------


@pytest.mark.embedded
def test_list_renders_rows_with_formatted_values(owner, shop):
    # when
    response = _browser(owner).get("/r/order/?columns=number,client,total,paid,priority")
    html = response.content.decode()
    # then: newest first, with each kind of value shown as a person reads it
    assert response.status_code == 200
    orders = shop["orders"]
    assert _rows(html) == [o.pk for o in reversed(orders)]
    assert 'data-testid="list-table"' in html
    assert "€1,234.50" in html  # money in the locale's format
    assert re.search(r'<td class="text-end[^"]*">\s*€1,234.50', html)  # end-aligned
    ann = shop["ann"]
    assert f'href="/r/client/{ann.pk}/"' in html  # a link shows its title and leads to it
    assert ">Ann Archer</a>" in html
    assert "bi-check-lg" in html
    assert "bi-x-lg" in html
    assert 'style="--cf-badge: #dc3545"' in html  # a choice as a colour badge
    assert ">High</span>" in html
    assert "url(x)" not in html  # a colour that is no colour is not put into CSS
    assert f'data-href="/r/order/{orders[0].pk}/"' in html  # each row opens its card
    assert 'data-testid="new-record"' in html
    assert 'href="/r/order/new/"' in html
    assert 'data-testid="kanban-link-state"' in html


def test_unknown_and_line_entities_are_404_and_no_read_right_is_403(owner, clerk, shop):
    browser = _browser(owner)
    assert browser.get("/r/nothing/").status_code == 404
    assert browser.get("/r/order_line/").status_code == 404  # lines live in their order
    response = _browser(clerk).get("/r/order/")
    assert response.status_code == 403
    assert 'data-testid="list-denied"' in response.content.decode()
    assert Client().get("/r/order/").status_code == 302  # to the login page


def test_columns_are_chosen_and_ordered_by_the_query(owner, shop):
    response = _get(_browser(owner), "/r/order/", columns="total,client", applied="1")
    html = response.content.decode()
    headers = re.findall(r'data-testid="sort-(\w+)"', html)
    assert headers == ["total", "client"]
    # the column picker offers the chosen ones first, in order, then the others unticked
    picker = re.findall(r'name="columns" value="(\w+)"\s+id="column-\w+"( checked)?', html)
    assert picker[:2] == [("total", " checked"), ("client", " checked")]
    assert ("state", "") in picker
    assert "lines" not in [slug for slug, _ in picker]  # child tables are no columns


def test_default_columns_are_the_first_six_fields(owner, shop):
    html = _browser(owner).get("/r/order/").content.decode()
    headers = re.findall(r'data-testid="sort-(\w+)"', html)
    assert headers == ["number", "client", "state", "technician", "total", "paid"]


def test_sort_param_orders_rows_and_headers_toggle(owner, shop):
    browser = _browser(owner)
    orders = shop["orders"]
    html = _get(browser, "/r/order/", sort="total").content.decode()
    assert _rows(html) == [orders[1].pk, orders[2].pk, orders[0].pk]  # 80, 300, 1234.50
    # the header of the sorted column now sorts the other way; shift adds a level
    link = re.search(r'<a class="cf-sort[^>]*data-testid="sort-total"', html, re.S).group(0)
    assert "sort=-total" in unescape(link)
    state_link = re.search(r'<a class="cf-sort[^>]*data-testid="sort-state"', html, re.S).group(0)
    assert "sort=total%2Cstate" in unescape(state_link)
    html = _get(browser, "/r/order/", sort="-total").content.decode()
    assert _rows(html) == [orders[0].pk, orders[2].pk, orders[1].pk]
    # a link column sorts by the linked records' titles
    client_link = re.search(r'<a class="cf-sort[^>]*data-testid="sort-client"', html, re.S)
    assert "sort=client__name" in unescape(client_link.group(0))
    # several levels: client's name, then total descending
    html = _get(browser, "/r/order/", sort="client__name,-total").content.decode()
    assert _rows(html) == [orders[0].pk, orders[2].pk, orders[1].pk]


@pytest.mark.embedded
def test_filter_rows_write_the_where_condition(owner, shop):
    browser = _browser(owner)
    orders = shop["orders"]
    params = {
        "applied": "1",
        "filter_field": ["state", "total"],
        "filter_op": ["ne", "gt"],
        "filter_value": ["ready", "100"],
    }
    html = _get(browser, "/r/order/", **params).content.decode()
    assert sorted(_rows(html)) == [orders[0].pk, orders[2].pk]
    assert "state &lt;&gt; &quot;ready&quot; AND total &gt; 100" in html  # the condition shown
    # the rows stay in the builder as they were given
    assert '<option value="state" selected>' in html
    assert '<option value="ne" selected>' in html
    assert '<option value="gt" selected>' in html
    assert 'value="100"' in html
    # a client name containing text, through the link's title
    params = {"filter_field": "client", "filter_op": "contains", "filter_value": "bob"}
    assert _rows(_get(browser, "/r/order/", **params).content.decode()) == [orders[1].pk]


def test_filter_values_never_leave_their_literal(owner, shop):
    record_create(entity="client", data={"name": 'Quo"te) OR TRUE OR ("'}, user=owner)
    browser = _browser(owner)
    params = {"filter_field": "name", "filter_op": "eq", "filter_value": '") OR TRUE OR ("'}
    html = _get(browser, "/r/client/", **params).content.decode()
    assert _rows(html) == []  # the value is text compared, not a condition
    params["filter_value"] = 'Quo"te) OR TRUE OR ("'
    html = _get(browser, "/r/client/", **params).content.decode()
    assert len(_rows(html)) == 1
    assert "list-errors" not in html


def test_a_wrong_filter_value_is_reported(owner, shop):
    params = {"filter_field": "total", "filter_op": "gt", "filter_value": "lots"}
    html = _get(_browser(owner), "/r/order/", **params).content.decode()
    assert 'data-testid="filter-error"' in html
    assert "Expected a number" in html
    assert _rows(html) == []


@pytest.mark.embedded
def test_where_filters_and_a_bad_where_shows_the_error_with_a_caret(owner, shop):
    browser = _browser(owner)
    orders = shop["orders"]
    html = _get(browser, "/r/order/", where='state = "new" OR total < 100').content.decode()
    assert sorted(_rows(html)) == [orders[0].pk, orders[1].pk]
    # when: a condition naming no field
    response = _get(browser, "/r/order/", where='state = "new" AND totl > 100')
    html = response.content.decode()
    # then: the error, the line and a caret under the unknown name
    assert response.status_code == 200
    assert 'data-testid="where-error"' in html
    caret = re.search(r'data-testid="where-caret">(.*?)</pre>', html, re.S).group(1)
    line, marks = unescape(caret).split("\n")
    assert line == 'state = "new" AND totl > 100'
    assert marks == " " * line.index("totl") + "^^^^"
    assert _rows(html) == []


def test_caret_stays_under_the_typed_text_with_filter_rows(owner, shop):
    params = {
        "where": "nope > 1",
        "filter_field": "state",
        "filter_op": "eq",
        "filter_value": "new",
    }
    html = _get(_browser(owner), "/r/order/", **params).content.decode()
    caret = re.search(r'data-testid="where-caret">(.*?)</pre>', html, re.S).group(1)
    assert unescape(caret).split("\n") == ["nope > 1", "^^^^"]


@pytest.mark.embedded
def test_quick_search_and_the_htmx_partial(owner, shop):
    browser = _browser(owner)
    orders = shop["orders"]
    html = _get(browser, "/r/client/", search="bob").content.decode()
    assert _rows(html) == [shop["bob"].pk]
    # an htmx request aimed at the results gets the table part only
    response = browser.get(
        "/r/order/?search=ready", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="list-results"
    )
    html = response.content.decode()
    assert "<html" not in html
    assert 'data-testid="quick-search"' not in html
    assert 'data-testid="list-table"' in html
    assert _rows(html) == [orders[1].pk]  # the choice value "ready" is searched
    assert "HX-Request" in response["Vary"]


def _filter_count(html: str) -> tuple[str, bool, bool] | None:
    """The Filter button's badge: its number, whether it is hidden, whether it is out of
    band."""
    found = re.search(r'<span id="filter-count"([^>]*)>(\d+)', html)
    if found is None:
        return None
    attrs = found.group(1)
    return found.group(2), " hidden" in attrs, 'hx-swap-oob="true"' in attrs


@pytest.mark.embedded
def test_filter_count_follows_the_htmx_swaps(owner, shop):
    browser = _browser(owner)
    # a full page without conditions: the badge is there, hidden, and not out of band
    assert _filter_count(browser.get("/r/order/").content.decode()) == ("0", True, False)
    params = {
        "applied": "1",
        "filter_field": ["state", "total"],
        "filter_op": ["ne", "gt"],
        "filter_value": ["ready", "100"],
        "where": "paid",
    }
    assert _filter_count(_get(browser, "/r/order/", **params).content.decode()) == (
        "3",
        False,
        False,
    )
    # when: the filters change by an htmx request aimed at the results
    response = browser.get(
        "/r/order/?" + urlencode(params, doseq=True),
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="list-results",
    )
    # then: the partial carries the new count for the toolbar, out of band
    assert _filter_count(response.content.decode()) == ("3", False, True)
    response = browser.get(
        "/r/order/?applied=1", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="list-results"
    )
    assert _filter_count(response.content.decode()) == ("0", True, True)


def test_pagination_pages_through_all_rows(owner, shop):
    record_bulk_create(
        entity="client", rows=[{"name": f"Client {i:02d}"} for i in range(30)], user=owner
    )
    browser = _browser(owner)
    html = _get(browser, "/r/client/", page_size="10", sort="name").content.decode()
    assert 'data-testid="pagination"' in html
    assert re.search(r'data-testid="pagination-range">1–10 of 32<', html)
    assert 'data-testid="page-4"' in html
    seen = []
    for page in (1, 2, 3, 4):
        html = _get(browser, "/r/client/", page_size="10", sort="name", page=str(page))
        seen += _rows(html.content.decode())
    assert len(seen) == 32
    assert len(set(seen)) == 32
    # a page past the end shows the last one
    html = _get(browser, "/r/client/", page_size="10", page="99").content.decode()
    assert len(_rows(html)) == 2
    # one page: the pagination is there all the same, with its range and no page links
    html = _get(browser, "/r/client/", page_size="50").content.decode()
    assert re.search(r'data-testid="pagination-range">1–32 of 32<', html)
    assert 'data-testid="page-1"' not in html
    html = _get(browser, "/r/client/", search="nobody by this name").content.decode()
    assert re.search(r'data-testid="pagination-range">No records<', html)


# -- rights ------------------------------------------------------------------------------------


@pytest.mark.embedded
def test_hidden_field_never_in_the_html_and_rows_outside_the_rule_not_listed(owner, clerk, shop):
    # given: the technician may read clients named Ann only, without their phone
    grant(clerk, "client", ops=("read",), rule='LEFT(name, 3) = "Ann"', fields={"phone": "hidden"})
    browser = _browser(clerk)
    # when
    html = _get(browser, "/r/client/", columns="name,phone", applied="1").content.decode()
    # then
    assert _rows(html) == [shop["ann"].pk]
    assert "+4930901820" not in html
    assert "Phone" not in html
    assert 'value="phone"' not in html  # not offered as a column or a filter
    assert 'data-testid="sort-phone"' not in html
    assert 'data-testid="new-record"' not in html  # no create right
    # asking for it by sort, filter or condition is refused, never shown
    html = _get(browser, "/r/client/", sort="phone").content.decode()
    assert "+4930901820" not in html
    assert _rows(html) == []
    html = _get(browser, "/r/client/", where='phone = "+4930901820"').content.decode()
    assert 'data-testid="where-error"' in html
    assert _rows(html) == []
    params = {"filter_field": "phone", "filter_op": "eq", "filter_value": "+4930901820"}
    html = _get(browser, "/r/client/", **params).content.decode()
    assert _rows(html) == []
    assert 'data-testid="filter-error"' in html
    html = _get(browser, "/r/client/", search="40123456").content.decode()
    assert _rows(html) == []


def test_links_to_records_outside_the_rules_show_no_title(owner, clerk, shop):
    grant(clerk, "order", ops=("read",))
    grant(clerk, "client", ops=("read",), rule='name = "Ann Archer"', role="clients")
    html = _browser(clerk).get("/r/order/").content.decode()
    assert "Ann Archer" in html
    assert "Bob Baker" not in html
    assert f">#{shop['bob'].pk}<" in html


# -- query counts ------------------------------------------------------------------------------


def _count_queries(browser, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = browser.get(url)
    assert response.status_code == 200
    return len(captured)


@pytest.mark.embedded
def test_list_page_queries_are_bounded_and_do_not_grow_with_rows(owner, schema_db):
    _shop(owner)
    tag = record_create(entity="tag", data={"name": "vip"}, user=owner)
    clients = record_bulk_create(
        entity="client",
        rows=[{"name": f"C{i}", "tags": [tag.pk]} for i in range(30)],
        user=owner,
    )
    record_bulk_create(
        entity="order",
        rows=[
            {"client": c.pk, "technician": owner.pk, "total": "10", "state": "new"}
            for c in clients[:5]
        ],
        user=owner,
    )
    columns = "applied=1&columns=number,client,state,technician,total,paid"
    browser = _browser(owner)
    browser.get("/r/order/")  # warm the schema and rights caches of this process
    five = _count_queries(browser, f"/r/order/?{columns}")
    board = "/r/order/kanban/state/?applied=1&columns=number,client,technician"
    five_cards = _count_queries(browser, board)
    record_bulk_create(
        entity="order",
        rows=[{"client": c.pk, "technician": owner.pk, "state": "ready"} for c in clients[5:]],
        user=owner,
    )
    thirty = _count_queries(browser, f"/r/order/?{columns}")
    assert five == thirty
    assert thirty <= 16
    html = browser.get(f"/r/order/?{columns}").content.decode()
    assert len(_rows(html)) == 25  # the default page
    assert len(re.findall(r'href="/r/client/\d+/"', html)) == 25  # links shown with their titles
    # a multi_link column: one more query for the titles, whatever the number of rows
    five = _count_queries(browser, "/r/client/?columns=name,tags&page_size=10")
    thirty = _count_queries(browser, "/r/client/?columns=name,tags&page_size=50")
    assert five == thirty <= 16
    assert ">vip</a>" in browser.get("/r/client/?columns=name,tags").content.decode()
    # the board too, and its quick search partial
    thirty_cards = _count_queries(browser, board)
    assert five_cards == thirty_cards <= 16
    html = browser.get(board).content.decode()
    assert len(re.findall(r'data-testid="kanban-card-\d+"', html)) == 30
    with CaptureQueriesContext(connection) as captured:
        browser.get(board, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="kanban-board")
    assert len(captured) <= thirty_cards


# -- saved views -------------------------------------------------------------------------------


def _save(browser, entity, **data):
    return browser.post(f"/r/{entity}/views/", data, HTTP_HX_REQUEST="true")


def test_save_a_personal_view_and_open_it(owner, clerk, shop):
    grant(clerk, "order", "client", ops=("read",))
    browser = _browser(clerk)
    orders = shop["orders"]
    # when: the clerk saves the list as they see it
    response = _save(
        browser,
        "order",
        name="Big ones",
        columns=["total", "state"],
        sort="-total",
        filter_field="total",
        filter_op="gte",
        filter_value="100",
        page_size="10",
    )
    # then
    view = SavedView.objects.get(name="Big ones")
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"/r/order/?view={view.pk}"
    assert view.user_id == clerk.pk
    assert view.config["sort"] == "-total"
    assert view.config["filters"] == [{"field": "total", "op": "gte", "value": "100"}]
    html = browser.get(f"/r/order/?view={view.pk}").content.decode()
    assert _rows(html) == [orders[0].pk, orders[2].pk]
    assert re.findall(r'data-testid="sort-(\w+)"', html) == ["total", "state"]
    assert 'data-testid="view-picker"' in html
    assert "Big ones" in html
    # the owner does not see the clerk's personal view
    assert "Big ones" not in _browser(owner).get("/r/order/").content.decode()
    assert _browser(owner).get(f"/r/order/?view={view.pk}").status_code == 404


def test_shared_view_needs_configure(owner, clerk, shop):
    grant(clerk, "order", "client", ops=("read",))
    clerk_browser = _browser(clerk)
    # the clerk is not offered sharing and cannot force it
    html = clerk_browser.get("/r/order/").content.decode()
    assert 'name="shared"' not in html
    response = _save(clerk_browser, "order", name="Everyone", shared="on", sort="total")
    assert response.status_code == 400
    assert "configure" in response.content.decode()
    assert not SavedView.objects.filter(name="Everyone").exists()
    # the owner shares one; the clerk sees and opens it but may not change it
    owner_browser = _browser(owner)
    assert 'name="shared"' in owner_browser.get("/r/order/").content.decode()
    response = _save(owner_browser, "order", name="Ready", shared="on", where='state = "ready"')
    view = SavedView.objects.get(name="Ready")
    assert view.shared
    html = clerk_browser.get(f"/r/order/?view={view.pk}").content.decode()
    assert _rows(html) == [shop["orders"][1].pk]
    assert 'data-testid="view-update"' not in html
    response = clerk_browser.post(
        f"/r/order/views/{view.pk}/", {"sort": "total"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 400
    assert SavedView.objects.get(pk=view.pk).config["where"] == 'state = "ready"'
    response = clerk_browser.post(f"/r/order/views/{view.pk}/delete/")
    assert response.status_code == 403
    assert SavedView.objects.filter(pk=view.pk).exists()


def test_update_and_delete_a_view(owner, shop):
    browser = _browser(owner)
    _save(browser, "order", name="Mine", sort="total")
    view = SavedView.objects.get(name="Mine")
    response = browser.post(
        f"/r/order/views/{view.pk}/", {"sort": "-due", "search": "ann"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    view.refresh_from_db()
    assert (view.config["sort"], view.config["search"]) == ("-due", "ann")
    response = browser.post(f"/r/order/views/{view.pk}/delete/")
    assert response.status_code == 302
    assert not SavedView.objects.filter(pk=view.pk).exists()


def test_a_broken_view_is_refused_with_the_error(owner, shop):
    response = _save(_browser(owner), "order", name="Broken", where="total >")
    html = response.content.decode()
    assert response.status_code == 400
    assert "where:" in html
    assert not SavedView.objects.filter(name="Broken").exists()


# -- kanban ------------------------------------------------------------------------------------


def test_kanban_shows_a_column_per_choice(owner, shop):
    orders = shop["orders"]
    response = _browser(owner).get("/r/order/kanban/state/")
    html = response.content.decode()
    assert response.status_code == 200
    for value in ("new", "in_work", "ready", "issued"):
        assert f'data-testid="kanban-column-{value}"' in html
    column = html.split('data-testid="kanban-column-ready"')[1].split("</section>")[0]
    assert f'data-testid="kanban-card-{orders[1].pk}"' in column
    assert f'data-version="{orders[1].version}"' in column
    assert _browser(owner).get("/r/order/kanban/total/").status_code == 404  # no choice
    assert _browser(owner).get("/r/order/kanban/nothing/").status_code == 404


def test_kanban_move_changes_the_value_and_a_stale_version_is_refused(owner, shop):
    browser = _browser(owner)
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
def test_kanban_quick_search_swaps_the_board(owner, shop):
    browser = _browser(owner)
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
    html = _get(browser, "/r/order/kanban/state/", search="ready").content.decode()
    assert [int(i) for i in re.findall(r'data-testid="kanban-card-(\d+)"', html)] == cards


def test_kanban_move_answers_the_card_with_the_boards_fields(owner, shop):
    order = shop["orders"][0]
    html = _browser(owner).get("/r/order/kanban/state/?columns=paid").content.decode()
    state = unescape(re.search(r'data-state="([^"]*)"', html).group(1))
    assert "columns=paid" in state
    # when: the board's state goes with the move, as list.js sends it
    body = f"{state}&record={order.pk}&version={order.version}&value=ready"
    response = _browser(owner).post(
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


def test_kanban_move_needs_the_update_right(owner, clerk, shop):
    grant(clerk, "order", "client", ops=("read",))
    order = shop["orders"][0]
    html = _browser(clerk).get("/r/order/kanban/state/").content.decode()
    assert 'data-can-move="false"' in html
    response = _browser(clerk).post(
        "/r/order/kanban/state/move/",
        {"record": order.pk, "version": order.version, "value": "ready"},
    )
    assert response.status_code == 403
    assert getattr(record_get("order", order.pk), _attname("order", "state")) == "new"


def _attname(entity: str, slug: str) -> str:
    from cardfile.metamodel.schema.dynamic import get_registry

    return get_registry().entity(entity).by_slug[slug].attname


def test_decimal_comma_and_dates_in_filters(owner, shop):
    browser = _browser(owner)
    orders = shop["orders"]
    params = {"filter_field": "total", "filter_op": "lt", "filter_value": "80,5"}
    assert _rows(_get(browser, "/r/order/", **params).content.decode()) == [orders[1].pk]
    params = {"filter_field": "created_at", "filter_op": "gte", "filter_value": "2000-01-01"}
    assert len(_rows(_get(browser, "/r/order/", **params).content.decode())) == 3
    params = {"filter_field": "paid", "filter_op": "false"}
    html = _get(browser, "/r/order/", **params).content.decode()
    assert sorted(_rows(html)) == [orders[1].pk, orders[2].pk]


def test_links_to_an_entity_the_user_may_not_read_show_the_id_only(owner, clerk, shop):
    grant(clerk, "order", ops=("read",))
    browser = _browser(clerk)
    html = browser.get("/r/order/").content.decode()
    assert _rows(html)  # the orders are listed
    assert "Ann Archer" not in html
    assert f">#{shop['ann'].pk}<" in html
    assert 'href="/r/client/' not in html
    # the client column sorts by the link itself, and filters only by being empty or not
    link = re.search(r'<a class="cf-sort[^>]*data-testid="sort-client"', html, re.S).group(0)
    assert "sort=client&" in unescape(link)
    params = {"filter_field": "client", "filter_op": "contains", "filter_value": "Ann"}
    html = _get(browser, "/r/order/", **params).content.decode()
    assert 'data-testid="filter-error"' in html
    params = {"filter_field": "client", "filter_op": "not_blank"}
    assert len(_rows(_get(browser, "/r/order/", **params).content.decode())) == 3


# -- quick search through links ---------------------------------------------------------------


def test_quick_search_matches_linked_titles_within_rights(owner, clerk, shop):
    orders = shop["orders"]
    html = _get(_browser(owner), "/r/order/", search="archer").content.decode()
    assert sorted(_rows(html)) == [orders[0].pk, orders[2].pk]
    # clerk: orders, clients only Bob by a row rule
    grant(clerk, "order", ops=("read",))
    grant(clerk, "client", ops=("read",), rule='name = "Bob Baker"', role="clients")
    b = _browser(clerk)
    assert _rows(_get(b, "/r/order/", search="archer").content.decode()) == []
    assert _rows(_get(b, "/r/order/", search="baker").content.decode()) == [orders[1].pk]


def test_quick_search_skips_titles_of_an_unreadable_entity(owner, clerk, shop):
    grant(clerk, "order", ops=("read",))
    b = _browser(clerk)
    assert _rows(_get(b, "/r/order/", search="baker").content.decode()) == []
    assert _rows(_get(b, "/r/order/", search="ready").content.decode()) == [shop["orders"][1].pk]


def test_quick_search_skips_a_hidden_title_field(owner, clerk, shop):
    grant(clerk, "order", ops=("read",))
    grant(clerk, "client", ops=("read",), fields={"name": "hidden"}, role="clients")
    b = _browser(clerk)
    assert _rows(_get(b, "/r/order/", search="baker").content.decode()) == []


def test_quick_search_skips_a_hidden_link(owner, clerk, shop):
    grant(clerk, "order", ops=("read",), fields={"client": "hidden"})
    grant(clerk, "client", ops=("read",), role="clients")
    b = _browser(clerk)
    assert _rows(_get(b, "/r/order/", search="baker").content.decode()) == []
