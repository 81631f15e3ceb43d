"""The Telegram channel against a fake Bot API on loopback (pytest-httpserver)."""

from __future__ import annotations

import json

import pytest

from cardfile.connectors.services import channel_update
from cardfile.core.deliveries import Message
from cardfile.core.models import Delivery
from tests.delivery_channels import deliver, provider_down

pytestmark = [pytest.mark.embedded, pytest.mark.django_db(transaction=True)]

TOKEN = "123456:ABC-def_ghi"
METHOD = f"/bot{TOKEN}/sendMessage"


def configure(httpserver) -> None:
    channel_update(
        name="telegram",
        enabled=True,
        settings={"token": TOKEN, "base_url": httpserver.url_for("/")},
        user=None,
    )


def send(
    chat: str = "-100200300", subject: str = "", body: str = "Order RO-7 is ready"
) -> Delivery:
    return deliver(
        Message(
            key=f"tg:{chat}:{body}", channel="telegram", address=chat, subject=subject, body=body
        )
    )


def test_send_message_posts_chat_id_and_text(httpserver):
    httpserver.expect_request(METHOD, method="POST").respond_with_json(
        {"ok": True, "result": {"message_id": 5}}
    )
    configure(httpserver)
    # when
    row = send(subject="Ready", body="Your order RO-7 is ready")
    # then
    assert row.status == Delivery.Status.SENT
    [(request, _response)] = httpserver.log
    assert request.path == METHOD
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.get_data()) == {
        "chat_id": -100200300,
        "text": "Ready\n\nYour order RO-7 is ready",
    }


def test_a_channel_name_is_sent_as_text(httpserver):
    httpserver.expect_request(METHOD).respond_with_json({"ok": True, "result": {}})
    configure(httpserver)
    assert send(chat="@shop_news").status == Delivery.Status.SENT
    [(request, _response)] = httpserver.log
    assert json.loads(request.get_data())["chat_id"] == "@shop_news"


def test_a_blocked_bot_fails_with_telegrams_description(httpserver):
    httpserver.expect_request(METHOD).respond_with_json(
        {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"},
        status=403,
    )
    configure(httpserver)
    row = send()
    assert row.status == Delivery.Status.FAILED
    assert row.last_error == "Telegram answered 403: Forbidden: bot was blocked by the user"


def test_a_bad_request_fails_without_retry(httpserver):
    httpserver.expect_request(METHOD).respond_with_json(
        {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}, status=400
    )
    configure(httpserver)
    row = send()
    assert (row.status, row.attempts) == (Delivery.Status.FAILED, 1)
    assert row.last_error.endswith("Bad Request: chat not found")


@pytest.mark.parametrize(
    ("status", "answer"),
    [
        (429, {"ok": False, "description": "Too Many Requests: retry after 5"}),
        (502, {"ok": False, "description": "Bad Gateway"}),
    ],
)
def test_flood_limits_and_server_errors_are_retried(httpserver, status, answer):
    httpserver.expect_request(METHOD).respond_with_json(answer, status=status)
    configure(httpserver)
    row = send()
    assert (row.status, row.attempts) == (Delivery.Status.PENDING, 1)
    assert row.last_error == f"Telegram answered {status}: {answer['description']}"
    assert row.next_attempt_at is not None


def test_the_token_never_shows_in_an_error(httpserver):
    configure(httpserver)
    with provider_down(httpserver):
        row = send()
    assert row.status == Delivery.Status.PENDING
    assert row.last_error.startswith("Telegram could not be reached")
    assert TOKEN not in row.last_error


def test_a_malformed_chat_id_is_skipped(httpserver):
    configure(httpserver)
    row = send(chat="my friend")
    assert row.status == Delivery.Status.SKIPPED
    assert "not a Telegram chat id" in row.last_error
