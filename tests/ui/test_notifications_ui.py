"""The bell and the notifications page: the unread count on every page and in its polled
fragment, the list (newest first, unread marked, 25 a page, one's own only), opening one
(marked read; followed only to a path of this site) and marking all read; and a notification
a rule makes when a record changes status reaching the bell."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from cardfile.core.models import Notification
from cardfile.metamodel.notify.services import rule_create
from cardfile.metamodel.records import record_get
from tests.status_builders import build_status_schema, new_order

pytestmark = pytest.mark.embedded


def _bell_count(html: str) -> int:
    found = re.search(r'data-testid="bell-count">([^<]*)<', html)
    return int(found.group(1)) if found else 0


def _note(user, title: str = "Order ready", *, minutes_ago: int = 0, **fields) -> Notification:
    note = Notification.objects.create(user=user, title=title, **fields)
    if minutes_ago:
        Notification.objects.filter(pk=note.pk).update(
            created_at=timezone.now() - timedelta(minutes=minutes_ago)
        )
    return note


@pytest.fixture
def ann(db):
    return get_user_model().objects.create_user(username="ann", password="s3cret-pass!")


def test_the_bell_shows_the_unread_count_on_pages_and_in_its_fragment(owner, ann, signed_in):
    _note(owner, "first")
    _note(owner, "second")
    _note(owner, "read already", read_at=timezone.now())
    _note(ann, "not the owner's")
    browser = signed_in(owner)

    home = browser.get("/").content.decode()
    fragment = browser.get("/notifications/bell/")

    assert _bell_count(home) == 2
    assert 'hx-get="/notifications/bell/"' in home
    assert 'hx-trigger="every 60s"' in home
    assert fragment.status_code == 200
    assert _bell_count(fragment.content.decode()) == 2
    assert "<html" not in fragment.content.decode()  # only the bell, for htmx to swap


def test_the_bell_without_unread_has_no_badge_and_a_signed_out_poll_stops(owner, client):
    client.force_login(owner)
    assert 'data-testid="bell"' in client.get("/").content.decode()
    assert _bell_count(client.get("/notifications/bell/").content.decode()) == 0

    client.logout()
    stopped = client.get("/notifications/bell/")

    assert stopped.status_code == 286  # htmx stops polling
    assert client.get("/notifications/").status_code == 302  # to the sign-in page


def test_the_list_is_newest_first_marks_unread_and_shows_only_ones_own(owner, ann, signed_in):
    old = _note(owner, "old and read", minutes_ago=30, read_at=timezone.now())
    new = _note(owner, "new", minutes_ago=1, body="Call the client.", entity="order")
    other = _note(ann, "ann's")

    html = signed_in(owner).get("/notifications/").content.decode()

    assert html.index(f'data-testid="notification-{new.pk}"') < html.index(
        f'data-testid="notification-{old.pk}"'
    )
    unread = re.findall(r'data-testid="notification-(\d+)" data-unread="1"', html)
    assert unread == [str(new.pk)]
    assert "Call the client." in html
    assert f'data-testid="notification-{other.pk}"' not in html
    assert 'data-testid="notifications-read-all"' in html


def test_the_list_pages_by_25(owner, signed_in):
    for n in range(30):
        _note(owner, f"note {n}", minutes_ago=30 - n)
    browser = signed_in(owner)

    first = browser.get("/notifications/").content.decode()
    second = browser.get("/notifications/?page=2").content.decode()

    assert len(re.findall(r'data-testid="notification-\d+"', first)) == 25
    assert len(re.findall(r'data-testid="notification-\d+"', second)) == 5
    assert ">note 29<" in first
    assert ">note 0<" in second
    assert 'data-testid="notifications-next"' in first


def test_opening_marks_read_and_follows_a_local_link(owner, signed_in, settings):
    settings.CARDFILE_BASE_URL = "https://shop.example.com"
    local = _note(owner, url="/r/order/7/")
    absolute = _note(owner, url="https://shop.example.com/r/order/8/?tab=1")
    record = _note(owner, entity="order", record_id=9)
    browser = signed_in(owner)

    opened = browser.get(f"/notifications/{local.pk}/open/")
    from_base = browser.post(f"/notifications/{absolute.pk}/open/")
    to_record = browser.get(f"/notifications/{record.pk}/open/")

    assert (opened.status_code, opened["Location"]) == (302, "/r/order/7/")
    assert from_base["Location"] == "/r/order/8/?tab=1"
    assert to_record["Location"] == "/r/order/9/"
    assert Notification.objects.filter(user=owner, read_at__isnull=True).count() == 0
    assert _bell_count(browser.get("/").content.decode()) == 0


@pytest.mark.parametrize(
    "url",
    ["https://evil.example/r/order/1/", "//evil.example/r/", "/\\evil.example", "javascript:x"],
)
def test_opening_refuses_to_redirect_off_site(owner, signed_in, url):
    note = _note(owner, url=url)
    browser = signed_in(owner)

    response = browser.get(f"/notifications/{note.pk}/open/")

    assert response.status_code == 302
    assert response["Location"] == "/notifications/"
    note.refresh_from_db()
    assert note.read_at is not None  # read, but not followed
    shown = browser.get("/notifications/").content.decode()
    assert "links outside Cardfile" in shown


def test_another_users_notification_is_not_found(owner, ann, signed_in):
    note = _note(ann)

    response = signed_in(owner).get(f"/notifications/{note.pk}/open/")

    assert response.status_code == 404
    note.refresh_from_db()
    assert note.read_at is None


def test_mark_all_as_read_is_a_post_and_clears_the_bell(owner, ann, signed_in):
    for n in range(3):
        _note(owner, f"n{n}")
    theirs = _note(ann)
    browser = signed_in(owner)

    assert browser.get("/notifications/read-all/").status_code == 405
    done = browser.post("/notifications/read-all/", follow=True)

    html = done.content.decode()
    assert "3 notifications marked as read." in html
    assert _bell_count(html) == 0
    assert not Notification.objects.filter(user=owner, read_at__isnull=True).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None


@pytest.mark.django_db(transaction=True)
def test_a_status_change_rule_notification_reaches_the_bell(schema_db, owner, signed_in):
    # given: a rule telling the owner in-app when an order goes into diagnostics
    build_status_schema(owner)
    rule_create(
        data={
            "entity": "order",
            "event": "status_changed",
            "field": "status",
            "to_state": "diagnostics",
            "recipients": [{"user": "owner"}],
            "channels": ["in_app"],
            "subject": "Order {{ record.id }} in diagnostics",
            "template": "Look at order {{ record.id }}.",
        },
        user=owner,
    )
    order = new_order()
    browser = signed_in(owner)
    assert _bell_count(browser.get("/").content.decode()) == 0

    # when: the owner moves it on its card
    moved = browser.post(
        f"/r/order/{order.pk}/", {"version": str(order.version), "status": "diagnostics"}
    )

    # then
    assert moved.status_code in (302, 204), moved.content.decode()[:500]
    assert record_get("order", order.pk).version == order.version + 1
    home = browser.get("/").content.decode()
    assert _bell_count(home) == 1
    [note] = Notification.objects.filter(user=owner)
    listing = browser.get("/notifications/").content.decode()
    assert f"Order {order.pk} in diagnostics" in listing
    opened = browser.get(f"/notifications/{note.pk}/open/")
    assert opened["Location"] == f"/r/order/{order.pk}/"
