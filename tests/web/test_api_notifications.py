"""The API of outgoing messages: channel settings (owners, secrets masked), the caller's
notifications, and the delivery log with its retry."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from cardfile.connectors.channels.base import MASK
from cardfile.connectors.models import ChannelConfig
from cardfile.core.deliveries import Message, deliveries_create
from cardfile.core.models import AuditLog, Delivery, Notification
from tests.builders import build_shop_schema, grant
from tests.delivery_channels import NAME, behaviour

pytestmark = pytest.mark.embedded

SMS = "/api/v1/meta/channels/sms/"


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


# -- channels ------------------------------------------------------------------------------------


def test_owner_lists_every_channel_with_its_defaults(api):
    response = api.get("/api/v1/meta/channels/")
    assert response.status_code == 200
    channels = {channel["name"]: channel for channel in response.json()}
    assert list(channels)[:4] == ["email", "sms", "telegram", "in_app"]
    assert channels["email"]["enabled"] is True
    assert channels["in_app"]["enabled"] is True
    assert channels["sms"]["enabled"] is False
    assert channels["telegram"]["enabled"] is False
    assert channels["sms"]["label"] == "SMS"
    assert channels["sms"]["settings"] == {}
    assert "url" in channels["sms"]["settings_schema"]["properties"]
    assert channels["telegram"]["secret_settings"] == ["token"]


def test_channels_are_for_owners_only(clerk_api):
    assert clerk_api.get("/api/v1/meta/channels/").status_code == 403
    response = clerk_api.patch(SMS, {"enabled": True}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert not ChannelConfig.objects.exists()


def test_patch_configures_a_channel_and_masks_its_secrets(api, owner):
    # when
    response = api.patch(
        SMS,
        {
            "enabled": True,
            "settings": {
                "url": "https://sms.example.com/send",
                "auth": {"type": "bearer", "token": "tok-123"},
                "headers": {"X-Api-Key": "k-456"},
            },
        },
        format="json",
    )
    # then
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["enabled"] is True
    assert body["settings"] == {
        "url": "https://sms.example.com/send",
        "auth": {"type": "bearer", "token": MASK},
        "headers": {"X-Api-Key": MASK},
    }
    assert body["updated_by"] == "owner"
    row = ChannelConfig.objects.get(name="sms")
    assert row.settings["auth"]["token"] == "tok-123"
    assert row.settings["headers"]["X-Api-Key"] == "k-456"
    # the audit log shows the change, never the secret
    entry = AuditLog.objects.get(object_type="channel", object_id="sms")
    assert entry.user == owner
    assert entry.after["settings"]["auth"]["token"] == MASK
    assert "tok-123" not in str(entry.after)
    # sending the masked settings back changes nothing
    assert api.patch(SMS, {"settings": body["settings"]}, format="json").status_code == 200
    assert ChannelConfig.objects.get(name="sms").settings == row.settings


def test_masked_or_omitted_secrets_keep_their_value(api):
    api.patch(
        SMS,
        {
            "enabled": True,
            "settings": {
                "url": "https://sms.example.com/send",
                "auth": {"type": "basic", "username": "shop", "password": "s3cret"},
            },
        },
        format="json",
    )
    # when the form sends back what it was shown, with one change
    shown = api.get(SMS).json()["settings"]
    response = api.patch(SMS, {"settings": {**shown, "timeout": 5}}, format="json")
    # then
    assert response.status_code == 200, response.json()
    settings = ChannelConfig.objects.get(name="sms").settings
    assert settings["auth"] == {"type": "basic", "username": "shop", "password": "s3cret"}
    assert settings["timeout"] == 5
    # a patch leaving the auth out keeps it; null removes a setting
    api.patch(SMS, {"settings": {"timeout": None}}, format="json")
    settings = ChannelConfig.objects.get(name="sms").settings
    assert "timeout" not in settings
    assert settings["auth"]["password"] == "s3cret"


@pytest.mark.parametrize(
    ("data", "key", "message"),
    [
        ({"enabled": True}, "settings.url", "Needed when the channel is on."),
        (
            {"settings": {"url": "ftp://sms.example.com"}},
            "settings.url",
            "'ftp://sms.example.com' does not match '^https?://'",
        ),
        (
            {"settings": {"url": "https://x.example", "body_template": "{{ to }"}},
            "settings.body_template",
            "Line 1: unexpected '}'",
        ),
        (
            {"settings": {"url": "https://x.example", "auth": {"type": "digest"}}},
            "settings.auth.type",
            "'digest' is not one of ['none', 'basic', 'bearer']",
        ),
        (
            {"settings": {"url": "https://x.example", "auth": {"type": "bearer"}}},
            "settings.auth.token",
            "Needed for bearer authentication.",
        ),
        (
            {"settings": {"colour": "red"}},
            "settings.colour",
            "Unknown setting; expected one of: auth, body_template, content_type, headers, "
            "method, timeout, url.",
        ),
        ({"enabled": "yes"}, "enabled", "Use true or false."),
        ({"colour": "red"}, "colour", "Unknown attribute; expected one of: enabled, settings."),
    ],
)
def test_refused_settings_name_the_setting(api, data, key, message):
    response = api.patch(SMS, data, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_channel_settings"
    assert body["errors"] == {key: [message]}
    assert not ChannelConfig.objects.exists()


def test_email_sender_must_be_an_address(api):
    response = api.patch(
        "/api/v1/meta/channels/email/", {"settings": {"from_email": "shop"}}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {"settings.from_email": ["'shop' is not an email address."]}


def test_unknown_channel_is_404(api):
    assert api.get("/api/v1/meta/channels/pigeon/").status_code == 404
    assert api.patch("/api/v1/meta/channels/pigeon/", {}, format="json").status_code == 404


# -- notifications -------------------------------------------------------------------------------


def test_notifications_are_the_callers_newest_first_with_the_unread_count(clerk, owner):
    first = Notification.objects.create(user=clerk, title="first", url="/x/1/")
    second = Notification.objects.create(user=clerk, title="second", entity="order", record_id=3)
    Notification.objects.create(user=owner, title="not yours")
    client = _client(clerk)
    # when
    body = client.get("/api/v1/notifications/").json()
    # then
    assert [n["id"] for n in body["results"]] == [second.pk, first.pk]
    assert body["unread"] == 2
    assert body["results"][0] == {
        "id": second.pk,
        "title": "second",
        "body": "",
        "url": "",
        "entity": "order",
        "record_id": 3,
        "created_at": body["results"][0]["created_at"],
        "read_at": None,
    }
    # paginated
    page = client.get("/api/v1/notifications/?page_size=1").json()
    assert [n["id"] for n in page["results"]] == [second.pk]
    assert page["next"] is not None


def test_reading_notifications(clerk, owner):
    first = Notification.objects.create(user=clerk, title="first")
    second = Notification.objects.create(user=clerk, title="second")
    others = Notification.objects.create(user=owner, title="not yours")
    client = _client(clerk)
    # when
    response = client.post(f"/api/v1/notifications/{first.pk}/read/")
    # then
    assert response.status_code == 200
    assert response.json()["read_at"] is not None
    unread = client.get("/api/v1/notifications/?unread=true").json()
    assert [n["id"] for n in unread["results"]] == [second.pk]
    assert unread["unread"] == 1
    # someone else's is not found
    assert client.post(f"/api/v1/notifications/{others.pk}/read/").status_code == 404
    # all at once
    assert client.post("/api/v1/notifications/read-all/").json() == {"marked": 1, "unread": 0}
    assert Notification.objects.get(pk=others.pk).read_at is None


def test_bad_unread_flag_is_400(clerk_api):
    response = clerk_api.get("/api/v1/notifications/?unread=maybe")
    assert response.status_code == 400
    assert "unread" in response.json()["errors"]


# -- deliveries ----------------------------------------------------------------------------------


def _delivery(key: str, entity: str = "", status: str = "pending", **kwargs) -> Delivery:
    return Delivery.objects.create(
        key=key, channel=NAME, address="ann", body="x", entity=entity, status=status, **kwargs
    )


@pytest.fixture
def shop(owner):
    build_shop_schema(owner)


def test_owner_sees_the_whole_delivery_log(api, shop):
    manual = _delivery("manual")
    order = _delivery("order", entity="order", record_id=7, status="failed", last_error="down")
    body = api.get("/api/v1/deliveries/").json()
    assert [d["id"] for d in body["results"]] == [order.pk, manual.pk]
    item = body["results"][0]
    assert (item["status"], item["last_error"], item["entity"], item["record_id"]) == (
        "failed",
        "down",
        "order",
        7,
    )
    assert set(item) >= {"key", "channel", "attempts", "next_attempt_at", "sent_at", "user"}
    # filters
    failed = api.get("/api/v1/deliveries/?status=failed").json()["results"]
    assert [d["id"] for d in failed] == [order.pk]
    by_record = api.get("/api/v1/deliveries/?entity=order&record_id=7").json()["results"]
    assert [d["id"] for d in by_record] == [order.pk]
    assert api.get("/api/v1/deliveries/?record_id=8").json()["results"] == []


def test_a_configurer_sees_the_deliveries_of_their_entities(shop, clerk):
    grant(clerk, "order", ops=("read", "configure"))
    order = _delivery("order", entity="order")
    _delivery("client", entity="client")
    _delivery("manual")
    body = _client(clerk).get("/api/v1/deliveries/").json()
    assert [d["id"] for d in body["results"]] == [order.pk]


def test_others_may_not_see_the_delivery_log(shop, clerk):
    grant(clerk, "order", ops=("read", "update"))
    response = _client(clerk).get("/api/v1/deliveries/")
    assert response.status_code == 403
    assert "configure" in response.json()["detail"]


def test_bad_delivery_filters_are_400(api, shop):
    response = api.get("/api/v1/deliveries/?status=lost&record_id=seven")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"status", "record_id"}


@pytest.mark.django_db(transaction=True)
def test_retry_sends_a_failed_delivery_again(shop, clerk):
    behaviour.reset()
    grant(clerk, "order", ops=("read", "configure"))
    mine = _delivery("mine", entity="order", status="failed", attempts=5, last_error="refused")
    other = _delivery("other", entity="client", status="failed", attempts=5)
    client = _client(clerk)
    # when
    response = client.post(f"/api/v1/deliveries/{mine.pk}/retry/")
    # then
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "sent"
    assert response.json()["attempts"] == 6
    assert [sent[0] for sent in behaviour.sent] == [mine.pk]
    # a delivery of an entity they do not configure is not found; a sent one is not retried
    assert client.post(f"/api/v1/deliveries/{other.pk}/retry/").status_code == 404
    again = client.post(f"/api/v1/deliveries/{mine.pk}/retry/")
    assert again.status_code == 400
    assert again.json()["code"] == "not_failed"


@pytest.mark.django_db(transaction=True)
def test_the_user_of_a_delivery_is_shown_by_name(owner):
    with transaction.atomic():
        deliveries_create(
            messages=[Message(key="n", channel="in_app", user_id=owner.pk, subject="Hi", body="")]
        )
    [item] = _client(owner).get("/api/v1/deliveries/").json()["results"]
    assert (item["user"], item["status"], item["channel"]) == ("owner", "sent", "in_app")
    assert get_user_model().objects.get(pk=owner.pk).notifications.count() == 1


def test_the_lists_take_as_many_queries_for_many_rows_as_for_one(api, owner, shop):
    def queries(url: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert api.get(url).status_code == 200
        return len(captured)

    _delivery("d0", user=owner)
    Notification.objects.create(user=owner, title="n0")
    queries("/api/v1/deliveries/")  # the rights are worked out once, then cached
    one = queries("/api/v1/deliveries/"), queries("/api/v1/notifications/")
    for n in range(1, 6):
        _delivery(f"d{n}", user=owner)
        Notification.objects.create(user=owner, title=f"n{n}")
    assert (queries("/api/v1/deliveries/"), queries("/api/v1/notifications/")) == one
