"""An owner installs a shipped preset from the configurator in a real browser: the presets
page, the preview of the plan, the install with demo data behind a progress bar, and the trade's
entities in the app afterwards."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from cardfile.presets.models import PresetInstallation
from cardfile.presets.selectors import preset_list
from tests.e2e.browser import follow, login

INSTALL_SECONDS = 180
JOB_PAGE = re.compile(r"/config/presets/jobs/\d+/$")
PRESET = "phone_repair"


@pytest.fixture
def jobs_in_a_thread(settings):
    """The install runs beside the server, as in the embedded default (not inline in the
    request, as the other tests have it), so the progress page has something to show."""
    settings.CARDFILE_TASK_MODE = "thread"


def _bar_values(page) -> list[int]:
    """The progress bar's values as the page polls, until the job has finished."""
    seen: list[int] = []
    deadline = time.monotonic() + INSTALL_SECONDS
    while time.monotonic() < deadline:
        try:
            status, value = page.evaluate(
                "() => [document.querySelector('[data-testid=preset-progress]')?.dataset.status,"
                " document.querySelector('[data-testid=preset-progress-bar]')"
                "?.getAttribute('aria-valuenow')]"
            )
        except PlaywrightError:  # swapped while being read
            continue
        if value is not None and (not seen or seen[-1] != int(value)):
            seen.append(int(value))
        if status in ("done", "failed", "cancelled"):
            break
        time.sleep(0.2)
    return seen


def test_the_owner_previews_and_installs_a_preset(page, owner, jobs_in_a_thread, shot):
    version = next(p["version"] for p in preset_list() if p["name"] == PRESET)
    login(page, "owner")

    # the presets page, from the configurator's menu
    page.goto("/config/")
    follow(page, page.get_by_test_id("config-nav-presets"))
    expect(page).to_have_url(re.compile(r"/config/presets/$"))
    expect(page.get_by_test_id(f"preset-state-{PRESET}")).to_have_text("not installed")
    shot(page, "list")

    # the preview shows the plan and changes nothing
    follow(page, page.get_by_test_id(f"preset-preview-{PRESET}"))
    expect(page.get_by_test_id("preset-plan")).to_be_visible()
    expect(page.get_by_test_id("preset-group-create")).to_contain_text("entity order")
    expect(page.get_by_test_id("preset-count-create")).not_to_have_text("Create: 0")
    shot(page, "preview")
    assert not PresetInstallation.objects.exists()

    # the install runs behind a progress bar that only moves forward
    page.get_by_test_id("preset-demo-data").check()
    with page.expect_navigation():
        page.get_by_test_id("preset-install").click()
    expect(page).to_have_url(JOB_PAGE)
    shot(page, "progress")
    values = _bar_values(page)
    assert any(0 < value < 100 for value in values), f"no step of the install shown: {values}"
    assert values == sorted(values)

    # and ends with what was done and the way back
    expect(page.get_by_test_id("preset-job-done")).to_contain_text(
        f"version {version} is installed."
    )
    expect(page.get_by_test_id("preset-job-done")).to_contain_text("demo records loaded.")
    shot(page, "done")
    follow(page, page.get_by_test_id("preset-job-back"))
    expect(page.get_by_test_id(f"preset-state-{PRESET}")).to_have_text(f"installed v{version}")
    expect(page.get_by_test_id("menu-order")).to_be_visible()
    installed = PresetInstallation.objects.get(name=PRESET)
    assert (installed.version, installed.demo_data) == (version, True)
