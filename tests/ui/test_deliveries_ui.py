"""The delivery log under /config/deliveries/: who may see it (owners all, a configurer their
entities' rows, nobody else), statuses as badges (failed in red), filters, paging, retrying a
failed delivery, and a record's own deliveries as a fragment for its card."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model

from cardfile.core.models import Delivery
from tests import delivery_channels
from tests.builders import build_shop_schema, grant

pytestmark = pytest.mark.embedded


@pytest.fixture
def shop(owner):
    return build_shop_schema(owner)


def _delivery(key: str, **fields) -> Delivery:
    values = {
        "channel": "email",
        "address": "ann@example.com",
        "subject": "Your order",
        "body": "Your order is ready.",
        "source": "rule",
        "entity": "order",
        "record_id": 1,
        "status": "sent",
        "attempts": 1,
        **fields,
    }
    return Delivery.objects.create(key=key, **values)


def _rows(html: str) -> list[str]:
    return re.findall(r'data-testid="delivery-row-(\d+)"', html)


def test_a_user_without_configure_rights_may_not_see_the_log(shop, clerk, signed_in):
    grant(clerk, "order", ops=("read", "update"))
    failed = _delivery("k1", status="failed")
    browser = signed_in(clerk)

    assert browser.get("/config/deliveries/").status_code == 403
    assert browser.get("/r/order/1/deliveries/").status_code == 403
    assert browser.post(f"/config/deliveries/{failed.pk}/retry/").status_code == 403
    assert 'data-testid="config-nav-deliveries"' not in browser.get("/").content.decode()


def test_the_owner_sees_every_row_with_its_status_and_error(shop, owner, signed_in):
    sent = _delivery("k1")
    failed = _delivery(
        "k2", status="failed", attempts=5, last_error="The mail server could not be reached"
    )
    pending = _delivery("k3", status="pending", channel="sms", address="+4930901820")

    html = signed_in(owner).get("/config/deliveries/").content.decode()

    assert _rows(html) == [str(pending.pk), str(failed.pk), str(sent.pk)]  # newest first
    assert re.search(
        rf'class="badge text-bg-danger" data-testid="delivery-status-{failed.pk}"', html
    )
    assert re.search(
        rf'class="badge text-bg-success" data-testid="delivery-status-{sent.pk}"', html
    )
    assert "The mail server could not be reached" in html
    assert f'data-testid="delivery-retry-{failed.pk}"' in html
    assert f'data-testid="delivery-retry-{sent.pk}"' not in html  # only failed ones retry
    assert 'href="/r/order/1/"' in html  # the record it was about
    assert 'data-testid="config-nav-deliveries"' in html


def test_the_log_filters_by_status_channel_entity_and_record(shop, owner, signed_in):
    email_failed = _delivery("k1", status="failed")
    sms_sent = _delivery("k2", channel="sms", address="+4930901820")
    client_row = _delivery("k3", entity="client", record_id=4)
    other_record = _delivery("k4", record_id=2)
    browser = signed_in(owner)

    def shown(query: str) -> set[str]:
        return set(_rows(browser.get(f"/config/deliveries/?{query}").content.decode()))

    assert shown("status=failed") == {str(email_failed.pk)}
    assert shown("channel=sms") == {str(sms_sent.pk)}
    assert shown("entity=client") == {str(client_row.pk)}
    assert shown("entity=order&record=2") == {str(other_record.pk)}
    everything = {str(d.pk) for d in (email_failed, sms_sent, client_row, other_record)}
    assert shown("status=nonsense&channel=nope") == everything  # unknown values filter nothing


def test_the_log_pages_by_50(shop, owner, signed_in):
    Delivery.objects.bulk_create(
        [
            Delivery(key=f"k{n}", channel="email", address="a@example.com", body="x")
            for n in range(60)
        ]
    )
    browser = signed_in(owner)

    first = browser.get("/config/deliveries/?channel=email").content.decode()
    second = browser.get("/config/deliveries/?channel=email&page=2").content.decode()

    assert len(_rows(first)) == 50
    assert len(_rows(second)) == 10
    assert 'href="?channel=email&amp;page=2"' in first


def test_a_configurer_sees_only_the_rows_of_their_entities(shop, clerk, signed_in):
    grant(clerk, "order", ops=("read", "configure"))
    order_row = _delivery("k1", status="failed")
    client_row = _delivery("k2", entity="client", status="failed")
    browser = signed_in(clerk)

    html = browser.get("/config/deliveries/").content.decode()

    assert _rows(html) == [str(order_row.pk)]
    assert browser.post(f"/config/deliveries/{client_row.pk}/retry/").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_retrying_a_failed_delivery_sends_it_again(schema_db, owner, signed_in):
    build_shop_schema(owner)
    delivery_channels.behaviour.reset()
    failed = _delivery(
        "k1", channel=delivery_channels.NAME, address="ann", status="failed", attempts=5
    )
    browser = signed_in(owner)

    response = browser.post(
        f"/config/deliveries/{failed.pk}/retry/",
        {"next": "/config/deliveries/?status=failed"},
    )

    assert response.status_code == 302
    assert response["Location"] == "/config/deliveries/?status=failed"
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == ("sent", 6)
    assert [sent[0] for sent in delivery_channels.behaviour.sent] == [failed.pk]
    html = browser.get("/config/deliveries/").content.decode()
    assert f"Delivery #{failed.pk} was retried; it is now sent." in html


def test_a_delivery_that_did_not_fail_is_not_retried(shop, owner, signed_in):
    sent = _delivery("k1")
    browser = signed_in(owner)

    html = browser.post(f"/config/deliveries/{sent.pk}/retry/", follow=True).content.decode()

    assert "Only a failed delivery can be retried" in html
    sent.refresh_from_db()
    assert sent.status == "sent"
    assert browser.get(f"/config/deliveries/{sent.pk}/retry/").status_code == 405


def test_a_records_deliveries_fragment_lists_its_own_and_retries_in_place(shop, owner, signed_in):
    mine = _delivery("k1", record_id=5, status="failed", last_error="refused")
    _delivery("k2", record_id=6)
    browser = signed_in(owner)

    fragment = browser.get("/r/order/5/deliveries/").content.decode()
    retried = browser.post(
        f"/config/deliveries/{mine.pk}/retry/?from=record", HTTP_HX_REQUEST="true"
    )

    assert re.findall(r'data-testid="record-delivery-(\d+)"', fragment) == [str(mine.pk)]
    assert "<form" not in fragment  # it goes inside the card's form
    assert f'hx-post="/config/deliveries/{mine.pk}/retry/?from=record"' in fragment
    assert 'href="/config/deliveries/?entity=order&amp;record=5"' in fragment
    assert retried.status_code == 200
    answer = retried.content.decode()
    assert 'data-testid="record-deliveries"' in answer
    assert f"Delivery #{mine.pk} was retried" in answer  # told in place, not on a later page
    mine.refresh_from_db()
    assert mine.status != "failed"  # queued again (and sent once a commit happens)
    assert browser.get("/r/nothing/5/deliveries/").status_code == 404


def test_the_fragment_is_empty_for_a_record_without_deliveries(shop, owner, signed_in):
    html = signed_in(owner).get("/r/order/77/deliveries/").content.decode()
    assert "No messages were sent about this record." in html


def test_a_user_with_no_rights_at_all_gets_403(shop, signed_in):
    nobody = get_user_model().objects.create_user(username="nobody", password="s3cret-pass!")
    assert signed_in(nobody).get("/config/deliveries/").status_code == 403


def test_the_card_include_loads_the_fragment_for_configurers_only(shop, owner, clerk, rf):
    from types import SimpleNamespace

    from django.template.loader import render_to_string

    from cardfile.web.ui.context import Menu

    schema = shop.entity("order")
    card = SimpleNamespace(obj=SimpleNamespace(pk=5), modal=False, schema=schema)

    def shown(user) -> str:
        return render_to_string("ui/_card_deliveries.html", {"card": card, "menu": Menu(user)})

    assert 'hx-get="/r/order/5/deliveries/"' in shown(owner)
    assert shown(clerk).strip() == ""
    card.obj = None  # a new record has no messages yet
    assert shown(owner).strip() == ""


def test_the_log_and_the_fragment_do_not_query_per_row(shop, owner, signed_in):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    browser = signed_in(owner)

    def count(url: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert browser.get(url).status_code == 200
        return len(captured)

    def add(n: int, start: int) -> None:
        Delivery.objects.bulk_create(
            [
                Delivery(key=f"k{start + i}", channel="in_app", user=owner, body="x",
                         entity="order", record_id=1, status="failed")
                for i in range(n)
            ]
        )  # fmt: skip

    add(3, 0)
    browser.get("/config/deliveries/")  # warm the caches of this process
    few = (count("/config/deliveries/"), count("/r/order/1/deliveries/"))
    add(30, 100)
    many = (count("/config/deliveries/"), count("/r/order/1/deliveries/"))
    assert few == many
    assert many[0] <= 10
