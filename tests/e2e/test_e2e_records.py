"""Working with records in a real browser: entering them through the generated forms (with a
live formula total), filtering and sorting the list, validation errors, an edit conflict between
two people, the history, and what a technician may see."""

from __future__ import annotations

import re
from decimal import Decimal

from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect

from cardfile.metamodel.records import record_get, record_to_dict, record_update
from cardfile.metamodel.schema.dynamic import get_registry
from tests.e2e.browser import (
    PASSWORD,
    create_client,
    drag,
    fill_order,
    follow,
    htmx_settled,
    login,
    record_id_from,
)


def values(entity: str, record_id: int) -> dict:
    """A record as the API shows it."""
    return record_to_dict(get_registry().entity(entity), record_get(entity, record_id))


def row_ids(page: Page) -> list[int]:
    rows = page.get_by_test_id("list-table").locator("tbody tr[data-testid^='list-row-']")
    return [
        int(t.removeprefix("list-row-"))
        for t in rows.evaluate_all("rows => rows.map(r => r.dataset.testid)")
    ]


def test_enter_clients_and_an_order_with_a_live_total(page, shop, shot):
    login(page, "owner")
    ivan = create_client(page, "Ivan Petrov", "030 1234567")
    expect(page.get_by_test_id("card-title")).to_contain_text("Ivan Petrov")
    shot(page, "client-saved")
    olga = create_client(page, "Olga Smirnova")

    page.goto("/r/order/")
    follow(page, page.get_by_test_id("new-record"))
    expect(page.get_by_test_id("card-form")).to_be_visible()
    fill_order(
        page,
        ("Olga", olga),
        [("screen", 2, "10.00")],
        notes="battery drains fast",
    )
    # the total follows the lines as they are typed, before anything is saved
    total = page.get_by_test_id("total-total")
    expect(total).to_contain_text("20.00")
    page.get_by_test_id("line-add-lines").click()
    line = page.get_by_test_id("line-row").last
    line.get_by_test_id("field-item").fill("battery")
    line.get_by_test_id("field-qty").fill("1")
    line.get_by_test_id("field-price").fill("32.5")
    expect(total).to_contain_text("52.50")
    shot(page, "order-typing")
    # removing a line takes it out of the total too
    page.get_by_test_id("line-row").first.get_by_test_id("line-remove").click()
    expect(total).to_contain_text("32.50")
    page.get_by_test_id("line-add-lines").click()
    line = page.get_by_test_id("line-row").last
    line.get_by_test_id("field-item").fill("screen")
    line.get_by_test_id("field-qty").fill("2")
    line.get_by_test_id("field-price").fill("10")
    expect(total).to_contain_text("52.50")

    page.get_by_test_id("save").click()
    order_id = record_id_from(page, "order")
    expect(page.get_by_test_id("total-total")).to_contain_text("52.50")
    expect(page.get_by_test_id("line-row")).to_have_count(2)
    shot(page, "order-saved")

    order = values("order", order_id)
    assert order["client"] == olga
    assert order["notes"] == "battery drains fast"
    assert Decimal(order["total"]["amount"]) == Decimal("52.50")
    assert sorted(line["item"] for line in order["lines"]) == ["battery", "screen"]

    # the client picked in the list, the other one not
    page.goto("/r/order/")
    expect(page.get_by_test_id(f"list-row-{order_id}")).to_contain_text("Olga Smirnova")
    assert ivan != olga


def test_filter_and_sort_the_list(page, orders, shot):
    first, second = orders["first"].pk, orders["second"].pk
    login(page, "owner")
    page.goto("/r/order/")
    expect(page.get_by_test_id("list-table")).to_be_visible()
    assert sorted(row_ids(page)) == sorted([first, second])

    page.get_by_test_id("sort-total").click()
    expect(page.get_by_test_id("sort-total").locator("i")).to_have_class(re.compile("sort-up"))
    assert row_ids(page) == [second, first]
    page.get_by_test_id("sort-total").click()
    expect(page.get_by_test_id("sort-total").locator("i")).to_have_class(re.compile("sort-down"))
    assert row_ids(page) == [first, second]
    shot(page, "sorted")

    # the filter builder: state is ready
    page.get_by_test_id("filter-toggle").click()
    page.get_by_test_id("filter-add").click()
    row = page.get_by_test_id("filter-row").last
    row.get_by_test_id("filter-field").select_option("state")
    expect(row.get_by_test_id("filter-op").locator("option")).not_to_have_count(0)
    row.get_by_test_id("filter-value").select_option("ready")
    page.get_by_test_id("filter-apply").click()
    expect(page.get_by_test_id(f"list-row-{first}")).to_have_count(0)
    expect(page.get_by_test_id(f"list-row-{second}")).to_be_visible()
    assert "state" in page.url
    shot(page, "filtered")

    # the advanced box takes a formula, and shows where a wrong one goes wrong
    page.get_by_test_id("filter-row").last.locator(".cf-filter-remove").click()
    page.get_by_text("Advanced: a condition as a formula").click()
    page.get_by_test_id("where-input").fill("total > 10")
    page.get_by_test_id("filter-apply").click()
    expect(page.get_by_test_id(f"list-row-{second}")).to_have_count(0)
    expect(page.get_by_test_id(f"list-row-{first}")).to_be_visible()
    page.get_by_test_id("where-input").fill("totl > 10")
    page.get_by_test_id("filter-apply").click()
    expect(page.get_by_test_id("where-error")).to_be_visible()
    expect(page.get_by_test_id("where-caret")).to_contain_text("^")
    shot(page, "where-error")

    # quick search
    page.goto("/r/client/")
    page.get_by_test_id("quick-search").fill("olg")
    expect(page.get_by_test_id(f"list-row-{orders['ivan'].pk}")).to_have_count(0)
    expect(page.get_by_test_id(f"list-row-{orders['olga'].pk}")).to_be_visible()


def test_validation_errors_appear_next_to_the_field(page, orders, shot):
    login(page, "owner")
    page.goto("/r/client/new/")
    page.get_by_test_id("field-phone").fill("030 555")
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("error-name")).to_be_visible()
    expect(page.get_by_test_id("field-name")).to_have_class(re.compile("is-invalid"))
    # what was typed is kept
    expect(page.get_by_test_id("field-phone")).to_have_value("030 555")
    shot(page, "client-name-missing")
    page.get_by_test_id("field-name").fill("Pavel")
    page.get_by_test_id("save").click()
    record_id_from(page, "client")

    page.goto("/r/order/new/")
    page.get_by_test_id("field-notes").fill("no client")
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("error-client")).to_be_visible()
    expect(page.get_by_test_id("field-notes")).to_have_value("no client")
    shot(page, "order-client-missing")


def test_edit_conflict_between_two_people(new_context, orders, shot):
    order_id = orders["first"].pk
    url = f"/r/order/{order_id}/"
    alice = new_context().new_page()
    bob = new_context().new_page()
    login(alice, "owner")
    login(bob, "owner")
    alice.goto(url)
    bob.goto(url)

    alice.get_by_test_id("field-notes").fill("Alice: screen ordered")
    with alice.expect_navigation():  # saved: the card reloads
        alice.get_by_test_id("save").click()
    expect(alice.get_by_test_id("field-notes")).to_have_value("Alice: screen ordered")

    bob.get_by_test_id("field-notes").fill("Bob: customer will call")
    bob.get_by_test_id("save").click()
    panel = bob.get_by_test_id("conflict-panel")
    expect(panel).to_be_visible()
    expect(panel.get_by_test_id("conflict-row")).to_contain_text("Alice: screen ordered")
    expect(panel.get_by_test_id("conflict-row")).to_contain_text("Bob: customer will call")
    shot(bob, "conflict")
    assert values("order", order_id)["notes"] == "Alice: screen ordered"

    # Bob overwrites knowingly
    with bob.expect_navigation():
        bob.get_by_test_id("conflict-overwrite").click()
    expect(bob.get_by_test_id("conflict-panel")).to_have_count(0)
    expect(bob.get_by_test_id("field-notes")).to_have_value("Bob: customer will call")
    assert values("order", order_id)["notes"] == "Bob: customer will call"

    # Alice's page is now stale: she reloads and sees Bob's value, hers dropped
    alice.get_by_test_id("field-notes").fill("Alice again")
    alice.get_by_test_id("save").click()
    expect(alice.get_by_test_id("conflict-panel")).to_be_visible()
    alice.get_by_test_id("conflict-reload").click()
    expect(alice.get_by_test_id("conflict-panel")).to_have_count(0)
    expect(alice.get_by_test_id("field-notes")).to_have_value("Bob: customer will call")
    assert values("order", order_id)["notes"] == "Bob: customer will call"


def test_history_shows_who_changed_what(page, orders, owner, shot):
    order_id = orders["first"].pk
    record_update(
        entity="order",
        record_id=order_id,
        data={"notes": "waiting for parts", "state": "in_work"},
        version=1,
        user=owner,
    )
    login(page, "owner")
    page.goto(f"/r/order/{order_id}/")
    page.get_by_test_id("history-tab").click()
    entries = page.get_by_test_id("history-entry")
    expect(entries).to_have_count(2)
    expect(page.locator("#cf-history")).to_have_class(re.compile(r"\bshow\b"))
    changed = entries.filter(has_text="waiting for parts")
    expect(changed).to_contain_text("owner")
    expect(changed).to_contain_text("screen cracked")
    shot(page, "history")


def test_technician_sees_own_orders_without_hidden_field(new_context, orders, owner, shot):
    """The owner makes a role and a user in the configurator; the technician then sees only
    the orders assigned to them, without the notes."""
    admin = new_context().new_page()
    login(admin, "owner")
    admin.goto("/config/roles/")
    follow(admin, admin.get_by_test_id("role-new"))
    admin.get_by_test_id("role-label").fill("Technician")
    admin.get_by_test_id("role-name").fill("technician")
    for op in ("read", "update"):
        admin.get_by_test_id(f"perm-order-{op}").check()
    admin.get_by_test_id("perm-client-read").check()
    admin.locator("details", has_text="Order: field rules").locator("summary").click()
    admin.get_by_test_id("fieldrule-order-notes").select_option("hidden")
    admin.get_by_test_id("rule-input-order").fill("technician = ME()")
    shot(admin, "role")
    admin.get_by_test_id("role-save").click()
    expect(admin).to_have_url(re.compile(r"/config/roles/$"))
    expect(admin.get_by_test_id("config-role-technician")).to_be_visible()
    # the card layout previewed as the new role leaves the notes out
    admin.goto("/config/entities/order/layout/preview/")
    with admin.expect_navigation():
        admin.get_by_test_id("preview-role").select_option("technician")
    expect(admin.get_by_test_id("preview-field-client")).to_be_visible()
    expect(admin.get_by_test_id("preview-field-notes")).to_have_count(0)
    shot(admin, "layout-preview")

    admin.goto("/config/users/")
    follow(admin, admin.get_by_test_id("user-new"))
    admin.get_by_test_id("user-username").fill("tech")
    admin.get_by_test_id("user-password").fill(PASSWORD)
    admin.get_by_test_id("user-role-technician").check()
    active = admin.get_by_test_id("user-active")
    if not active.is_checked():
        active.check()
    admin.get_by_test_id("user-save").click()
    expect(admin).to_have_url(re.compile(r"/config/users/$"))
    expect(admin.get_by_test_id("user-row-tech")).to_be_visible()

    tech = get_user_model().objects.get(username="tech")
    mine = orders["second"].pk
    record_update(
        entity="order",
        record_id=mine,
        data={"technician": tech.pk, "notes": "customer is rude"},
        version=1,
    )

    page = new_context().new_page()
    login(page, "tech")
    expect(page.get_by_test_id("menu-order")).to_be_visible()
    follow(page, page.get_by_test_id("menu-order"))
    expect(page.get_by_test_id("list-table")).to_be_visible()
    assert row_ids(page) == [mine]
    expect(page.get_by_test_id("sort-notes")).to_have_count(0)
    expect(page.get_by_test_id("list-table")).not_to_contain_text("screen cracked")
    shot(page, "list")
    follow(page, page.get_by_test_id(f"list-row-{mine}").get_by_role("link").first)
    expect(page.get_by_test_id("card-form")).to_be_visible()
    expect(page.get_by_test_id("field-notes")).to_have_count(0)
    expect(page.get_by_text("Notes", exact=True)).to_have_count(0)
    shot(page, "card")
    # nor does the history give the hidden value away
    page.get_by_test_id("history-tab").click()
    expect(page.get_by_test_id("history-entry")).to_have_count(2)
    expect(page.get_by_test_id("history")).to_contain_text("tech")
    expect(page.get_by_test_id("history")).not_to_contain_text("customer is rude")
    expect(page.get_by_test_id("history")).not_to_contain_text("Notes")
    # someone else's order is not there at all
    response = page.goto(f"/r/order/{orders['first'].pk}/")
    assert response.status == 404
    # and the configurator is not offered
    page.goto("/")
    page.get_by_test_id("user-menu").click()
    expect(page.get_by_role("link", name="Configure")).to_have_count(0)
    assert get_registry().entity("order").by_slug["notes"]


def test_kanban_drag_changes_the_value(page, orders, shot):
    first = orders["first"].pk
    login(page, "owner")
    page.goto("/r/order/")
    page.get_by_test_id("kanban-open").click()
    follow(page, page.get_by_test_id("kanban-link-state"))
    expect(page.get_by_test_id("kanban")).to_be_visible()
    card = page.get_by_test_id(f"kanban-card-{first}")
    expect(
        page.get_by_test_id("kanban-column-new").get_by_test_id(f"kanban-card-{first}")
    ).to_be_visible()
    shot(page, "before")

    target = page.get_by_test_id("kanban-column-in_work").locator(".cf-kanban-cards")
    with page.expect_response(re.compile(r"/kanban/state/move/")) as answer:
        drag(page, card, target)
    assert answer.value.status == 200
    expect(
        page.get_by_test_id("kanban-column-in_work").get_by_test_id(f"kanban-card-{first}")
    ).to_be_visible()
    expect(
        page.get_by_test_id("kanban-column-new").get_by_test_id(f"kanban-card-{first}")
    ).to_have_count(0)
    shot(page, "after")
    assert values("order", first)["state"] == "in_work"
    # the board shows the same after a reload
    page.reload()
    expect(
        page.get_by_test_id("kanban-column-in_work").get_by_test_id(f"kanban-card-{first}")
    ).to_be_visible()


def test_quick_create_a_client_while_entering_an_order(page, orders, shot):
    login(page, "owner")
    page.goto("/r/order/new/")
    page.get_by_test_id("quick-create-client").click()
    modal = page.locator("#cf-quick-create")
    expect(modal.get_by_test_id("card-form")).to_be_visible()
    modal.get_by_test_id("field-name").fill("Pavel Sidorov")
    modal.get_by_test_id("field-phone").fill("030 999999")
    shot(page, "modal")
    modal.get_by_test_id("save").click()
    expect(modal).to_be_hidden()
    card = page.locator("#cf-card-form")
    expect(card.get_by_test_id("link-search-client")).to_have_value("Pavel Sidorov")
    card.get_by_test_id("field-notes").fill("walk-in customer")
    card.get_by_test_id("save").click()
    order_id = record_id_from(page, "order")
    client_id = values("order", order_id)["client"]
    assert values("client", client_id)["name"] == "Pavel Sidorov"
    expect(page.get_by_test_id("link-search-client")).to_have_value("Pavel Sidorov")


def test_columns_and_a_saved_view(page, orders, shot):
    first, second = orders["first"].pk, orders["second"].pk
    login(page, "owner")
    page.goto("/r/order/")
    # hide a column, then keep the list as a personal view with a condition
    page.get_by_test_id("column-picker").click()
    page.get_by_test_id("column-technician").uncheck()
    expect(page.get_by_test_id("sort-technician")).to_have_count(0)
    page.keyboard.press("Escape")
    page.get_by_test_id("filter-toggle").click()
    page.get_by_text("Advanced: a condition as a formula").click()
    page.get_by_test_id("where-input").fill('state = "ready"')
    page.get_by_test_id("filter-apply").click()
    expect(page.get_by_test_id(f"list-row-{first}")).to_have_count(0)
    page.get_by_test_id("view-save-open").click()
    page.get_by_test_id("view-name").fill("Ready to hand over")
    page.get_by_test_id("view-save").click()
    htmx_settled(page)

    page.goto("/r/order/")
    expect(page.get_by_test_id(f"list-row-{first}")).to_be_visible()
    expect(page.get_by_test_id("sort-technician")).to_be_visible()
    page.get_by_test_id("view-picker").click()
    follow(page, page.get_by_role("link", name="Ready to hand over"))
    expect(page.get_by_test_id("view-picker")).to_contain_text("Ready to hand over")
    expect(page.get_by_test_id(f"list-row-{first}")).to_have_count(0)
    expect(page.get_by_test_id(f"list-row-{second}")).to_be_visible()
    expect(page.get_by_test_id("sort-technician")).to_have_count(0)
    shot(page, "view")


def test_delete_to_the_trash_and_restore(page, orders, shot):
    first = orders["first"].pk
    login(page, "owner")
    page.goto(f"/r/order/{first}/")
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.get_by_test_id("delete-record").click()
    expect(page).to_have_url(re.compile(r"/r/order/$"))
    expect(page.get_by_test_id(f"list-row-{first}")).to_have_count(0)
    expect(page.get_by_test_id(f"list-row-{orders['second'].pk}")).to_be_visible()

    page.goto(f"/r/order/{first}/")
    expect(page.get_by_test_id("trashed")).to_be_visible()
    shot(page, "trashed")
    with page.expect_navigation():
        page.get_by_test_id("restore-record").click()
    expect(page.get_by_test_id("card-form")).to_be_visible()
    expect(page.get_by_test_id("field-notes")).to_have_value("screen cracked")
    page.goto("/r/order/")
    expect(page.get_by_test_id(f"list-row-{first}")).to_be_visible()
