"""Signing in and out, the menu, a phone-sized screen and right-to-left, in a real browser."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from cardfile.metamodel.records import record_create
from tests.builders import build_shop_schema
from tests.e2e.browser import PASSWORD, follow, login, no_overflow

PHONE = {"width": 375, "height": 800}


@pytest.fixture
def repair_shop(owner):
    build_shop_schema(owner)
    ivan = record_create(entity="client", data={"name": "Ivan Petrov", "phone": "+49 30 1234567"})
    record_create(entity="client", data={"name": "Olga", "phone": "+49 30 7654321"})
    price = {"amount": "12.50", "currency": "EUR"}
    order = record_create(
        entity="order",
        data={"client": ivan.pk, "lines": [{"item": "Display assembly", "qty": 2, "price": price}]},
    )
    return {"ivan": ivan, "order": order}


def test_sign_in_menu_and_sign_out(page, repair_shop, shot):
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    login(page, "owner", "wrong-password", succeed=False)
    expect(page.get_by_test_id("login-form").get_by_role("alert")).to_be_visible()
    shot(page, "login-error")

    login(page, "owner")
    menu = page.get_by_test_id("menu")
    expect(menu).to_be_visible()
    expect(page.get_by_test_id("menu-client")).to_be_visible()
    expect(page.get_by_test_id("menu-order")).to_be_visible()
    # a line entity (the target of a child table) is no menu entry of its own
    expect(page.get_by_test_id("menu-order_line")).to_have_count(0)
    shot(page, "home")

    follow(page, page.get_by_test_id("menu-client"))
    expect(page).to_have_url(re.compile(r"/r/client/$"))
    expect(page.get_by_test_id("list-table")).to_be_visible()
    follow(
        page, page.get_by_test_id(f"list-row-{repair_shop['ivan'].pk}").get_by_role("link").first
    )
    expect(page.get_by_test_id("card-form")).to_be_visible()
    # the entity of the open card is the highlighted menu entry
    expect(page.get_by_test_id("menu-client")).to_have_class(re.compile(r"\bactive\b"))

    page.get_by_test_id("user-menu").click()
    page.get_by_test_id("logout").click()
    expect(page.get_by_test_id("login-form")).to_be_visible()
    page.goto("/r/client/")
    expect(page.get_by_test_id("login-form")).to_be_visible()


def test_phone_width_offcanvas_menu_and_no_overflow(new_context, repair_shop, shot):
    page = new_context(viewport=PHONE).new_page()
    login(page, "owner")
    no_overflow(page, PHONE["width"])
    menu = page.get_by_test_id("menu")
    expect(menu).not_to_be_visible()  # folded away behind the menu button
    shot(page, "home")

    page.get_by_role("button", name="Menu").click()
    expect(page.locator("#menu.show")).to_be_visible()
    expect(page.get_by_test_id("menu-client")).to_be_visible()
    shot(page, "menu-open")
    follow(page, page.get_by_test_id("menu-client"))
    expect(page).to_have_url(re.compile(r"/r/client/$"))
    expect(page.get_by_test_id("list-table")).to_be_visible()
    no_overflow(page, PHONE["width"])
    shot(page, "list")

    page.goto(f"/r/client/{repair_shop['ivan'].pk}/")
    expect(page.get_by_test_id("card-form")).to_be_visible()
    no_overflow(page, PHONE["width"])
    shot(page, "card")

    page.goto("/r/order/new/")
    expect(page.get_by_test_id("card-form")).to_be_visible()
    page.get_by_test_id("line-add-lines").click()
    page.get_by_test_id("line-add-lines").click()
    expect(page.get_by_test_id("line-row")).to_have_count(2)
    no_overflow(page, PHONE["width"])  # the lines grid scrolls inside its own box
    shot(page, "order-new")
    # every control of a line can still be reached and used
    line = page.get_by_test_id("line-row").last
    line.get_by_test_id("field-price").fill("12.5")
    line.get_by_test_id("line-remove").click()
    expect(page.get_by_test_id("line-row")).to_have_count(1)

    for url, testid in (("/config/", "entity-table"), ("/config/entities/order/", "field-table")):
        page.goto(url)
        expect(page.get_by_test_id(testid)).to_be_visible()
        no_overflow(page, PHONE["width"])
    shot(page, "config-entity")


def test_arabic_right_to_left(new_context, repair_shop, shot):
    page = new_context(viewport=PHONE).new_page()
    login(page, "owner")
    page.get_by_test_id("user-menu").click()
    page.get_by_role("combobox", name="Language").select_option("ar")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("html")).to_have_attribute("lang", "ar")
    no_overflow(page, PHONE["width"])
    shot(page, "home-rtl")

    page.goto("/r/client/")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.get_by_test_id("list-table")).to_be_visible()
    no_overflow(page, PHONE["width"])
    shot(page, "list-rtl")

    page.goto(f"/r/client/{repair_shop['ivan'].pk}/")
    expect(page.get_by_test_id("card-form")).to_be_visible()
    no_overflow(page, PHONE["width"])
    shot(page, "card-rtl")

    page.goto(f"/r/order/{repair_shop['order'].pk}/")
    expect(page.get_by_test_id("line-row")).to_have_count(1)
    no_overflow(page, PHONE["width"])
    shot(page, "order-rtl")

    page.goto("/r/order/kanban/state/")
    expect(page.get_by_test_id(f"kanban-card-{repair_shop['order'].pk}")).to_be_visible()
    no_overflow(page, PHONE["width"])  # the board scrolls sideways inside itself
    shot(page, "kanban-rtl")

    # the offcanvas menu slides in from the start side, which is the right in Arabic
    page.locator("button[aria-controls=menu]").click()
    expect(page.locator("#menu.show")).to_be_visible()
    box = page.locator("#menu").bounding_box()
    assert box["x"] + box["width"] >= PHONE["width"] - 1
    shot(page, "menu-rtl")


def test_global_search_and_barcode_scan(page, repair_shop, shot):
    """A scanner types the text and presses Enter: a phone number that is exactly one
    client's opens that card; a name shows the results grouped by entity."""
    login(page, "owner")
    search = page.get_by_test_id("global-search")
    search.fill("+49 30 1234567")
    search.press("Enter")
    expect(page).to_have_url(re.compile(rf"/r/client/{repair_shop['ivan'].pk}/$"))
    expect(page.get_by_test_id("card-title")).to_contain_text("Ivan Petrov")

    search = page.get_by_test_id("global-search")
    search.fill("Olga")
    search.press("Enter")
    expect(page).to_have_url(re.compile(r"/search/\?q=Olga"))
    expect(page.get_by_test_id("search-group-client")).to_contain_text("Olga")
    expect(page.get_by_test_id("search-results")).not_to_contain_text("Ivan Petrov")
    shot(page, "results")


def test_change_password(page, clerk):
    login(page, "clerk")
    page.get_by_test_id("user-menu").click()
    follow(page, page.get_by_role("link", name="Change password"))
    page.locator("input[name=old_password]").fill(PASSWORD)
    page.locator("input[name=new_password1]").fill("An0ther-long-secret")
    page.locator("input[name=new_password2]").fill("An0ther-long-secret")
    with page.expect_navigation():
        page.get_by_role("button", name="Change password").click()
    expect(page).to_have_url(re.compile(r"/accounts/password/done/$"))
    page.get_by_test_id("user-menu").click()
    page.get_by_test_id("logout").click()
    login(page, "clerk", PASSWORD, succeed=False)
    expect(page.get_by_test_id("login-form").get_by_role("alert")).to_be_visible()
    login(page, "clerk", "An0ther-long-secret")
    expect(page.get_by_test_id("user-menu")).to_contain_text("clerk")
