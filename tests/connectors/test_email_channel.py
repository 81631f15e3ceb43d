"""The email channel against a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy

import pytest
import time_machine
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from django.core import mail
from django.db import transaction

from cardfile.connectors.models import ChannelConfig
from cardfile.core.deliveries import Message, deliveries_create, deliveries_send_due
from cardfile.core.models import Delivery

pytestmark = [pytest.mark.embedded, pytest.mark.django_db(transaction=True)]

START = datetime(2031, 5, 6, 9, 0, tzinfo=UTC)


class Inbox:
    """An aiosmtpd handler keeping what it received; refuses RCPT to ``refused@...``."""

    def __init__(self) -> None:
        self.messages: list[dict] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("refused@"):
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(
            {
                "from": envelope.mail_from,
                "to": list(envelope.rcpt_tos),
                "message": message_from_bytes(envelope.content, policy=policy.default),
                "login": getattr(session, "auth_data", None),
            }
        )
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SmtpServer:
    def __init__(self, port: int, **kwargs) -> None:
        self.inbox = Inbox()
        self.port = port
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=port, **kwargs)

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


@pytest.fixture
def smtp():
    server = SmtpServer(free_port()).start()
    yield server
    server.stop()


def configure(port: int, **settings) -> None:
    ChannelConfig.objects.update_or_create(
        name="email",
        defaults={
            "enabled": True,
            "settings": {
                "host": "127.0.0.1",
                "port": port,
                "from_email": "shop@example.com",
                "timeout": 5,
                **settings,
            },
        },
    )


def send(key: str = "mail-1", address: str = "ann@example.com", **kwargs) -> int:
    with transaction.atomic():
        [delivery_id] = deliveries_create(
            messages=[
                Message(
                    key=key,
                    channel="email",
                    address=address,
                    subject=kwargs.pop("subject", "Your order RO-7 is ready"),
                    body=kwargs.pop("body", "Hello Ann,\nyour phone is repaired."),
                    **kwargs,
                )
            ]
        )
    return delivery_id


def test_the_message_reaches_the_smtp_server(smtp):
    configure(smtp.port)
    # when
    delivery_id = send()
    # then
    row = Delivery.objects.get(pk=delivery_id)
    assert (row.status, row.attempts) == (Delivery.Status.SENT, 1)
    [received] = smtp.inbox.messages
    assert received["from"] == "shop@example.com"
    assert received["to"] == ["ann@example.com"]
    message = received["message"]
    assert message["Subject"] == "Your order RO-7 is ready"
    assert message["To"] == "ann@example.com"
    assert message.get_content().replace("\r\n", "\n").strip() == (
        "Hello Ann,\nyour phone is repaired."
    )
    assert message["Message-ID"].startswith(f"<cardfile.{delivery_id}.")


def test_smtp_down_then_up_delivers_once_after_retry(settings):
    settings.CARDFILE_DELIVERY_BACKOFF_SECONDS = 60
    port = free_port()
    configure(port)
    with time_machine.travel(START, tick=False) as clock:
        # given the mail server is down when the message is made
        delivery_id = send()
        row = Delivery.objects.get(pk=delivery_id)
        assert (row.status, row.attempts) == (Delivery.Status.PENDING, 1)
        assert row.last_error.startswith("The mail server could not be reached")
        assert row.next_attempt_at == START + timedelta(seconds=60)
        # when it comes back, nothing is sent before the next attempt is due
        server = SmtpServer(port).start()
        try:
            assert deliveries_send_due() == 0
            clock.shift(timedelta(seconds=61))
            assert deliveries_send_due() == 1
            # and a second scan finds nothing more to send
            assert deliveries_send_due() == 0
        finally:
            server.stop()
    # then exactly one message arrived
    assert len(server.inbox.messages) == 1
    row = Delivery.objects.get(pk=delivery_id)
    assert (row.status, row.attempts, row.last_error) == (Delivery.Status.SENT, 2, "")


def test_a_refused_recipient_fails_without_retry(smtp):
    configure(smtp.port)
    delivery_id = send(address="refused@example.com")
    row = Delivery.objects.get(pk=delivery_id)
    assert row.status == Delivery.Status.FAILED
    assert "550" in row.last_error
    assert "No such mailbox here" in row.last_error
    assert smtp.inbox.messages == []


def test_smtp_login_from_the_channel_settings():
    logins: list[tuple[bytes, bytes]] = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        assert isinstance(auth_data, LoginPassword)
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"p@ss word")

    server = SmtpServer(free_port(), authenticator=authenticator, auth_require_tls=False).start()
    try:
        configure(server.port, username="shop", password="p@ss word")
        delivery_id = send()
    finally:
        server.stop()
    assert Delivery.objects.get(pk=delivery_id).status == Delivery.Status.SENT
    assert logins == [(b"shop", b"p@ss word")]
    assert len(server.inbox.messages) == 1


def test_without_a_host_the_global_backend_sends(smtp, settings):
    # given EMAIL_URL=smtp://127.0.0.1:<port> as the settings parse it
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.DEFAULT_FROM_EMAIL = "cardfile@shop.example"
    # when
    delivery_id = send()
    # then
    assert Delivery.objects.get(pk=delivery_id).status == Delivery.Status.SENT
    [received] = smtp.inbox.messages
    assert received["from"] == "cardfile@shop.example"


def test_the_test_suites_outbox_is_the_default_backend():
    # Django's test runner swaps in the locmem backend; a channel without a host uses it
    delivery_id = send(subject="Pick-up reminder", body="Your coat is ready.")
    assert Delivery.objects.get(pk=delivery_id).status == Delivery.Status.SENT
    [sent] = mail.outbox
    assert (sent.subject, sent.body, sent.to) == (
        "Pick-up reminder",
        "Your coat is ready.",
        ["ann@example.com"],
    )


def test_a_malformed_address_is_skipped():
    delivery_id = send(address="ann at example")
    row = Delivery.objects.get(pk=delivery_id)
    assert row.status == Delivery.Status.SKIPPED
    assert row.last_error == "'ann at example' is not an email address."
    assert mail.outbox == []
