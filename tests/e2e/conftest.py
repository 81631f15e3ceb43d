"""Browser tests: Playwright (sync API) driving the system's headless Chromium against
pytest-django's live server.

The tests run in the PostgreSQL suite only: the server thread must see what a test committed,
so every test here is ``django_db(transaction=True)``. Playwright's sync API keeps an event loop
running in the main thread; Django would then refuse ORM calls made by the test itself.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from cardfile.metamodel.records import record_create
from tests.e2e.browser import build_scenario_schema

CHROMIUM = os.environ.get("CARDFILE_E2E_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
TIMEOUT_MS = 10_000

expect.set_options(timeout=TIMEOUT_MS)


def pytest_collection_modifyitems(items):
    """Every browser test needs committed data the live server's thread can read."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents and not item.get_closest_marker("django_db"):
            item.add_marker(pytest.mark.django_db(transaction=True))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test, so fixtures can tell a failure at teardown."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture(scope="module", autouse=True)
def _orm_beside_playwright():
    """Playwright's sync API keeps an event loop running in this thread while a browser is
    open, and Django refuses ORM calls (the tests' own, and pytest-django's flush between
    them) from a thread with a running loop. Allowed for these modules only, from before the
    browser starts until after the last flush."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(scope="module")
def browser(_orm_beside_playwright) -> Browser:
    """One Chromium per module, closed with it, so no event loop outlives the browser tests."""
    if not Path(CHROMIUM).exists():
        # a failure, not a skip: the browser tests must not pass by not running
        pytest.fail(
            f"No Chromium at {CHROMIUM}: install Debian's chromium (scripts/ensure-services.sh "
            "does, as `make test` runs it) or point CARDFILE_E2E_CHROMIUM at one."
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        yield browser
        browser.close()


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")[:120]


class Screens:
    """Screenshots named after the test: ``<test>-<step>.png``; one on failure too."""

    def __init__(self, name: str) -> None:
        self.name = _slug(name)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for old in SCREENSHOTS.glob(f"{self.name}-FAILED-*.png"):  # from an earlier run
            old.unlink()

    def __call__(self, page: Page, step: str) -> Path:
        path = SCREENSHOTS / f"{self.name}-{_slug(step)}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def shot(request) -> Screens:
    return Screens(request.node.name)


@pytest.fixture
def new_context(browser, live_server, request, shot):
    """Open browser contexts (separate cookie jars: one per simulated user) for the test.

    Any server error (5xx, including htmx fragment requests the page might swallow) or
    uncaught JavaScript error fails the test; on failure every open page is photographed."""
    contexts = []
    problems: list[str] = []

    def make(**kwargs):
        viewport = kwargs.pop("viewport", None) or {"width": 1280, "height": 900}
        context = browser.new_context(base_url=live_server.url, viewport=viewport, **kwargs)
        context.set_default_timeout(TIMEOUT_MS)
        context.on(
            "response",
            lambda r: (
                problems.append(f"{r.status} {r.request.method} {r.url}")
                if r.status >= 500
                else None
            ),
        )
        context.on("weberror", lambda e: problems.append(f"JavaScript: {e.error}"))
        contexts.append(context)
        return context

    yield make
    failed = getattr(request.node, "rep_call", None)
    for number, context in enumerate(contexts):
        if failed is not None and failed.failed:
            for index, page in enumerate(context.pages):
                # a photo must not hide the real failure
                with contextlib.suppress(Exception):
                    shot(page, f"FAILED-{number}-{index}")
        context.close()
    if problems and failed is not None and failed.failed:
        print("the browser met errors:", *problems, sep="\n")  # shown with the failure
    else:
        assert not problems, "the browser met errors:\n" + "\n".join(problems)


@pytest.fixture
def page(new_context) -> Page:
    return new_context().new_page()


def _money(amount: str) -> dict:
    return {"amount": amount, "currency": "EUR"}


@pytest.fixture
def shop(owner):
    """The scenario's schema (see `build_scenario_schema`), made through the services."""
    build_scenario_schema(owner)


@pytest.fixture
def orders(shop, owner):
    """Two clients with an order each: Ivan's is new (52.50), Olga's ready (5.00)."""
    ivan = record_create(entity="client", data={"name": "Ivan", "phone": "030 1234567"})
    olga = record_create(entity="client", data={"name": "Olga", "phone": "030 7654321"})
    first = record_create(
        entity="order",
        data={
            "client": ivan.pk,
            "notes": "screen cracked",
            "lines": [
                {"item": "screen", "qty": 1, "price": _money("50.00")},
                {"item": "glue", "qty": 1, "price": _money("2.50")},
            ],
        },
        user=owner,
    )
    second = record_create(
        entity="order",
        data={
            "client": olga.pk,
            "state": "ready",
            "lines": [{"item": "cable", "qty": 5, "price": _money("1.00")}],
        },
        user=owner,
    )
    return {"ivan": ivan, "olga": olga, "first": first, "second": second}
