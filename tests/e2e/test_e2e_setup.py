"""The first-start wizard in a real browser: an empty database, the wizard, the progress bar,
and the app for the trade with the new owner signed in."""

from __future__ import annotations

import re
import time

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from cardfile.core.selectors import installation_get
from tests.e2e.browser import no_overflow

OWNER_PASSWORD = "Tr1cky-Lantern-42"
SETUP_SECONDS = 180
PROGRESS = re.compile(r"/setup/progress/$")


@pytest.fixture
def jobs_in_a_thread(settings):
    """The setup runs beside the server, as in the embedded default (not inline in the
    request, as the other tests have it), so the progress page has something to show."""
    settings.CARDFILE_TASK_MODE = "thread"


def _bar_values(page) -> list[int]:
    """The progress bar's values as the page polls, until it leaves the progress page."""
    seen: list[int] = []
    deadline = time.monotonic() + SETUP_SECONDS
    while PROGRESS.search(page.url) and time.monotonic() < deadline:
        try:
            value = page.evaluate(
                "() => document.querySelector('[data-testid=setup-progress-bar]')"
                "?.getAttribute('aria-valuenow')"
            )
        except PlaywrightError:  # the page navigated away while being read
            value = None
        if value is not None and (not seen or seen[-1] != int(value)):
            seen.append(int(value))
        time.sleep(0.2)
    return seen


def test_the_wizard_sets_up_phone_repair_and_lands_in_the_app(page, jobs_in_a_thread, shot):
    # an empty installation opens the wizard whatever page is asked for
    page.goto("/r/order/")
    expect(page).to_have_url(re.compile(r"/setup/$"))
    expect(page.get_by_test_id("setup-wizard")).to_be_visible()

    page.get_by_test_id("setup-trade-car_service").check()
    page.get_by_test_id("setup-trade-phone_repair").check()
    expect(page.get_by_test_id("setup-currency")).to_have_value("EUR")  # the preset's
    page.get_by_test_id("setup-company").fill("Fix & Go")
    page.get_by_test_id("setup-currency").select_option("USD")
    page.get_by_test_id("setup-locale").select_option("en")
    page.get_by_test_id("setup-branches").fill("Centre\nNorth")
    page.get_by_test_id("setup-owner_username").fill("boss")
    page.get_by_test_id("setup-owner_email").fill("boss@example.com")
    page.get_by_test_id("setup-password1").fill(OWNER_PASSWORD)
    page.get_by_test_id("setup-password2").fill("a typo")
    page.get_by_test_id("setup-demo_data").check()
    shot(page, "wizard")

    # a mistake comes back with the choices kept
    page.get_by_test_id("setup-submit").click()
    expect(page.get_by_text("The two passwords differ.")).to_be_visible()
    expect(page.get_by_test_id("setup-company")).to_have_value("Fix & Go")
    expect(page.get_by_test_id("setup-trade-phone_repair")).to_be_checked()
    expect(page.get_by_test_id("setup-currency")).to_have_value("USD")
    page.get_by_test_id("setup-password1").fill(OWNER_PASSWORD)
    page.get_by_test_id("setup-password2").fill(OWNER_PASSWORD)

    # the setup runs behind a progress bar that only moves forward
    page.get_by_test_id("setup-submit").click()
    expect(page).to_have_url(PROGRESS)
    expect(page.get_by_test_id("setup-progress-bar")).to_be_visible()
    shot(page, "progress")
    values = _bar_values(page)
    assert any(0 < value < 100 for value in values), f"no step of the setup shown: {values}"
    assert values == sorted(values)

    # and lands in the app for the trade, signed in as the new owner
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_test_id("user-menu")).to_contain_text("boss")
    expect(page.get_by_test_id("menu-order")).to_be_visible()
    expect(page.get_by_test_id("menu-client")).to_be_visible()
    shot(page, "home")
    installation = installation_get()
    assert (installation.preset, installation.currency) == ("phone_repair", "USD")
    assert get_user_model().objects.get(username="boss").check_password(OWNER_PASSWORD)

    # the wizard is gone for good
    page.goto("/setup/")
    expect(page).to_have_url(re.compile(r"/$"))


def test_the_wizard_reads_right_to_left_on_a_phone(new_context, shot):
    page = new_context(locale="ar", viewport={"width": 375, "height": 800}).new_page()
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/setup/$"))
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.get_by_test_id("setup-locale")).to_have_value("ar")
    no_overflow(page, 375)
    shot(page, "rtl-phone")
