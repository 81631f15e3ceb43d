"""The owner sets up an in-app notification for a status change in the configurator, moves an
order into that state on its card, and finds the notification under the bell."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from cardfile.core.models import Notification
from cardfile.metamodel.notify.models import NotificationRule
from tests.e2e.browser import htmx_settled, login
from tests.status_builders import build_status_schema, new_order


@pytest.fixture
def repair_shop(owner):
    """The shop schema with an order status: new -> diagnostics -> ready -> issued."""
    build_status_schema(owner)


def _reload_part(page: Page, control: str, value: str) -> None:
    """Choose ``value`` in a control that reloads the dependent part of the form."""
    with page.expect_response(re.compile(r"/config/notification-rules/part/")):
        page.get_by_test_id(control).select_option(value)
    htmx_settled(page)


def test_a_status_rule_puts_a_notification_under_the_bell(page: Page, repair_shop, owner, shot):
    login(page, "owner")
    expect(page.get_by_test_id("bell")).to_be_visible()
    expect(page.get_by_test_id("bell-count")).to_have_count(0)

    # the rule, in the configurator
    page.goto("/config/")
    page.get_by_test_id("config-nav-rules").click()
    page.get_by_test_id("rule-new").click()
    expect(page.get_by_test_id("rule-form")).to_be_visible()
    page.get_by_test_id("label").fill("Order in diagnostics")
    _reload_part(page, "entity", "order")
    _reload_part(page, "event", "status_changed")
    expect(page.get_by_test_id("rule-status-field")).to_have_value("status")
    page.get_by_test_id("rule-to-state").select_option("diagnostics")
    page.get_by_test_id("recipient-add").click()
    page.get_by_test_id("recipient-select").last.select_option("user:owner")
    page.get_by_test_id("channel-in_app").check()
    page.get_by_test_id("subject").fill("Order {{ record.id }} is in diagnostics")
    page.get_by_test_id("template").fill("Have a look at order {{ record.id }}.")
    shot(page, "rule-form")
    page.get_by_test_id("save").click()
    expect(page).to_have_url(re.compile(r"/config/notification-rules/$"))
    expect(page.get_by_test_id("rule-table")).to_contain_text("Status becomes Diagnostics")
    shot(page, "rules")
    rule = NotificationRule.objects.get()
    assert (rule.event, rule.to_state, rule.channels) == (
        "status_changed",
        "diagnostics",
        ["in_app"],
    )

    # the order moves on its card
    order = new_order()
    page.goto(f"/r/order/{order.pk}/")
    page.get_by_test_id("field-status").select_option("diagnostics")
    with page.expect_response(
        lambda r: r.request.method == "POST" and f"/r/order/{order.pk}/" in r.url
    ):
        page.get_by_test_id("save").click()
    htmx_settled(page)
    page.goto("/")

    # the bell counts it, and the list shows it
    expect(page.get_by_test_id("bell-count")).to_have_text("1")
    shot(page, "bell")
    page.get_by_test_id("bell").click()
    expect(page).to_have_url(re.compile(r"/notifications/$"))
    note = Notification.objects.get(user=owner)
    item = page.get_by_test_id(f"notification-{note.pk}")
    expect(item).to_contain_text(f"Order {order.pk} is in diagnostics")
    expect(item).to_have_attribute("data-unread", "1")
    shot(page, "notifications")
    item.click()
    expect(page).to_have_url(re.compile(rf"/r/order/{order.pk}/$"))
    expect(page.get_by_test_id("bell-count")).to_have_count(0)
