"""Configuring messages in the UI: reminders and notification rules through their forms (the
entity decides what the rest offers; the services' errors shown at their inputs), channel
settings with masked secrets, and a test message through a channel."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core import mail

from cardfile.connectors.models import ChannelConfig
from cardfile.core.models import Delivery, Notification
from cardfile.metamodel.notify.models import NotificationRule, Reminder
from tests.builders import grant
from tests.notify_builders import build_reminder_schema
from tests.status_builders import add_status_fields

pytestmark = pytest.mark.embedded


@pytest.fixture
def shop(owner):
    build_reminder_schema(owner)
    return add_status_fields(owner)


def _options(html: str, testid: str) -> list[str]:
    select = html.split(f'data-testid="{testid}"')[1].split("</select>")[0]
    return re.findall(r'<option value="([^"]*)"', select)


def _selected(html: str, testid: str) -> str | None:
    select = html.split(f'data-testid="{testid}"')[1].split("</select>")[0]
    found = re.search(r'<option value="([^"]*)" selected', select)
    return found.group(1) if found else None


REMINDER = {
    "label": "Due tomorrow",
    "entity": "order",
    "field": "due",
    "offset_amount": "1",
    "offset_unit": "days",
    "offset_direction": "before",
    "at_time": "08:30",
    "repeat_every": "6",
    "repeat_unit": "months",
    "condition": "",
    "recipient": ["field:client.email", "role:manager", ""],
    "channels": ["email"],
    "subject": "Order {{ record.number }}",
    "template": "Hello {{ record.client.name }}, order {{ record.number }} is due.",
    "active": "on",
}


# -- reminders ----------------------------------------------------------------------------------


def test_the_reminder_form_follows_the_entity_and_its_date_field(shop, owner, signed_in):
    browser = signed_in(owner)

    new = browser.get("/config/reminders/new/").content.decode()
    order = browser.post("/config/reminders/part/", {"entity": "order", "field": "due"})
    pickup = browser.post("/config/reminders/part/", {"entity": "order", "field": "pickup_at"})
    client = browser.post("/config/reminders/part/", {"entity": "client"})

    assert {"order", "client"} <= set(_options(new, "entity"))
    html = order.content.decode()
    assert _options(html, "reminder-field") == ["due", "pickup_at", "closed_at"]
    assert 'data-testid="at-time"' in html  # a date field is sent at a time of day
    assert 'data-testid="at-time"' not in pickup.content.decode()  # a datetime has its own
    recipients = _options(html, "recipient-select")
    assert {"field:client.email", "field:client.phone", "field:technician"} <= set(recipients)
    assert "field:client.telegram" in recipients  # a text field: a Telegram chat id
    assert "field:client.name" in recipients
    assert "user:owner" in recipients
    assert "field:number" not in recipients  # an autonumber reaches nobody
    assert "{{ record.client.email }}" in html
    assert "{{ url }}" in html
    assert "record.lines" in html  # the lines, as a loop
    assert "/config/entities/order/formula-check/" in html  # the condition is checked live
    assert 'data-testid="no-date-fields"' in client.content.decode()


def test_a_reminder_is_created_edited_and_deleted_through_the_form(shop, owner, signed_in):
    browser = signed_in(owner)
    grant(owner, "order", ops=("read",), role="manager")

    created = browser.post("/config/reminders/new/", REMINDER)

    assert created.status_code == 302, created.content.decode()[:2000]
    reminder = Reminder.objects.get()
    assert (reminder.label, reminder.field.slug) == ("Due tomorrow", "due")
    assert (reminder.offset_amount, reminder.offset_unit) == (-1, "days")
    assert reminder.at_time == dt.time(8, 30)
    assert (reminder.repeat_every, reminder.repeat_unit) == (6, "months")
    assert reminder.recipients == [{"field": "client.email"}, {"role": "manager"}]
    listing = browser.get("/config/reminders/").content.decode()
    assert "Due tomorrow" in listing
    assert "1 day before Due" in listing

    # the edit form shows what was saved
    form = browser.get(f"/config/reminders/{reminder.pk}/").content.decode()
    assert _selected(form, "offset-direction") == "before"
    assert 'name="offset_amount" inputmode="numeric" value="1"' in form
    assert re.search(r'value="role:manager" selected', form)

    edited = browser.post(
        f"/config/reminders/{reminder.pk}/",
        {
            **REMINDER,
            "field": "pickup_at",
            "offset_amount": "2",
            "offset_unit": "hours",
            "offset_direction": "after",
            "repeat_every": "",
            "active": "",
        },
    )
    assert edited.status_code == 302
    reminder.refresh_from_db()
    assert (reminder.field.slug, reminder.offset_amount, reminder.offset_unit) == (
        "pickup_at",
        2,
        "hours",
    )
    assert (reminder.repeat_every, reminder.active) == (None, False)

    confirm = browser.get(f"/config/reminders/{reminder.pk}/delete/")
    assert 'data-testid="delete-confirm"' in confirm.content.decode()
    assert Reminder.objects.exists()  # asking deletes nothing
    deleted = browser.post(f"/config/reminders/{reminder.pk}/delete/")
    assert deleted.status_code == 302
    assert not Reminder.objects.exists()


def test_a_bad_condition_template_and_recipient_are_shown_at_their_inputs(shop, owner, signed_in):
    data = {
        **REMINDER,
        "condition": "due >",
        "template": "Hello\n{% if record.due %}\nno end",
        "recipient": ["field:client.name"],  # a text field reaches Telegram, not email
        "offset_amount": "soon",
    }

    response = signed_in(owner).post("/config/reminders/new/", data)

    assert response.status_code == 400
    assert not Reminder.objects.exists()
    html = response.content.decode()
    condition = html.split('data-testid="condition-input"')[1].split('data-testid="recipients"')[0]
    assert 'data-testid="formula-error"' in condition
    assert "cf-caret" in condition  # the caret under the position
    template = html.split('data-testid="template"')[1].split("template-variables")[0]
    assert "Line 3" in template or "Line 2" in template
    row = html.split('data-testid="recipient-row"')[1].split('data-testid="recipient-add"')[0]
    assert "can be reached by telegram, but the channels are email" in row
    assert 'value="field:client.name" selected' in row
    assert "whole number" in html  # offset.amount
    # what was typed is kept
    assert "no end</textarea>" in html
    assert "due &gt;</textarea>" in html


def test_reminders_are_for_those_who_configure_the_entity(shop, clerk, signed_in):
    browser = signed_in(clerk)
    assert browser.get("/config/reminders/").status_code == 403
    assert browser.get("/config/notification-rules/new/").status_code == 403

    grant(clerk, "client", ops=("read", "configure"), role="client_admin")
    entities = _options(browser.get("/config/reminders/new/").content.decode(), "entity")
    refused = browser.post("/config/reminders/new/", REMINDER)

    assert entities == ["client"]
    assert refused.status_code == 403  # order is not theirs to configure
    assert not Reminder.objects.exists()


# -- notification rules -------------------------------------------------------------------------


RULE = {
    "label": "Ready",
    "entity": "order",
    "event": "status_changed",
    "field": "status",
    "to_state": "ready",
    "condition": "",
    "recipient": ["user:owner"],
    "channels": ["in_app"],
    "subject": "Order {{ record.number }} is ready",
    "template": "Order {{ record.number }} is ready for {{ record.client.name }}.",
    "active": "on",
}


def test_the_rule_form_offers_fields_and_states_by_event(shop, owner, signed_in):
    browser = signed_in(owner)

    created = browser.post("/config/notification-rules/part/", {"entity": "order"})
    updated = browser.post(
        "/config/notification-rules/part/", {"entity": "order", "event": "updated"}
    )
    status = browser.post(
        "/config/notification-rules/part/", {"entity": "order", "event": "status_changed"}
    )
    no_status = browser.post(
        "/config/notification-rules/part/", {"entity": "client", "event": "status_changed"}
    )

    assert 'data-testid="rule-field"' not in created.content.decode()
    assert {"", "due", "status", "client"} <= set(_options(updated.content.decode(), "rule-field"))
    html = status.content.decode()
    assert _options(html, "rule-status-field") == ["status"]
    assert _options(html, "rule-to-state") == [
        "",
        "new",
        "diagnostics",
        "ready",
        "issued",
        "cancelled",
    ]
    assert 'data-testid="no-status-fields"' in no_status.content.decode()


def test_a_rule_is_created_edited_and_deleted_through_the_form(shop, owner, signed_in):
    browser = signed_in(owner)

    created = browser.post("/config/notification-rules/new/", RULE)

    assert created.status_code == 302, created.content.decode()[:2000]
    rule = NotificationRule.objects.get()
    assert (rule.event, rule.field.slug, rule.to_state) == ("status_changed", "status", "ready")
    assert (rule.recipients, rule.channels) == ([{"user": "owner"}], ["in_app"])
    listing = browser.get("/config/notification-rules/").content.decode()
    assert "Status becomes Ready" in listing

    form = browser.get(f"/config/notification-rules/{rule.pk}/").content.decode()
    assert _selected(form, "rule-to-state") == "ready"
    edited = browser.post(
        f"/config/notification-rules/{rule.pk}/",
        {**RULE, "event": "updated", "field": "due", "to_state": "ready"},
    )
    assert edited.status_code == 302, edited.content.decode()[:2000]
    rule.refresh_from_db()
    assert (rule.event, rule.field.slug, rule.to_state) == ("updated", "due", "")

    assert browser.post(f"/config/notification-rules/{rule.pk}/delete/").status_code == 302
    assert not NotificationRule.objects.exists()


def test_a_broken_rule_template_is_refused_with_its_line(shop, owner, signed_in):
    data = {**RULE, "template": "Order\n{{ record.number }\n", "channels": []}

    response = signed_in(owner).post("/config/notification-rules/new/", data)

    assert response.status_code == 400
    html = response.content.decode()
    template = html.split('data-testid="template"')[1].split("template-variables")[0]
    assert re.search(r"Line \d", template)
    channels = html.split('data-testid="channels"')[1].split("</fieldset>")[0]
    assert "invalid-feedback" in channels  # no channel chosen
    assert not NotificationRule.objects.exists()


# -- channels -----------------------------------------------------------------------------------


SMS = {
    "enabled": "on",
    "s.url": "https://sms.example.com/send",
    "s.method": "POST",
    "s.content_type": "json",
    "s.body_template": "",
    "s.auth.type": "bearer",
    "s.auth.username": "",
    "s.auth.password": "",
    "s.auth.token": "tok-123",
    "s.headers.key": ["X-Api-Key"],
    "s.headers.value": ["k-456"],
    "s.timeout": "5",
}


def test_channel_settings_are_owners_only(shop, clerk, signed_in):
    grant(clerk, "order", ops=("read", "configure"))
    browser = signed_in(clerk)
    assert browser.get("/config/channels/").status_code == 403
    assert browser.post("/config/channels/sms/", SMS).status_code == 403
    assert 'data-testid="config-nav-channels"' not in browser.get("/config/").content.decode()


def test_channel_settings_are_saved_with_secrets_masked_and_kept(shop, owner, signed_in):
    browser = signed_in(owner)
    page = browser.get("/config/channels/").content.decode()
    for name in ("email", "sms", "telegram", "in_app"):
        assert f'data-testid="channel-form-{name}"' in page
    assert 'data-testid="setting-auth.type"' in page  # the nested auth object
    assert 'data-testid="setting-headers"' in page  # the headers as rows

    saved = browser.post("/config/channels/sms/", SMS)

    assert saved.status_code == 302
    row = ChannelConfig.objects.get(name="sms")
    assert row.enabled is True
    assert row.settings == {
        "url": "https://sms.example.com/send",
        "method": "POST",
        "content_type": "json",
        "auth": {"type": "bearer", "token": "tok-123"},
        "headers": {"X-Api-Key": "k-456"},
        "timeout": 5,
    }
    shown = browser.get("/config/channels/").content.decode()
    assert "tok-123" not in shown
    assert "k-456" not in shown
    token = shown.split('data-testid="setting-auth.token"')[0].rsplit("<input", 1)[1]
    assert 'type="password"' in token
    assert "set; leave empty to keep" in shown.split('data-testid="setting-auth.token"')[1][:300]

    # empty secrets keep their value; another setting changes; a header row goes
    again = browser.post(
        "/config/channels/sms/",
        {**SMS, "s.auth.token": "", "s.headers.value": [""], "s.timeout": "7"},
    )
    assert again.status_code == 302
    row.refresh_from_db()
    assert row.settings["auth"]["token"] == "tok-123"
    assert row.settings["headers"] == {"X-Api-Key": "k-456"}
    assert row.settings["timeout"] == 7

    cleared = browser.post(
        "/config/channels/sms/",
        {**SMS, "s.auth.type": "", "s.auth.token": "", "s.auth.token.clear": "on",
         "s.headers.key": [], "s.headers.value": []},
    )  # fmt: skip
    assert cleared.status_code == 302
    row.refresh_from_db()
    assert "token" not in row.settings["auth"]
    assert row.settings["headers"] == {}


def test_channel_errors_are_shown_at_their_setting(shop, owner, signed_in):
    browser = signed_in(owner)

    missing_url = browser.post("/config/channels/sms/", {**SMS, "s.url": ""})
    bad_token = browser.post(
        "/config/channels/telegram/", {"enabled": "on", "s.token": "not a token"}
    )
    bad_number = browser.post("/config/channels/sms/", {**SMS, "s.timeout": "soon"})

    assert missing_url.status_code == 400
    html = missing_url.content.decode()
    url_input = html.split('data-testid="setting-url"')[1].split("</div>")[0]
    assert "Needed when the channel is on." in url_input
    assert 'data-testid="setting-url"' in html.split('data-testid="channel-form-sms"')[1]
    assert "tok-123" not in html  # a secret typed is not sent back
    token = bad_token.content.decode().split('data-testid="setting-token"')[1][:800]
    assert bad_token.status_code == 400
    assert "does not match" in token
    sms = bad_number.content.decode().split('data-testid="channel-form-sms"')[1]
    timeout = (
        sms.split('data-testid="setting-timeout"')[0][-300:]
        + sms.split('data-testid="setting-timeout"')[1][:400]
    )
    assert bad_number.status_code == 400
    assert 'value="soon"' in timeout
    assert "is not of type" in timeout
    assert not ChannelConfig.objects.filter(name__in=("sms", "telegram")).exists()


@pytest.mark.django_db(transaction=True)
def test_a_test_message_goes_out_and_its_status_is_shown(schema_db, owner, signed_in):
    build_reminder_schema(owner)
    browser = signed_in(owner)

    email = browser.post(
        "/config/channels/email/test/", {"address": "shop@example.com"}, HTTP_HX_REQUEST="true"
    )
    in_app = browser.post("/config/channels/in_app/test/", HTTP_HX_REQUEST="true")
    no_address = browser.post("/config/channels/email/test/", {"address": ""}, follow=True)

    assert email.status_code == 200
    assert 'data-testid="channel-test-status">sent<' in email.content.decode()
    assert 'href="/config/deliveries/?channel=email"' in email.content.decode()
    [sent] = mail.outbox
    assert sent.to == ["shop@example.com"]
    assert sent.subject == "Cardfile test message"
    assert 'data-testid="channel-test-status">sent<' in in_app.content.decode()
    assert Notification.objects.get(user=owner).title == "Cardfile test message"
    assert "skipped" in no_address.content.decode()
    assert Delivery.objects.filter(source="manual").count() == 3
