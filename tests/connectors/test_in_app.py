"""In-app notifications: made by the in-app channel, once per delivery; read and unread."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from cardfile.connectors.selectors import notifications_for, unread_count
from cardfile.connectors.services import notification_read, notifications_read_all
from cardfile.core.deliveries import Message, deliveries_create, deliveries_send_due
from cardfile.core.exceptions import NotFound
from cardfile.core.models import Delivery, Notification

pytestmark = pytest.mark.embedded


@pytest.fixture
def ann(db):
    return get_user_model().objects.create_user(username="ann", password="x-pass-123")


@pytest.fixture
def bob(db):
    return get_user_model().objects.create_user(username="bob", password="x-pass-123")


def notify(user, key: str = "n1", **kwargs) -> Delivery:
    with transaction.atomic():
        [delivery_id] = deliveries_create(
            messages=[
                Message(
                    key=key,
                    channel="in_app",
                    user_id=user.pk if user else None,
                    subject=kwargs.pop("subject", "Order RO-7 is ready"),
                    body=kwargs.pop("body", "Call the client."),
                    **kwargs,
                )
            ]
        )
    return Delivery.objects.get(pk=delivery_id)


@pytest.mark.django_db(transaction=True)
def test_the_notification_is_made_for_the_recipient(ann):
    # when
    row = notify(ann, url="/records/order/7/", entity="order", record_id=7)
    # then
    assert row.status == Delivery.Status.SENT
    [note] = Notification.objects.all()
    assert note.user == ann
    assert (note.title, note.body, note.url) == (
        "Order RO-7 is ready",
        "Call the client.",
        "/records/order/7/",
    )
    assert (note.entity, note.record_id, note.read_at) == ("order", 7, None)
    assert note.delivery_id == row.pk


@pytest.mark.django_db(transaction=True)
def test_without_a_subject_the_first_line_is_the_title(ann):
    notify(ann, subject="", body="Coat not collected\nTicket 42 has waited seven days.")
    note = Notification.objects.get()
    assert (note.title, note.body) == ("Coat not collected", "Ticket 42 has waited seven days.")


@pytest.mark.django_db(transaction=True)
def test_a_notification_without_recipient_is_skipped():
    row = notify(None)
    assert row.status == Delivery.Status.SKIPPED
    assert row.last_error == "An in-app notification needs a recipient user."
    assert Notification.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_sending_again_after_a_lost_worker_makes_no_second_notification(ann, settings):
    row = notify(ann)
    # given the worker was lost after writing the notification, before marking the row sent
    long_ago = timezone.now() - timedelta(seconds=settings.CARDFILE_DELIVERY_STALE_SECONDS + 1)
    Delivery.objects.filter(pk=row.pk).update(status="sending", claimed_at=long_ago)
    # when the row is taken again
    assert deliveries_send_due() == 1
    # then
    assert Delivery.objects.get(pk=row.pk).status == Delivery.Status.SENT
    assert Notification.objects.count() == 1


@pytest.mark.django_db
def test_unread_count_and_reading(ann, bob):
    older = Notification.objects.create(user=ann, title="first")
    newer = Notification.objects.create(user=ann, title="second")
    Notification.objects.create(user=bob, title="bob's")
    # then the list is ann's, newest first
    assert list(notifications_for(ann)) == [newer, older]
    assert unread_count(ann) == 2
    # when
    read = notification_read(user=ann, notification_id=older.pk)
    # then
    assert read.read_at is not None
    assert list(notifications_for(ann, unread_only=True)) == [newer]
    assert unread_count(ann) == 1
    # reading again changes nothing
    assert notification_read(user=ann, notification_id=older.pk).read_at == read.read_at
    # someone else's is not found
    with pytest.raises(NotFound):
        notification_read(user=bob, notification_id=newer.pk)
    # all at once
    assert notifications_read_all(user=ann) == 1
    assert unread_count(ann) == 0
    assert unread_count(bob) == 1
