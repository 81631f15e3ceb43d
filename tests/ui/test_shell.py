"""The UI's frame: signing in and out, the menu by rights, language and direction, assets."""

from __future__ import annotations

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse

from cardfile.metamodel.schema.services import entity_update
from tests.builders import build_shop_schema, grant

PASSWORD = "s3cret-pass!"


@pytest.mark.embedded
def test_anonymous_visitors_are_sent_to_sign_in(client, owner):
    # once someone has an account (before that, the setup wizard opens: test_setup_wizard.py)
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("ui:login"))


@pytest.mark.embedded
def test_sign_in_lands_on_home_and_sign_out_needs_post(client, owner):
    page = client.get(reverse("ui:login"))
    assert b'data-testid="login-form"' in page.content
    assert b"csrfmiddlewaretoken" in page.content

    response = client.post(reverse("ui:login"), {"username": "owner", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("ui:home")
    assert client.get("/").status_code == 200

    assert client.get(reverse("ui:logout")).status_code == 405  # a link cannot sign anyone out
    assert client.post(reverse("ui:logout")).status_code == 302
    assert client.get("/").status_code == 302


def test_wrong_password_says_so_and_repeated_failures_lock_out(db, owner, settings):
    settings.AXES_FAILURE_LIMIT = 2
    client = Client(REMOTE_ADDR="10.0.0.9")
    first = client.post(reverse("ui:login"), {"username": "owner", "password": "wrong"})
    assert first.status_code == 200
    assert b"alert-danger" in first.content

    client.post(reverse("ui:login"), {"username": "owner", "password": "wrong"})
    locked = client.post(reverse("ui:login"), {"username": "owner", "password": PASSWORD})
    assert locked.status_code == 429
    assert b'data-testid="lockout"' in locked.content
    assert b"Too many failed sign-ins" in locked.content


def test_menu_lists_only_readable_entities_grouped_by_the_owner(client, owner, clerk):
    # given: the shop schema, orders and clients in the "Sales" group, the clerk reads clients
    build_shop_schema(owner)
    entity_update(entity="order", nav_group="Sales", user=owner)
    entity_update(entity="client", nav_group="Sales", user=owner)
    grant(clerk, "client", ops=("read",))

    # when
    client.force_login(owner)
    owners_home = client.get("/").content.decode()
    client.force_login(clerk)
    clerks_home = client.get("/").content.decode()

    # then: line entities are never in the menu; the clerk sees only clients
    assert 'data-testid="menu-order"' in owners_home
    assert 'data-testid="menu-client"' in owners_home
    assert 'data-testid="menu-order_line"' not in owners_home
    assert "Sales" in owners_home
    assert 'data-testid="menu-client"' in clerks_home
    assert 'data-testid="menu-order"' not in clerks_home
    assert reverse("ui:config") in owners_home
    assert reverse("ui:config") not in clerks_home


@pytest.mark.embedded
def test_right_to_left_languages_get_the_rtl_build(client, owner):
    client.force_login(owner)
    client.cookies["django_language"] = "ar"
    page = client.get("/").content.decode()
    assert 'dir="rtl"' in page
    assert 'lang="ar"' in page
    assert "bootstrap.rtl.min.css" in page

    client.cookies["django_language"] = "de"
    page = client.get("/").content.decode()
    assert 'dir="ltr"' in page
    assert "bootstrap.min.css" in page


@pytest.mark.embedded
def test_password_change_checks_the_policy_then_changes_it(client, owner):
    client.force_login(owner)
    weak = client.post(
        reverse("ui:password_change"),
        {"old_password": PASSWORD, "new_password1": "123", "new_password2": "123"},
    )
    assert weak.status_code == 200
    assert b"is-invalid" in weak.content

    new = "an0ther-long-secret"
    done = client.post(
        reverse("ui:password_change"),
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert done.status_code == 302
    owner.refresh_from_db()
    assert owner.check_password(new)


def test_front_end_packages_are_installed_and_found():
    for path in (
        "vendor/bootstrap/css/bootstrap.min.css",
        "vendor/bootstrap/css/bootstrap.rtl.min.css",
        "vendor/bootstrap/js/bootstrap.bundle.min.js",
        "vendor/htmx/htmx.min.js",
        "vendor/sortablejs/Sortable.min.js",
        "vendor/bootstrap-icons/bootstrap-icons.min.css",
        "ui/app.js",
    ):
        assert finders.find(path), path


def test_home_page_queries_stay_few(client, owner, django_assert_max_num_queries):
    build_shop_schema(owner)
    client.force_login(owner)
    client.get("/")
    with django_assert_max_num_queries(8):
        assert client.get("/").status_code == 200
