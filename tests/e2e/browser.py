"""Helpers shared by the browser tests."""

from __future__ import annotations

from playwright.sync_api import Page

PASSWORD = "s3cret-pass!"


def login(page: Page, username: str, password: str = PASSWORD, *, succeed: bool = True) -> None:
    """Sign in through the login form and (unless told it should fail) wait for the page it
    leads to."""
    page.goto("/accounts/login/")
    form = page.get_by_test_id("login-form")
    form.locator("#id_username").fill(username)
    form.locator("#id_password").fill(password)
    form.get_by_role("button").click()
    if not succeed:
        page.wait_for_load_state()
        return
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def no_overflow(page: Page, width: int) -> int:
    """The page's scroll width, asserted to fit the viewport (no sideways scrolling)."""
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"{page.url} is {scroll}px wide in a {width}px viewport"
    return scroll


TOTAL = "SUM(lines.qty * lines.price)"


def build_scenario_schema(owner):
    """What the configurator test builds by hand, made through the services for the tests that
    start from a ready schema: client(name, phone) <- order(client, state, technician, notes,
    lines (order_line: item, qty, price), total = SUM(lines.qty * lines.price))."""
    from cardfile.metamodel.schema.services import entity_create, field_create

    entity_create(slug="client", label="Client", label_plural="Clients", user=owner)
    field_create(entity="client", slug="name", label="Name", type="text", required=True, user=owner)
    field_create(entity="client", slug="phone", label="Phone", type="text", user=owner)
    entity_create(slug="order_line", label="Order line", user=owner)
    field_create(entity="order_line", slug="item", label="Item", type="text", user=owner)
    field_create(entity="order_line", slug="qty", label="Qty", type="integer", user=owner)
    field_create(entity="order_line", slug="price", label="Price", type="money", user=owner)
    entity_create(slug="order", label="Order", label_plural="Orders", user=owner)
    field_create(
        entity="order",
        slug="client",
        label="Client",
        type="link",
        required=True,
        options={"target": "client", "on_delete": "protect"},
        user=owner,
    )
    field_create(
        entity="order",
        slug="state",
        label="State",
        type="choice",
        options={"choices": ["new", "in_work", "ready"]},
        default="new",
        user=owner,
    )
    field_create(entity="order", slug="technician", label="Technician", type="user", user=owner)
    field_create(entity="order", slug="notes", label="Notes", type="text", user=owner)
    field_create(
        entity="order",
        slug="lines",
        label="Lines",
        type="child_table",
        options={"target": "order_line"},
        user=owner,
    )
    field_create(
        entity="order",
        slug="total",
        label="Total",
        type="formula",
        options={"expression": TOTAL},
        user=owner,
    )


def record_id_from(page: Page, entity: str) -> int:
    """Wait until the page shows a saved record of ``entity`` and return its id."""
    import re

    page.wait_for_url(re.compile(rf"/r/{entity}/\d+/$"))
    return int(re.search(rf"/r/{entity}/(\d+)/$", page.url).group(1))


def create_client(page: Page, name: str, phone: str = "") -> int:
    page.goto("/r/client/new/")
    page.get_by_test_id("field-name").fill(name)
    if phone:
        page.get_by_test_id("field-phone").fill(phone)
    page.get_by_test_id("save").click()
    return record_id_from(page, "client")


def pick_link(page: Page, slug: str, text: str, record_id: int) -> None:
    """Type into a link field's search and choose the record offered."""
    search = page.get_by_test_id(f"link-search-{slug}")
    search.fill(text)
    page.get_by_test_id(f"link-option-{record_id}").click()


def add_line(page: Page, child: str, **values) -> None:
    """Add a row to the child table ``child`` and type ``values`` into its cells."""
    page.get_by_test_id(f"line-add-{child}").click()
    row = page.get_by_test_id(f"lines-{child}").get_by_test_id("line-row").last
    for slug, value in values.items():
        row.get_by_test_id(f"field-{slug}").fill(str(value))


def fill_order(page: Page, client: tuple[str, int], lines, **fields) -> None:
    """On an open order form: choose the client, add ``lines`` (item, qty, price) and fill
    other fields (a select is chosen by value)."""
    pick_link(page, "client", client[0], client[1])
    for item, qty, price in lines:
        add_line(page, "lines", item=item, qty=qty, price=price)
    for slug, value in fields.items():
        control = page.get_by_test_id(f"field-{slug}")
        if control.evaluate("e => e.tagName") == "SELECT":
            control.select_option(value)
        else:
            control.fill(value)


def htmx_settled(page: Page) -> None:
    """Wait until htmx has no request running and has finished swapping in what came back
    (new elements get their htmx behaviour only then)."""
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling,"
        " .htmx-added')"
    )


def follow(page: Page, link) -> None:
    """Click a link and wait until the next page has loaded and run its scripts (htmx wires
    its controls only then; a control used earlier would do nothing)."""
    with page.expect_navigation():
        link.click()


def drag(page: Page, card, column) -> None:
    """Drag ``card`` onto ``column`` with the mouse in small steps, as SortableJS needs."""
    start = card.bounding_box()
    end = column.bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(start["x"] + start["width"] / 2 + 5, start["y"] + start["height"] / 2 + 5)
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + end["height"] / 2, steps=12)
    page.mouse.up()
