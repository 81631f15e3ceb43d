"""The record list screens: /r/<entity>/ tables (columns, sort, filters, search, saved views,
pagination, rights). Boards are `test_kanban`; the shop and `signed_in` are in conftest."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from cardfile.metamodel.models import SavedView
from cardfile.metamodel.records import record_bulk_create, record_create
from tests.builders import grant


def _rows(html: str) -> list[int]:
    """Record ids of the table rows, in order."""
    return [int(i) for i in re.findall(r'data-testid="list-row-(\d+)"', html)]


# -- the table ---------------------------------------------------------------------------------


@pytest.mark.embedded
def test_list_renders_rows_with_formatted_values(owner, shop, signed_in):
    # when
    response = signed_in(owner).get("/r/order/?columns=number,client,total,paid,priority")
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


@pytest.mark.embedded
def test_phones_and_addresses_keep_left_to_right_in_a_right_to_left_page(owner, shop, signed_in):
    browser = signed_in(owner)
    browser.cookies["django_language"] = "ar"
    html = browser.get("/r/client/?columns=name,phone").content.decode()
    assert 'dir="rtl"' in html
    # a phone's groups of digits would otherwise be laid out right to left
    assert re.search(r'<span dir="ltr">[^<]*30 ?90 ?18 ?20</span>', html)
    card = browser.get(f"/r/client/{shop['ann'].pk}/").content.decode()
    assert re.search(r'data-testid="field-phone"[^>]*dir="ltr"', card)


def test_unknown_and_line_entities_are_404_and_no_read_right_is_403(owner, clerk, shop, signed_in):
    browser = signed_in(owner)
    assert browser.get("/r/nothing/").status_code == 404
    assert browser.get("/r/order_line/").status_code == 404  # lines live in their order
    response = signed_in(clerk).get("/r/order/")
    assert response.status_code == 403
    assert 'data-testid="list-denied"' in response.content.decode()
    assert Client().get("/r/order/").status_code == 302  # to the login page


def test_columns_are_chosen_and_ordered_by_the_query(owner, shop, signed_in):
    response = signed_in(owner).query("/r/order/", columns="total,client", applied="1")
    html = response.content.decode()
    headers = re.findall(r'data-testid="sort-(\w+)"', html)
    assert headers == ["total", "client"]
    # the column picker offers the chosen ones first, in order, then the others unticked
    picker = re.findall(r'name="columns" value="(\w+)"\s+id="column-\w+"( checked)?', html)
    assert picker[:2] == [("total", " checked"), ("client", " checked")]
    assert ("state", "") in picker
    assert "lines" not in [slug for slug, _ in picker]  # child tables are no columns


def test_default_columns_are_the_first_six_fields(owner, shop, signed_in):
    html = signed_in(owner).get("/r/order/").content.decode()
    headers = re.findall(r'data-testid="sort-(\w+)"', html)
    assert headers == ["number", "client", "state", "technician", "total", "paid"]


def test_sort_param_orders_rows_and_headers_toggle(owner, shop, signed_in):
    browser = signed_in(owner)
    orders = shop["orders"]
    html = browser.query("/r/order/", sort="total").content.decode()
    assert _rows(html) == [orders[1].pk, orders[2].pk, orders[0].pk]  # 80, 300, 1234.50
    # the header of the sorted column now sorts the other way; shift adds a level
    link = re.search(r'<a class="cf-sort[^>]*data-testid="sort-total"', html, re.S).group(0)
    assert "sort=-total" in unescape(link)
    state_link = re.search(r'<a class="cf-sort[^>]*data-testid="sort-state"', html, re.S).group(0)
    assert "sort=total%2Cstate" in unescape(state_link)
    html = browser.query("/r/order/", sort="-total").content.decode()
    assert _rows(html) == [orders[0].pk, orders[2].pk, orders[1].pk]
    # a link column sorts by the linked records' titles
    client_link = re.search(r'<a class="cf-sort[^>]*data-testid="sort-client"', html, re.S)
    assert "sort=client__name" in unescape(client_link.group(0))
    # several levels: client's name, then total descending
    html = browser.query("/r/order/", sort="client__name,-total").content.decode()
    assert _rows(html) == [orders[0].pk, orders[2].pk, orders[1].pk]


@pytest.mark.embedded
def test_filter_rows_write_the_where_condition(owner, shop, signed_in):
    browser = signed_in(owner)
    orders = shop["orders"]
    params = {
        "applied": "1",
        "filter_field": ["state", "total"],
        "filter_op": ["ne", "gt"],
        "filter_value": ["ready", "100"],
    }
    html = browser.query("/r/order/", **params).content.decode()
    assert sorted(_rows(html)) == [orders[0].pk, orders[2].pk]
    assert "state &lt;&gt; &quot;ready&quot; AND total &gt; 100" in html  # the condition shown
    # the rows stay in the builder as they were given
    assert '<option value="state" selected>' in html
    assert '<option value="ne" selected>' in html
    assert '<option value="gt" selected>' in html
    assert 'value="100"' in html
    # a client name containing text, through the link's title
    params = {"filter_field": "client", "filter_op": "contains", "filter_value": "bob"}
    assert _rows(browser.query("/r/order/", **params).content.decode()) == [orders[1].pk]


def test_filter_values_never_leave_their_literal(owner, shop, signed_in):
    record_create(entity="client", data={"name": 'Quo"te) OR TRUE OR ("'}, user=owner)
    browser = signed_in(owner)
    params = {"filter_field": "name", "filter_op": "eq", "filter_value": '") OR TRUE OR ("'}
    html = browser.query("/r/client/", **params).content.decode()
    assert _rows(html) == []  # the value is text compared, not a condition
    params["filter_value"] = 'Quo"te) OR TRUE OR ("'
    html = browser.query("/r/client/", **params).content.decode()
    assert len(_rows(html)) == 1
    assert "list-errors" not in html


def test_a_wrong_filter_value_is_reported(owner, shop, signed_in):
    params = {"filter_field": "total", "filter_op": "gt", "filter_value": "lots"}
    html = signed_in(owner).query("/r/order/", **params).content.decode()
    assert 'data-testid="filter-error"' in html
    assert "Expected a number" in html
    assert _rows(html) == []


@pytest.mark.embedded
def test_where_filters_and_a_bad_where_shows_the_error_with_a_caret(owner, shop, signed_in):
    browser = signed_in(owner)
    orders = shop["orders"]
    html = browser.query("/r/order/", where='state = "new" OR total < 100').content.decode()
    assert sorted(_rows(html)) == [orders[0].pk, orders[1].pk]
    # when: a condition naming no field
    response = browser.query("/r/order/", where='state = "new" AND totl > 100')
    html = response.content.decode()
    # then: the error, the line and a caret under the unknown name
    assert response.status_code == 200
    assert 'data-testid="where-error"' in html
    caret = re.search(r'data-testid="where-caret">(.*?)</pre>', html, re.S).group(1)
    line, marks = unescape(caret).split("\n")
    assert line == 'state = "new" AND totl > 100'
    assert marks == " " * line.index("totl") + "^^^^"
    assert _rows(html) == []


def test_caret_stays_under_the_typed_text_with_filter_rows(owner, shop, signed_in):
    params = {
        "where": "nope > 1",
        "filter_field": "state",
        "filter_op": "eq",
        "filter_value": "new",
    }
    html = signed_in(owner).query("/r/order/", **params).content.decode()
    caret = re.search(r'data-testid="where-caret">(.*?)</pre>', html, re.S).group(1)
    assert unescape(caret).split("\n") == ["nope > 1", "^^^^"]


@pytest.mark.embedded
def test_quick_search_and_the_htmx_partial(owner, shop, signed_in):
    browser = signed_in(owner)
    orders = shop["orders"]
    html = browser.query("/r/client/", search="bob").content.decode()
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
def test_filter_count_follows_the_htmx_swaps(owner, shop, signed_in):
    browser = signed_in(owner)
    # a full page without conditions: the badge is there, hidden, and not out of band
    assert _filter_count(browser.get("/r/order/").content.decode()) == ("0", True, False)
    params = {
        "applied": "1",
        "filter_field": ["state", "total"],
        "filter_op": ["ne", "gt"],
        "filter_value": ["ready", "100"],
        "where": "paid",
    }
    assert _filter_count(browser.query("/r/order/", **params).content.decode()) == (
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


def test_pagination_pages_through_all_rows(owner, shop, signed_in):
    record_bulk_create(
        entity="client", rows=[{"name": f"Client {i:02d}"} for i in range(30)], user=owner
    )
    browser = signed_in(owner)
    html = browser.query("/r/client/", page_size="10", sort="name").content.decode()
    assert 'data-testid="pagination"' in html
    assert re.search(r'data-testid="pagination-range"><bdi>1–10</bdi> of 32<', html)
    assert 'data-testid="page-4"' in html
    seen = []
    for page in (1, 2, 3, 4):
        html = browser.query("/r/client/", page_size="10", sort="name", page=str(page))
        seen += _rows(html.content.decode())
    assert len(seen) == 32
    assert len(set(seen)) == 32
    # a page past the end shows the last one
    html = browser.query("/r/client/", page_size="10", page="99").content.decode()
    assert len(_rows(html)) == 2
    # one page: the pagination is there all the same, with its range and no page links
    html = browser.query("/r/client/", page_size="50").content.decode()
    assert re.search(r'data-testid="pagination-range"><bdi>1–32</bdi> of 32<', html)
    assert 'data-testid="page-1"' not in html
    html = browser.query("/r/client/", search="nobody by this name").content.decode()
    assert re.search(r'data-testid="pagination-range">No records<', html)


# -- rights ------------------------------------------------------------------------------------


@pytest.mark.embedded
def test_hidden_field_never_in_the_html_and_rows_outside_the_rule_not_listed(
    owner, clerk, shop, signed_in
):
    # given: the technician may read clients named Ann only, without their phone
    grant(clerk, "client", ops=("read",), rule='LEFT(name, 3) = "Ann"', fields={"phone": "hidden"})
    browser = signed_in(clerk)
    # when
    html = browser.query("/r/client/", columns="name,phone", applied="1").content.decode()
    # then
    assert _rows(html) == [shop["ann"].pk]
    assert "+4930901820" not in html
    assert "Phone" not in html
    assert 'value="phone"' not in html  # not offered as a column or a filter
    assert 'data-testid="sort-phone"' not in html
    assert 'data-testid="new-record"' not in html  # no create right
    # asking for it by sort, filter or condition is refused, never shown
    html = browser.query("/r/client/", sort="phone").content.decode()
    assert "+4930901820" not in html
    assert _rows(html) == []
    html = browser.query("/r/client/", where='phone = "+4930901820"').content.decode()
    assert 'data-testid="where-error"' in html
    assert _rows(html) == []
    params = {"filter_field": "phone", "filter_op": "eq", "filter_value": "+4930901820"}
    html = browser.query("/r/client/", **params).content.decode()
    assert _rows(html) == []
    assert 'data-testid="filter-error"' in html
    html = browser.query("/r/client/", search="40123456").content.decode()
    assert _rows(html) == []


def test_links_to_records_outside_the_rules_show_no_title(owner, clerk, shop, signed_in):
    grant(clerk, "order", ops=("read",))
    grant(clerk, "client", ops=("read",), rule='name = "Ann Archer"', role="clients")
    html = signed_in(clerk).get("/r/order/").content.decode()
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
def test_list_page_queries_are_bounded_and_do_not_grow_with_rows(owner, shop_schema, signed_in):
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
    browser = signed_in(owner)
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


def test_save_a_personal_view_and_open_it(owner, clerk, shop, signed_in):
    grant(clerk, "order", "client", ops=("read",))
    browser = signed_in(clerk)
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
    assert "Big ones" not in signed_in(owner).get("/r/order/").content.decode()
    assert signed_in(owner).get(f"/r/order/?view={view.pk}").status_code == 404


def test_shared_view_needs_configure(owner, clerk, shop, signed_in):
    grant(clerk, "order", "client", ops=("read",))
    clerk_browser = signed_in(clerk)
    # the clerk is not offered sharing and cannot force it
    html = clerk_browser.get("/r/order/").content.decode()
    assert 'name="shared"' not in html
    response = _save(clerk_browser, "order", name="Everyone", shared="on", sort="total")
    assert response.status_code == 400
    assert "configure" in response.content.decode()
    assert not SavedView.objects.filter(name="Everyone").exists()
    # the owner shares one; the clerk sees and opens it but may not change it
    owner_browser = signed_in(owner)
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


def test_update_and_delete_a_view(owner, shop, signed_in):
    browser = signed_in(owner)
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


def test_a_broken_view_is_refused_with_the_error(owner, shop, signed_in):
    response = _save(signed_in(owner), "order", name="Broken", where="total >")
    html = response.content.decode()
    assert response.status_code == 400
    assert "where:" in html
    assert not SavedView.objects.filter(name="Broken").exists()


def test_decimal_comma_and_dates_in_filters(owner, shop, signed_in):
    browser = signed_in(owner)
    orders = shop["orders"]
    params = {"filter_field": "total", "filter_op": "lt", "filter_value": "80,5"}
    assert _rows(browser.query("/r/order/", **params).content.decode()) == [orders[1].pk]
    params = {"filter_field": "created_at", "filter_op": "gte", "filter_value": "2000-01-01"}
    assert len(_rows(browser.query("/r/order/", **params).content.decode())) == 3
    params = {"filter_field": "paid", "filter_op": "false"}
    html = browser.query("/r/order/", **params).content.decode()
    assert sorted(_rows(html)) == [orders[1].pk, orders[2].pk]


def test_links_to_an_entity_the_user_may_not_read_show_the_id_only(owner, clerk, shop, signed_in):
    grant(clerk, "order", ops=("read",))
    browser = signed_in(clerk)
    html = browser.get("/r/order/").content.decode()
    assert _rows(html)  # the orders are listed
    assert "Ann Archer" not in html
    assert f">#{shop['ann'].pk}<" in html
    assert 'href="/r/client/' not in html
    # the client column sorts by the link itself, and filters only by being empty or not
    link = re.search(r'<a class="cf-sort[^>]*data-testid="sort-client"', html, re.S).group(0)
    assert "sort=client&" in unescape(link)
    params = {"filter_field": "client", "filter_op": "contains", "filter_value": "Ann"}
    html = browser.query("/r/order/", **params).content.decode()
    assert 'data-testid="filter-error"' in html
    params = {"filter_field": "client", "filter_op": "not_blank"}
    assert len(_rows(browser.query("/r/order/", **params).content.decode())) == 3


# -- quick search through links ---------------------------------------------------------------


def test_quick_search_matches_linked_titles_within_rights(owner, clerk, shop, signed_in):
    orders = shop["orders"]
    html = signed_in(owner).query("/r/order/", search="archer").content.decode()
    assert sorted(_rows(html)) == [orders[0].pk, orders[2].pk]
    # clerk: orders, clients only Bob by a row rule
    grant(clerk, "order", ops=("read",))
    grant(clerk, "client", ops=("read",), rule='name = "Bob Baker"', role="clients")
    b = signed_in(clerk)
    assert _rows(b.query("/r/order/", search="archer").content.decode()) == []
    assert _rows(b.query("/r/order/", search="baker").content.decode()) == [orders[1].pk]


def test_quick_search_skips_titles_of_an_unreadable_entity(owner, clerk, shop, signed_in):
    grant(clerk, "order", ops=("read",))
    b = signed_in(clerk)
    assert _rows(b.query("/r/order/", search="baker").content.decode()) == []
    assert _rows(b.query("/r/order/", search="ready").content.decode()) == [shop["orders"][1].pk]


def test_quick_search_skips_a_hidden_title_field(owner, clerk, shop, signed_in):
    grant(clerk, "order", ops=("read",))
    grant(clerk, "client", ops=("read",), fields={"name": "hidden"}, role="clients")
    b = signed_in(clerk)
    assert _rows(b.query("/r/order/", search="baker").content.decode()) == []


def test_quick_search_skips_a_hidden_link(owner, clerk, shop, signed_in):
    grant(clerk, "order", ops=("read",), fields={"client": "hidden"})
    grant(clerk, "client", ops=("read",), role="clients")
    b = signed_in(clerk)
    assert _rows(b.query("/r/order/", search="baker").content.decode()) == []
