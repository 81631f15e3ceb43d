"""The SMS channel against a fake HTTP provider on loopback (pytest-httpserver)."""

from __future__ import annotations

import base64

import pytest

from cardfile.connectors.services import channel_update
from cardfile.core.deliveries import Message
from cardfile.core.models import Delivery
from tests.delivery_channels import deliver, provider_down

pytestmark = [pytest.mark.embedded, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _region(settings):
    settings.CARDFILE_PHONE_REGION = "DE"


def configure(httpserver, **settings) -> None:
    channel_update(
        name="sms",
        enabled=True,
        settings={"url": httpserver.url_for("/send"), **settings},
        user=None,
    )


def send(address: str = "0151 1234 5678", body: str = "Your order RO-7 is ready") -> Delivery:
    return deliver(Message(key=f"sms:{address}:{body}", channel="sms", address=address, body=body))


def only_request(httpserver):
    [(request, _response)] = httpserver.log
    return request


def test_json_post_with_bearer_token_and_headers(httpserver):
    httpserver.expect_request("/send", method="POST").respond_with_json({"id": "m-1"})
    configure(
        httpserver,
        headers={"X-Sender": "Shop"},
        auth={"type": "bearer", "token": "tok-123"},
    )
    # when
    row = send()
    # then
    assert (row.status, row.address) == (Delivery.Status.SENT, "+4915112345678")
    request = only_request(httpserver)
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Authorization"] == "Bearer tok-123"
    assert request.headers["X-Sender"] == "Shop"
    assert request.get_data(as_text=True) == (
        '{"to": "+4915112345678", "text": "Your order RO-7 is ready"}'
    )


def test_form_post_with_basic_auth_and_own_template(httpserver):
    httpserver.expect_request("/send", method="POST").respond_with_data("OK")
    configure(
        httpserver,
        content_type="form",
        body_template="from=Shop&to={{ to|urlencode }}&msg={{ text|urlencode }}",
        auth={"type": "basic", "username": "shop", "password": "s3cret"},
    )
    row = send(body="Ready & waiting")
    assert row.status == Delivery.Status.SENT
    request = only_request(httpserver)
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    expected = base64.b64encode(b"shop:s3cret").decode()
    assert request.headers["Authorization"] == f"Basic {expected}"
    assert (
        request.get_data(as_text=True) == "from=Shop&to=%2B4915112345678&msg=Ready%20%26%20waiting"
    )
    assert request.form.to_dict() == {
        "from": "Shop",
        "to": "+4915112345678",
        "msg": "Ready & waiting",
    }


def test_get_puts_the_body_in_the_query(httpserver):
    httpserver.expect_request("/send", method="GET").respond_with_data("100")
    configure(
        httpserver,
        method="GET",
        body_template="api_id=KEY&to={{ to|urlencode }}&msg={{ text|urlencode }}",
    )
    row = send(body="Hi")
    assert row.status == Delivery.Status.SENT
    request = only_request(httpserver)
    assert request.args.to_dict() == {"api_id": "KEY", "to": "+4915112345678", "msg": "Hi"}
    assert request.get_data() == b""


def test_server_error_is_retried_later(httpserver):
    httpserver.expect_request("/send").respond_with_data("maintenance", status=503)
    configure(httpserver)
    row = send()
    assert (row.status, row.attempts) == (Delivery.Status.PENDING, 1)
    assert row.last_error == "The SMS provider answered 503: maintenance"
    assert row.next_attempt_at is not None


def test_refusal_fails_with_the_providers_message(httpserver):
    httpserver.expect_request("/send").respond_with_json(
        {"error": "invalid_number", "message": "Number is not mobile"}, status=400
    )
    configure(httpserver)
    row = send()
    assert (row.status, row.attempts) == (Delivery.Status.FAILED, 1)
    assert row.last_error == "The SMS provider answered 400: Number is not mobile"


def test_too_many_requests_is_retried(httpserver):
    httpserver.expect_request("/send").respond_with_data("slow down", status=429)
    configure(httpserver)
    assert send().status == Delivery.Status.PENDING


def test_an_unreachable_provider_is_retried(httpserver):
    configure(httpserver)
    with provider_down(httpserver):
        row = send()
    assert row.status == Delivery.Status.PENDING
    assert row.last_error.startswith("The SMS provider could not be reached")


def test_an_invalid_number_is_skipped(httpserver):
    configure(httpserver)
    row = send(address="12")
    assert row.status == Delivery.Status.SKIPPED
    assert "not a valid phone number" in row.last_error
    assert httpserver.log == []


def test_sms_is_off_until_configured(httpserver):
    row = send()
    assert row.status == Delivery.Status.FAILED
    assert "switched off" in row.last_error
    assert httpserver.log == []


def test_template_output_that_is_not_json_fails_the_delivery(httpserver):
    configure(httpserver, body_template='{"to": {{ to }}}')
    row = send()
    assert row.status == Delivery.Status.FAILED
    assert row.last_error.startswith("The SMS body template did not make JSON")
    assert httpserver.log == []
