"""The first-start wizard: every UI page leads to it while nobody has an account, it checks the
choices, runs the setup as a job with a progress page and signs the new owner in; an
installation in use never sees it. Also the installation's language on UI pages."""

from __future__ import annotations

import importlib
import json

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.signing import get_cookie_signer
from django.test import Client
from django.utils import timezone

from cardfile.core.models import Installation, Job
from cardfile.core.selectors import installation_get
from cardfile.presets.selectors import preset_list
from cardfile.presets.setup import setup_run
from cardfile.web.ui.views.setup import COOKIE, COOKIE_SALT

PASSWORD = "Tr1cky-Lantern-42"


def _form(**changes):
    data = {
        "trade": "empty",
        "company": "Fix & Go",
        "currency": "EUR",
        "locale": "en",
        "branches": "Centre\nNorth\n",
        "owner_username": "boss",
        "owner_email": "boss@example.com",
        "password1": PASSWORD,
        "password2": PASSWORD,
    }
    return {**data, **changes}


def _cookie_for(client: Client, job: Job) -> None:
    """What `set_signed_cookie` gives the browser that started ``job``."""
    client.cookies[COOKIE] = get_cookie_signer(salt=COOKIE + COOKIE_SALT).sign(str(job.pk))


def _signed_in_as(client: Client):
    user = get_user_model().objects.filter(pk=client.session.get("_auth_user_id")).first()
    return user.username if user else None


# -- who sees the wizard -------------------------------------------------------------------------


@pytest.mark.embedded
def test_first_start_sends_every_ui_page_to_the_wizard_but_not_the_api(client, db):
    for url in ("/", "/accounts/login/", "/r/order/", "/config/", "/search/?q=x"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"] == "/setup/", url
    assert client.get("/api/v1/jobs/").status_code in (401, 403)

    page = client.get("/setup/")
    html = page.content.decode()
    assert page.status_code == 200
    for preset in preset_list():
        assert f'data-testid="setup-trade-{preset["name"]}"' in html
        assert preset["title"] in html
    assert 'data-testid="setup-trade-empty"' in html
    for code, name in settings.LANGUAGES:
        assert f'<option value="{code}"' in html
        assert name in html
    assert "EUR · Euro" in html


@pytest.mark.embedded
def test_an_installation_with_accounts_never_sees_the_wizard(client, owner):
    # not marked as set up (as in a test database), but someone has an account
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert client.get("/accounts/login/").status_code == 200
    assert client.get("/setup/")["Location"] == "/"

    response = client.post("/setup/", _form())
    assert response["Location"] == "/"
    assert not Job.objects.exists()
    assert not get_user_model().objects.filter(username="boss").exists()

    client.force_login(owner)
    assert client.get("/").status_code == 200


@pytest.mark.embedded
def test_a_set_up_installation_without_accounts_does_not_open_the_wizard(client, db):
    Installation.objects.create(pk=1, company_name="Old shop", set_up_at=timezone.now())
    assert client.get("/")["Location"].startswith("/accounts/login/")
    assert client.get("/setup/")["Location"] == "/"


@pytest.mark.embedded
def test_the_migration_marks_an_installation_in_use_as_set_up(db, django_user_model):
    migration = importlib.import_module("cardfile.core.migrations.0005_installation")

    migration.mark_existing_installation_set_up(apps, None)
    assert not Installation.objects.exists()  # a new installation: the wizard will ask

    django_user_model.objects.create_user(username="old-owner")
    migration.mark_existing_installation_set_up(apps, None)
    stored = installation_get()
    assert stored.is_set_up
    assert stored.language == ""  # the browsers keep choosing, as before


# -- the form --------------------------------------------------------------------------------


@pytest.mark.embedded
def test_wrong_choices_come_back_with_their_messages(client, db):
    response = client.post(
        "/setup/",
        _form(
            company="",
            currency="XXX",
            owner_username="bad name!",
            password2="something else",
            branches="North\nnorth",
        ),
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "The two passwords differ." in html
    assert "Select a valid choice. XXX is not one of the available choices." in html
    assert "This field is required." in html  # the company
    assert 'value="bad name!"' in html  # kept as typed ...
    assert PASSWORD not in html  # ... but never a password

    # the form is fine, the service refuses: its messages land on the right fields
    response = client.post(
        "/setup/",
        _form(owner_username="bad name!", password1="12345678", password2="12345678"),
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "This password is too common." in html
    assert "Enter a valid username." in html
    response = client.post("/setup/", _form(branches="North\nnorth"))
    assert "north is named twice." in response.content.decode()

    assert not Job.objects.exists()
    assert not get_user_model().objects.exists()
    assert not installation_get().is_set_up


# -- running it ----------------------------------------------------------------------------------


@pytest.mark.embedded
def test_the_wizard_runs_the_setup_and_signs_the_owner_in(
    client, schema_db, django_capture_on_commit_callbacks
):
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/setup/", _form(locale="de"))

    # then the job ran, knowing no password
    assert response.status_code == 302
    assert response["Location"] == "/setup/progress/"
    job = Job.objects.get(kind="setup")
    assert job.status == Job.Status.DONE, job.message
    assert PASSWORD not in json.dumps(job.params)
    assert cache.get("cardfile:setup-password:" + job.params["password_key"]) is None
    stored = installation_get()
    assert (stored.company_name, stored.language, stored.is_set_up) == ("Fix & Go", "de", True)

    # the progress page signs this browser in and lands on the home page
    copied = client.cookies[COOKIE].value
    landed = client.get("/setup/progress/")
    assert landed["Location"] == "/"
    assert _signed_in_as(client) == "boss"
    assert client.cookies[COOKIE].value == ""  # the cookie is dropped
    home = client.get("/")
    assert home.status_code == 200
    assert 'lang="de"' in home.content.decode()

    # a copy of the cookie signs nobody in afterwards; the wizard is closed for everyone
    other = Client()
    other.cookies[COOKIE] = copied
    assert other.get("/setup/progress/")["Location"] == "/"
    assert _signed_in_as(other) is None
    assert Client().get("/setup/")["Location"] == "/"
    assert Client().get("/")["Location"].startswith("/accounts/login/")


@pytest.mark.embedded
def test_only_the_browser_that_started_the_setup_is_signed_in(
    client, schema_db, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/setup/", _form())
    job = Job.objects.get(kind="setup")

    stranger = Client()
    stranger.cookies[COOKIE] = str(job.pk)  # not signed
    assert stranger.get("/setup/progress/")["Location"] == "/"
    assert _signed_in_as(stranger) is None

    client.get("/setup/progress/")
    assert _signed_in_as(client) == "boss"


@pytest.mark.embedded
def test_the_progress_page_shows_the_bar_and_polls_until_the_end(client, db):
    job = Job.objects.create(
        kind="setup",
        title="Setting up",
        status=Job.Status.RUNNING,
        progress_done=0,
        progress_total=100,
        message="Starting the setup",
    )
    _cookie_for(client, job)

    page = client.get("/setup/progress/").content.decode()
    assert "<html" in page
    assert 'hx-trigger="every 1s"' in page
    assert 'aria-valuenow="0"' in page
    assert "Starting the setup" in page

    # the setup's transaction reports through the cache; the poll gets the fragment
    cache.set(f"cardfile:setup-progress:{job.pk}", (42, 100, "create entity order"), 60)
    try:
        fragment = client.get("/setup/progress/", HTTP_HX_REQUEST="true").content.decode()
    finally:
        cache.delete(f"cardfile:setup-progress:{job.pk}")
    assert "<html" not in fragment
    assert 'aria-valuenow="42"' in fragment
    assert "create entity order" in fragment

    # a failed setup says why and stops polling; the wizard is open again
    Job.objects.filter(pk=job.pk).update(status=Job.Status.FAILED, message="No room left.")
    failed = client.get("/setup/progress/", HTTP_HX_REQUEST="true").content.decode()
    assert 'data-testid="setup-failed"' in failed
    assert "No room left." in failed
    assert "hx-trigger" not in failed
    assert client.get("/setup/").status_code == 200


def test_a_failed_setup_leaves_nothing_and_opens_the_wizard_again(
    client, schema_db, django_capture_on_commit_callbacks
):
    # given: the password is gone before the job runs (it waited longer than its time)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/setup/", _form())
        job = Job.objects.get(kind="setup")
        cache.delete("cardfile:setup-password:" + job.params["password_key"])

    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    page = client.get("/setup/progress/").content.decode()
    assert 'data-testid="setup-failed"' in page
    assert "Start the setup again." in page
    assert not get_user_model().objects.exists()
    assert client.get("/setup/").status_code == 200
    assert client.get("/")["Location"] == "/setup/"


# -- the installation's language -------------------------------------------------------------


@pytest.mark.embedded
def test_the_installations_language_wins_over_the_browser_but_not_over_the_visitor(
    client, schema_db
):
    setup_run(
        trade="empty",
        company="Dukan",
        currency="AED",
        locale="ar",
        branches=[],
        owner_username="boss",
        owner_email="",
        owner_password=PASSWORD,
        demo_data=False,
    )
    client.force_login(get_user_model().objects.get(username="boss"))

    html = client.get("/", HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert 'lang="ar" dir="rtl"' in html
    assert "bootstrap.rtl.min.css" in html

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert 'lang="en" dir="ltr"' in html


@pytest.mark.embedded
def test_without_a_chosen_language_the_browser_decides(client, owner):
    Installation.objects.create(pk=1, set_up_at=timezone.now())
    client.force_login(owner)
    assert 'lang="ru"' in client.get("/", HTTP_ACCEPT_LANGUAGE="ru").content.decode()


@pytest.mark.embedded
def test_the_wizard_reads_right_to_left_in_arabic(client, db):
    html = client.get("/setup/", HTTP_ACCEPT_LANGUAGE="ar").content.decode()
    assert 'dir="rtl"' in html
    assert '<option value="ar" selected>' in html
