"""End to end: a due reminder arrives as one email at a real SMTP server on loopback (aiosmtpd),
however often the scheduler runs."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from cardfile.core.models import Delivery
from cardfile.metamodel.notify.scan import reminders_run
from cardfile.metamodel.notify.services import reminder_create
from tests.connectors.test_email_channel import SmtpServer, configure, free_port
from tests.notify_builders import build_reminder_schema, new_client, new_order, reminder_data

pytestmark = [pytest.mark.embedded, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def smtp():
    server = SmtpServer(free_port()).start()
    yield server
    server.stop()


def test_a_due_reminder_arrives_as_one_email(smtp, django_user_model):
    # given: the email channel points at the loopback server; an order due on 10 March
    owner = django_user_model.objects.create_superuser(username="boss", password=None)
    build_reminder_schema(owner)
    configure(smtp.port)
    order = new_order(new_client("Ann"), due="2031-03-10")
    new_order(new_client("Bob"), due="2031-04-10")  # not due yet
    with time_machine.travel(dt.datetime(2031, 3, 1, tzinfo=dt.UTC), tick=False):
        reminder_create(data=reminder_data(), user=owner)

    # when: the scheduler runs three times around the moment (09:00 the day before)
    for minute in (58, 59):
        with time_machine.travel(dt.datetime(2031, 3, 9, 8, minute, tzinfo=dt.UTC), tick=False):
            reminders_run()
    assert smtp.inbox.messages == []
    for minute in (1, 2, 3):
        with time_machine.travel(dt.datetime(2031, 3, 9, 9, minute, tzinfo=dt.UTC), tick=False):
            reminders_run()

    # then: one email, to the client, with the order's values
    [received] = smtp.inbox.messages
    assert received["to"] == ["ann@example.com"]
    message = received["message"]
    order.refresh_from_db()
    [delivery] = Delivery.objects.filter(source="reminder")
    assert (delivery.status, delivery.attempts, delivery.record_id) == ("sent", 1, order.pk)
    assert message["Subject"] == delivery.subject
    assert delivery.subject.startswith("Order RO-")
    body = message.get_content().replace("\r\n", "\n").strip()
    assert body.startswith("Hello Ann, order RO-")
    assert body.endswith("is due Mar 10, 2031.")
