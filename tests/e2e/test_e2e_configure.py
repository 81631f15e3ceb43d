"""The owner builds the repair shop in the configurator, as a new user would: entities Client,
Order line and Order, with a link, a child table of lines and a formula total."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from cardfile.metamodel.records import record_get, record_to_dict
from cardfile.metamodel.schema.dynamic import clear_cache, get_registry
from tests.e2e.browser import (
    TOTAL,
    create_client,
    fill_order,
    follow,
    htmx_settled,
    login,
    record_id_from,
)


def new_entity(page: Page, label: str, slug: str, plural: str = "") -> None:
    page.goto("/config/")
    follow(page, page.get_by_test_id("entity-new"))
    page.get_by_test_id("entity-label").fill(label)
    if plural:
        page.get_by_label("Plural label").fill(plural)
    page.get_by_test_id("entity-slug").fill(slug)
    page.get_by_test_id("entity-save").click()
    expect(page).to_have_url(re.compile(rf"/config/entities/{slug}/$"))


def new_field(
    page: Page, entity: str, type_name: str, label: str, slug: str, *, required=False, **options
) -> None:
    """Add a field from the entity's page; ``options`` fill ``option-<name>`` inputs (a select
    is chosen by value); ``choices`` adds choice rows; ``formula`` goes to the formula editor."""
    page.goto(f"/config/entities/{entity}/")
    follow(page, page.get_by_test_id("field-new"))
    expect(page.get_by_test_id("field-form")).to_be_visible()
    with page.expect_response(re.compile(r"/fields/options/")):
        page.get_by_test_id("field-type").select_option(type_name)
    htmx_settled(page)
    page.get_by_test_id("field-label").fill(label)
    page.get_by_test_id("field-slug").fill(slug)
    if required:
        page.get_by_test_id("field-required").check()
    for choice in options.pop("choices", ()):
        page.get_by_test_id("choice-add").click()
        page.get_by_test_id("choice-value").last.fill(choice)
    formula = options.pop("formula", None)
    for name, value in options.items():
        control = page.get_by_test_id(f"option-{name}")
        if control.evaluate("e => e.tagName") == "SELECT":
            control.select_option(value)
        else:
            control.fill(value)
    if formula is not None:
        editor = page.locator(".cf-formula", has=page.get_by_test_id("formula-input"))
        editor.get_by_test_id("formula-input").fill(formula)
        # live check: the type the formula gives, not an error
        expect(editor.get_by_test_id("formula-status")).to_contain_text(re.compile(r"\S"))
        expect(editor.get_by_test_id("formula-error")).to_have_count(0)
    page.get_by_test_id("field-save").click()
    expect(page).to_have_url(re.compile(rf"/config/entities/{entity}/$"))
    expect(page.get_by_test_id(f"field-row-{slug}")).to_be_visible()


def build_shop_in_configurator(page: Page, shot=None) -> None:
    """Client(name, phone) <- Order(client, state, technician, notes, lines, total)."""
    new_entity(page, "Client", "client", "Clients")
    new_field(page, "client", "text", "Name", "name", required=True)
    new_field(page, "client", "text", "Phone", "phone")
    new_entity(page, "Order line", "order_line")
    new_field(page, "order_line", "text", "Item", "item")
    new_field(page, "order_line", "integer", "Qty", "qty")
    new_field(page, "order_line", "money", "Price", "price", currency="EUR")
    new_entity(page, "Order", "order", "Orders")
    new_field(page, "order", "link", "Client", "client", required=True, target="client")
    new_field(page, "order", "choice", "State", "state", choices=("new", "in_work", "ready"))
    new_field(page, "order", "user", "Technician", "technician")
    new_field(page, "order", "text", "Notes", "notes")
    new_field(page, "order", "child_table", "Lines", "lines", target="order_line")
    if shot:
        page.goto("/config/entities/order/")
        follow(page, page.get_by_test_id("field-new"))
        with page.expect_response(re.compile(r"/fields/options/")):
            page.get_by_test_id("field-type").select_option("formula")
        htmx_settled(page)
        page.get_by_test_id("formula-input").fill("SUM(lines.qty * lines.pricee)")
        expect(page.get_by_test_id("formula-error")).to_be_visible()
        shot(page, "formula-error")
    new_field(page, "order", "formula", "Total", "total", formula=TOTAL)


def test_owner_builds_the_shop_in_the_configurator(page, owner, shot):
    login(page, "owner")
    page.goto("/config/")
    shot(page, "empty")
    build_shop_in_configurator(page, shot)
    shot(page, "order-fields")
    page.goto("/config/")
    for slug in ("client", "order", "order_line"):
        expect(page.get_by_test_id(f"config-entity-{slug}")).to_be_visible()
    shot(page, "entities")

    clear_cache()
    order = get_registry().entity("order")
    assert order.by_slug["total"].type == "formula"
    assert [f.slug for f in order.fields] == [
        "client",
        "state",
        "technician",
        "notes",
        "lines",
        "total",
    ]
    assert order.by_slug["client"].required
    registry = get_registry()
    assert order.by_slug["client"].options["target_id"] == registry.entity("client").entity.pk
    assert order.by_slug["lines"].options["target_id"] == registry.entity("order_line").entity.pk
    assert registry.entity("order_line").parent_field is not None
    assert order.by_slug["total"].options["expression"] == TOTAL
    assert [c["value"] for c in order.by_slug["state"].options["choices"]] == [
        "new",
        "in_work",
        "ready",
    ]
    # the menu offers the new entities at once, lines excepted
    page.goto("/")
    expect(page.get_by_test_id("menu-order")).to_be_visible()
    expect(page.get_by_test_id("menu-order_line")).to_have_count(0)

    # and the forms the configurator generated take records at once
    ivan = create_client(page, "Ivan", "030 1234567")
    create_client(page, "Olga")
    follow(page, page.get_by_test_id("menu-order"))
    follow(page, page.get_by_test_id("new-record"))
    fill_order(page, ("Iva", ivan), [("screen", 2, "10"), ("glue", 1, "2.5")], state="in_work")
    expect(page.get_by_test_id("total-total")).to_contain_text("22.50")
    shot(page, "first-order")
    page.get_by_test_id("save").click()
    order_id = record_id_from(page, "order")
    follow(page, page.get_by_test_id("menu-order"))
    row = page.get_by_test_id(f"list-row-{order_id}")
    expect(row).to_contain_text("Ivan")
    expect(row).to_contain_text("22.50")
    shot(page, "order-list")


def test_type_change_preview_and_formula_preview(page, orders, shot):
    """Changing a field's type first shows what becomes of the stored values; the formula
    editor previews a formula on a chosen record."""
    login(page, "owner")
    page.goto("/config/entities/client/fields/phone/")
    with page.expect_response(re.compile(r"/fields/options/")):
        page.get_by_test_id("field-type").select_option("phone")
    htmx_settled(page)
    page.get_by_test_id("field-save").click()
    preview = page.get_by_test_id("conversion-preview")
    expect(preview).to_be_visible()
    expect(preview).to_contain_text("2 values stored, 0 would not convert")
    shot(page, "conversion-preview")
    clear_cache()
    assert get_registry().entity("client").by_slug["phone"].type == "text"
    with page.expect_navigation():
        page.get_by_test_id("conversion-confirm").click()
    expect(page).to_have_url(re.compile(r"/config/entities/client/$"))
    clear_cache()
    client = get_registry().entity("client")
    assert client.by_slug["phone"].type == "phone"
    stored = record_to_dict(client, record_get("client", orders["ivan"].pk))
    assert stored["phone"] == "+49301234567"

    # the formula editor: check as you type, then the value on a sample record
    page.goto("/config/entities/client/fields/new/")
    with page.expect_response(re.compile(r"/fields/options/")):
        page.get_by_test_id("field-type").select_option("formula")
    htmx_settled(page)
    editor = page.locator(".cf-formula", has=page.get_by_test_id("formula-input"))
    editor.get_by_test_id("formula-input").fill('UPPER(name) & " " & phone')
    expect(editor.get_by_test_id("formula-status")).to_contain_text("Result")
    with page.expect_response(re.compile(r"/formula-check/")):
        editor.get_by_role("combobox").select_option(str(orders["olga"].pk))
    expect(editor.get_by_test_id("formula-preview")).to_contain_text("OLGA +49307654321")
    shot(page, "formula-preview")


def test_config_pages_of_an_entity_titled_by_a_choice(page, orders, shot):
    """The order's title is its state (a choice): the pages that offer sample records (the
    formula preview, the layout editor) must still open once orders exist."""
    login(page, "owner")
    page.goto("/config/entities/order/fields/total/")
    editor = page.locator(".cf-formula", has=page.get_by_test_id("formula-input"))
    expect(editor.get_by_test_id("formula-input")).to_have_value("SUM(lines.qty * lines.price)")
    with page.expect_response(re.compile(r"/formula-check/")):
        editor.get_by_role("combobox").select_option(str(orders["first"].pk))
    expect(editor.get_by_test_id("formula-preview")).to_contain_text("52.50")
    shot(page, "total")
    page.goto("/config/entities/order/layout/")
    expect(page.get_by_test_id("layout-field-notes")).to_be_visible()


def test_card_layout_by_drag_and_drop(page, orders, shot):
    """The owner adds a tab to the client card, drags the phone there and shows it only for
    one client; the card follows."""
    login(page, "owner")
    page.goto("/config/entities/client/layout/")
    page.get_by_test_id("layout-add-tab").click()
    tab = page.get_by_test_id("layout-tab").last
    tab.get_by_test_id("layout-tab-label").fill("Contact")
    target = tab.get_by_test_id("layout-section").first.locator(".cf-column").first
    page.get_by_test_id("layout-field-phone").locator(".cf-drag-handle").drag_to(target)
    phone = target.get_by_test_id("layout-field-phone")
    expect(phone).to_be_visible()
    phone.locator("summary").click()
    phone.get_by_test_id("visible-if-input").fill('name = "Olga"')
    shot(page, "layout")
    with page.expect_navigation():
        page.get_by_test_id("layout-save").click()
    expect(
        page.get_by_test_id("layout-tab").last.get_by_test_id("layout-field-phone")
    ).to_be_visible()

    page.goto(f"/r/client/{orders['olga'].pk}/")
    expect(page.get_by_test_id("field-phone")).to_be_hidden()  # on the second tab
    page.get_by_role("tab", name="Contact").click()
    expect(page.get_by_test_id("field-phone")).to_be_visible()
    shot(page, "card-contact-tab")
    # the condition does not hold for Ivan: no phone on his card
    page.goto(f"/r/client/{orders['ivan'].pk}/")
    expect(page.get_by_test_id("field-name")).to_have_value("Ivan")
    expect(page.get_by_test_id("field-phone")).to_be_hidden()
    # typing makes the condition hold: the tab and the field appear without a reload
    page.get_by_test_id("field-name").fill("Olga")
    page.get_by_role("tab", name="Contact").click()
    expect(page.get_by_test_id("field-phone")).to_be_visible()
