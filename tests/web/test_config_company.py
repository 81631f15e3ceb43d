"""The company page under /config/company/ and GET/PATCH /api/v1/meta/installation/: owners
change the company's name, currency and language; the language then applies to every UI page,
the name shows in the top bar; everyone else gets 403."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from cardfile.core.models import AuditLog, Installation
from cardfile.core.selectors import installation_get
from tests.builders import build_shop_schema, grant

URL = "/config/company/"
API_URL = "/api/v1/meta/installation/"


@pytest.fixture
def installed(db):
    return Installation.objects.create(
        pk=Installation.SINGLETON_ID,
        company_name="Fix & Go",
        currency="EUR",
        language="en",
        preset="phone_repair",
        set_up_at=timezone.now(),
    )


@pytest.fixture
def as_owner(client: Client, owner, installed) -> Client:
    client.force_login(owner)
    return client


# -- the page --------------------------------------------------------------------------------


@pytest.mark.embedded
def test_the_page_shows_the_current_choices(as_owner):
    assert reverse("ui:config-company") == URL
    page = as_owner.get(URL)

    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="company-form"' in html
    assert 'value="Fix &amp; Go"' in html
    assert '<option value="EUR" selected>EUR · Euro</option>' in html
    assert "CHF · Swiss Franc" in html  # common currencies, named by babel
    assert '<option value="KES"' in html  # and every other one
    assert '<option value="en" selected>English</option>' in html
    assert '<option value="">' in html  # blank: each browser's language
    assert "New money fields get this currency" in html
    # the configurator's navigation leads here
    assert f'href="{URL}" data-testid="config-nav-company"' in html


@pytest.mark.embedded
def test_owner_saves_and_the_language_then_applies_to_ui_pages(as_owner, owner):
    # given: the browser asks for Russian; the installation says English
    home = as_owner.get("/", HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert 'lang="en"' in home

    # when
    response = as_owner.post(
        URL, {"company_name": " Dukan ", "currency": "AED", "language": "ar"}, follow=True
    )

    # then: saved, said so, and the next page speaks the new language
    assert response.redirect_chain == [(URL, 302)]
    stored = installation_get()
    assert (stored.company_name, stored.currency, stored.language) == ("Dukan", "AED", "ar")
    html = response.content.decode()
    assert 'data-testid="messages"' in html
    assert 'lang="ar" dir="rtl"' in html
    assert '<option value="AED" selected>' in html
    home = as_owner.get("/", HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert 'lang="ar" dir="rtl"' in home
    entry = AuditLog.objects.get(object_type="installation")
    assert entry.user == owner
    assert entry.after == {"company_name": "Dukan", "currency": "AED", "language": "ar"}


@pytest.mark.embedded
def test_a_blank_language_gives_the_choice_back_to_the_browser(as_owner):
    as_owner.post(URL, {"company_name": "Fix & Go", "currency": "EUR", "language": ""})

    assert installation_get().language == ""
    assert 'lang="ru"' in as_owner.get("/", HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    # a visitor's own choice still wins over the installation's
    as_owner.post(URL, {"company_name": "Fix & Go", "currency": "EUR", "language": "de"})
    as_owner.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert 'lang="en"' in as_owner.get("/").content.decode()


@pytest.mark.embedded
def test_errors_come_back_at_their_inputs_and_nothing_is_saved(as_owner):
    response = as_owner.post(URL, {"company_name": "", "currency": "XYZ", "language": "xx"})

    assert response.status_code == 400
    html = response.content.decode()
    assert html.count("is-invalid") == 3
    assert "Give the company&#x27;s name." in html
    assert "XYZ is not an ISO 4217 currency code" in html
    assert "There is no language xx here" in html
    stored = installation_get()
    assert (stored.company_name, stored.currency, stored.language) == ("Fix & Go", "EUR", "en")


@pytest.mark.embedded
def test_the_top_bar_shows_the_company_name(as_owner):
    html = as_owner.get("/").content.decode()
    assert 'data-testid="brand">Fix &amp; Go</a>' in html

    as_owner.post(URL, {"company_name": "Dukan", "currency": "EUR", "language": "en"})
    html = as_owner.get(URL).content.decode()
    assert 'data-testid="brand">Dukan</a>' in html


@pytest.mark.embedded
def test_without_a_company_name_the_top_bar_says_cardfile(client, owner):
    Installation.objects.create(pk=Installation.SINGLETON_ID, set_up_at=timezone.now())
    client.force_login(owner)
    assert 'data-testid="brand">Cardfile</a>' in client.get("/").content.decode()


@pytest.mark.embedded
def test_a_user_without_configure_rights_gets_403(client, clerk, installed):
    assert client.get(URL).status_code == 302  # to the sign-in page
    client.force_login(clerk)

    assert client.get(URL).status_code == 403
    response = client.post(URL, {"company_name": "Mine", "currency": "USD", "language": "de"})
    assert response.status_code == 403
    assert installation_get().company_name == "Fix & Go"


def test_a_role_configuring_an_entity_is_not_an_owner(client, owner, clerk, installed):
    build_shop_schema(owner)
    grant(clerk, "client", ops=("read", "configure"))
    client.force_login(clerk)

    assert 'data-testid="config-nav-company"' not in client.get("/config/").content.decode()
    assert client.get(URL).status_code == 403
    assert client.post(URL, {"company_name": "Mine"}).status_code == 403
    assert installation_get().company_name == "Fix & Go"


# -- the API ---------------------------------------------------------------------------------


@pytest.mark.embedded
def test_api_get_answers_the_installation(api, installed):
    response = api.get(API_URL)

    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in ("company_name", "currency", "language", "preset")} == {
        "company_name": "Fix & Go",
        "currency": "EUR",
        "language": "en",
        "preset": "phone_repair",
    }
    assert body["set_up_at"].startswith(str(installed.set_up_at.year))


@pytest.mark.embedded
def test_api_patch_changes_what_it_names(api, installed):
    response = api.patch(API_URL, {"currency": "usd", "language": ""}, format="json")

    assert response.status_code == 200
    assert response.json()["currency"] == "USD"
    assert response.json()["language"] == ""
    assert response.json()["company_name"] == "Fix & Go"
    stored = installation_get()
    assert (stored.currency, stored.language) == ("USD", "")


@pytest.mark.embedded
def test_api_patch_errors_are_keyed_by_field(api, installed):
    response = api.patch(
        API_URL, {"company_name": "", "currency": "EURO", "colour": "red"}, format="json"
    )

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"company_name", "currency", "colour"}
    assert installation_get().currency == "EUR"


@pytest.mark.embedded
def test_api_refuses_everyone_but_owners(clerk_api, installed):
    assert clerk_api.get(API_URL).status_code == 403
    response = clerk_api.patch(API_URL, {"company_name": "Mine"}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert installation_get().company_name == "Fix & Go"
    assert APIClient().get(API_URL).status_code in (401, 403)
