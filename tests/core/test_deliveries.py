"""The outbox: idempotent keys, sending after commit and once, backoff, failure, run modes."""

from __future__ import annotations

import os
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection, transaction
from django.utils import timezone

from cardfile.connectors.models import ChannelConfig
from cardfile.core.deliveries import (
    DeliveryError,
    DeliveryFailed,
    Message,
    deliveries_create,
    deliveries_send_due,
    delivery_retry,
    delivery_send,
)
from cardfile.core.exceptions import NotFound
from cardfile.core.models import Delivery
from tests.delivery_channels import NAME, behaviour

pytestmark = pytest.mark.embedded

START = datetime(2031, 3, 4, 10, 0, tzinfo=UTC)


class Rollback(Exception):
    pass


@pytest.fixture(autouse=True)
def _fresh_channel():
    behaviour.reset()
    yield
    behaviour.release.set()  # never leave a sender waiting


def message(key: str = "k1", address: str = "Ann", body: str = "Hello", **kwargs) -> Message:
    return Message(key=key, channel=NAME, address=address, body=body, **kwargs)


def create_committed(*messages: Message) -> list[int]:
    """Create rows without sending them: in eager mode under ``db`` nothing is dispatched."""
    return deliveries_create(messages=list(messages))


def wait_for(delivery_id: int, statuses: tuple[str, ...], timeout: float = 30) -> Delivery:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = Delivery.objects.get(pk=delivery_id)
        if row.status in statuses:
            return row
        time.sleep(0.02)
    pytest.fail(f"delivery #{delivery_id} is still {row.status}")


# -- creating ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_create_makes_pending_rows_with_normal_addresses():
    # when
    ids = create_committed(
        message("a", address="ANN", subject="Hi", entity="order", record_id=7, source="rule"),
        message("b", address="Bob"),
    )
    # then
    rows = {row.key: row for row in Delivery.objects.filter(pk__in=ids)}
    assert set(rows) == {"a", "b"}
    assert rows["a"].status == Delivery.Status.PENDING
    assert (rows["a"].address, rows["a"].subject) == ("ann", "Hi")
    assert (rows["a"].entity, rows["a"].record_id, rows["a"].source) == ("order", 7, "rule")
    assert rows["a"].attempts == 0
    assert behaviour.sent == []


@pytest.mark.django_db
def test_an_existing_key_is_skipped_silently():
    [first] = create_committed(message("same", body="first"))
    # when the same message is made again, twice in one call too
    again = create_committed(message("same", body="second"), message("new"), message("new"))
    # then
    assert len(again) == 1
    assert Delivery.objects.get(pk=again[0]).key == "new"
    assert Delivery.objects.get(key="same").pk == first
    assert Delivery.objects.get(key="same").body == "first"
    assert Delivery.objects.count() == 2


@pytest.mark.django_db
def test_message_without_usable_address_is_skipped_with_the_reason():
    missing, bad = create_committed(message("m", address="  "), message("b", address="bad"))
    missing_row, bad_row = Delivery.objects.get(pk=missing), Delivery.objects.get(pk=bad)
    assert missing_row.status == bad_row.status == Delivery.Status.SKIPPED
    assert missing_row.last_error == "There is no echo address to send the Echo message to."
    assert bad_row.last_error == "'bad' is no echo address."


@pytest.mark.django_db
def test_unknown_channel_and_bad_key_are_refused():
    with pytest.raises(DeliveryError) as unknown:
        deliveries_create(messages=[Message(key="x", channel="pigeon", body="coo")])
    assert unknown.value.code == "unknown_channel"
    assert "pigeon" in unknown.value.message
    with pytest.raises(DeliveryError) as no_key:
        deliveries_create(messages=[message(key=" ")])
    assert no_key.value.code == "invalid_key"
    assert Delivery.objects.count() == 0


# -- sending after commit ------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_eager_mode_sends_once_the_transaction_commits():
    with transaction.atomic():
        [delivery_id] = deliveries_create(messages=[message(body="Your order is ready")])
        # nothing leaves while the transaction may still roll back
        assert behaviour.sent == []
    # then
    row = Delivery.objects.get(pk=delivery_id)
    assert (row.status, row.attempts, row.last_error) == (Delivery.Status.SENT, 1, "")
    assert row.sent_at is not None
    assert behaviour.sent == [(delivery_id, "ann", "Your order is ready")]


@transaction.atomic
def _create_then_roll_back() -> None:
    deliveries_create(messages=[message()])
    raise Rollback


@pytest.mark.django_db(transaction=True)
def test_rolled_back_messages_are_neither_kept_nor_sent():
    with pytest.raises(Rollback):
        _create_then_roll_back()
    assert Delivery.objects.count() == 0
    assert behaviour.sent == []


@pytest.mark.django_db(transaction=True)
def test_sending_refuses_to_run_inside_a_transaction():
    [delivery_id] = create_in_autocommit_without_dispatch()
    with transaction.atomic(), pytest.raises(DeliveryError) as refused:
        delivery_send(delivery_id)
    assert refused.value.code == "in_transaction"
    with transaction.atomic(), pytest.raises(DeliveryError):
        deliveries_send_due()
    assert behaviour.sent == []
    assert Delivery.objects.get(pk=delivery_id).status == Delivery.Status.PENDING
    # outside it sends
    assert delivery_send(delivery_id) == Delivery.Status.SENT


def create_in_autocommit_without_dispatch() -> list[int]:
    row = Delivery.objects.create(key=uuid.uuid4().hex, channel=NAME, address="ann", body="x")
    return [row.pk]


@pytest.mark.django_db(transaction=True)
def test_sending_twice_sends_once():
    [delivery_id] = create_in_autocommit_without_dispatch()
    # when
    first, second = delivery_send(delivery_id), delivery_send(delivery_id)
    # then
    assert (first, second) == (Delivery.Status.SENT, Delivery.Status.SENT)
    assert len(behaviour.sent) == 1
    assert Delivery.objects.get(pk=delivery_id).attempts == 1


@pytest.mark.django_db(transaction=True)
def test_a_second_sender_finds_the_row_taken():
    [delivery_id] = create_in_autocommit_without_dispatch()
    behaviour.hold.set()
    outcomes: list[str] = []

    def sender() -> None:
        try:
            outcomes.append(delivery_send(delivery_id))
        finally:
            connection.close()

    first = threading.Thread(target=sender)
    first.start()
    assert behaviour.holding.wait(30)
    # when the task arrives a second time while the first attempt is sending
    second = delivery_send(delivery_id)
    behaviour.release.set()
    first.join(30)
    # then
    assert second == Delivery.Status.SENDING
    assert outcomes == [Delivery.Status.SENT]
    assert len(behaviour.sent) == 1


@pytest.mark.django_db(transaction=True)
def test_unknown_delivery_is_not_found():
    with pytest.raises(NotFound):
        delivery_send(987654)


# -- failures and backoff ------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_failures_back_off_exponentially_then_send(settings):
    settings.CARDFILE_DELIVERY_BACKOFF_SECONDS = 60
    behaviour.failures = [DeliveryFailed("server busy"), RuntimeError("boom")]
    with time_machine.travel(START, tick=False) as clock:
        [delivery_id] = create_in_autocommit_without_dispatch()
        # first attempt fails: back in 60 s
        assert delivery_send(delivery_id) == Delivery.Status.PENDING
        row = Delivery.objects.get(pk=delivery_id)
        assert (row.attempts, row.last_error) == (1, "server busy")
        assert row.next_attempt_at == START + timedelta(seconds=60)
        # not due yet: nothing is attempted
        clock.shift(timedelta(seconds=59))
        assert deliveries_send_due() == 0
        assert delivery_send(delivery_id) == Delivery.Status.PENDING
        assert Delivery.objects.get(pk=delivery_id).attempts == 1
        # due: the second attempt fails unexpectedly, back in 120 s
        clock.shift(timedelta(seconds=1))
        assert deliveries_send_due() == 1
        row = Delivery.objects.get(pk=delivery_id)
        assert (row.status, row.attempts) == (Delivery.Status.PENDING, 2)
        assert row.last_error == "RuntimeError: boom"
        assert row.next_attempt_at == START + timedelta(seconds=60 + 120)
        # the third attempt goes through
        clock.shift(timedelta(seconds=120))
        assert deliveries_send_due() == 1
    row = Delivery.objects.get(pk=delivery_id)
    assert (row.status, row.attempts, row.last_error) == (Delivery.Status.SENT, 3, "")
    assert len(behaviour.sent) == 1


@pytest.mark.django_db(transaction=True)
def test_after_the_last_attempt_the_delivery_fails_and_stays(settings):
    settings.CARDFILE_DELIVERY_MAX_ATTEMPTS = 3
    behaviour.failures = [DeliveryFailed(f"down {n}") for n in range(1, 5)]
    [delivery_id] = create_in_autocommit_without_dispatch()
    with time_machine.travel(START, tick=False) as clock:
        statuses = []
        for _attempt in range(3):
            statuses.append(delivery_send(delivery_id))
            clock.shift(timedelta(days=1))
        # then nothing is due any more
        assert deliveries_send_due() == 0
    assert statuses == ["pending", "pending", "failed"]
    row = Delivery.objects.get(pk=delivery_id)
    assert (row.status, row.attempts, row.last_error) == ("failed", 3, "down 3")
    assert row.next_attempt_at is None
    assert behaviour.sent == []


@pytest.mark.django_db(transaction=True)
def test_a_refusal_fails_at_once():
    behaviour.failures = [DeliveryFailed("no such number", retry=False)]
    [delivery_id] = create_in_autocommit_without_dispatch()
    assert delivery_send(delivery_id) == Delivery.Status.FAILED
    row = Delivery.objects.get(pk=delivery_id)
    assert (row.attempts, row.last_error) == (1, "no such number")


@pytest.mark.django_db(transaction=True)
def test_a_switched_off_channel_fails_the_delivery_with_a_reason():
    ChannelConfig.objects.create(name=NAME, enabled=False)
    [delivery_id] = create_in_autocommit_without_dispatch()
    assert delivery_send(delivery_id) == Delivery.Status.FAILED
    assert "switched off" in Delivery.objects.get(pk=delivery_id).last_error
    assert behaviour.sent == []


@pytest.mark.django_db(transaction=True)
def test_retry_puts_a_failed_delivery_back_and_sends_it_after_commit():
    behaviour.failures = [DeliveryFailed("refused", retry=False)]
    [delivery_id] = create_in_autocommit_without_dispatch()
    delivery_send(delivery_id)
    # when
    retried = delivery_retry(delivery_id)
    # then
    assert retried.status == Delivery.Status.PENDING
    row = Delivery.objects.get(pk=delivery_id)
    assert (row.status, row.attempts) == (Delivery.Status.SENT, 2)
    assert len(behaviour.sent) == 1
    with pytest.raises(DeliveryError) as not_failed:
        delivery_retry(delivery_id)
    assert not_failed.value.code == "not_failed"


# -- lost senders --------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_sending_row_whose_sender_was_lost_is_sent_again(settings):
    [stale_id] = create_in_autocommit_without_dispatch()
    [live_id] = create_in_autocommit_without_dispatch()
    long_ago = timezone.now() - timedelta(seconds=settings.CARDFILE_DELIVERY_STALE_SECONDS + 1)
    Delivery.objects.filter(pk=stale_id).update(status="sending", attempts=1, claimed_at=long_ago)
    Delivery.objects.filter(pk=live_id).update(
        status="sending", attempts=1, claimed_at=timezone.now()
    )
    # when
    attempted = deliveries_send_due()
    # then
    assert attempted == 1
    assert Delivery.objects.get(pk=stale_id).status == Delivery.Status.SENT
    assert Delivery.objects.get(pk=stale_id).attempts == 2
    assert Delivery.objects.get(pk=live_id).status == Delivery.Status.SENDING
    assert [sent[0] for sent in behaviour.sent] == [stale_id]


@pytest.mark.django_db(transaction=True)
def test_a_row_lost_too_often_fails(settings):
    [delivery_id] = create_in_autocommit_without_dispatch()
    long_ago = timezone.now() - timedelta(seconds=settings.CARDFILE_DELIVERY_STALE_SECONDS + 1)
    Delivery.objects.filter(pk=delivery_id).update(
        status="sending", attempts=settings.CARDFILE_DELIVERY_MAX_ATTEMPTS, claimed_at=long_ago
    )
    assert deliveries_send_due() == 0
    row = Delivery.objects.get(pk=delivery_id)
    assert row.status == Delivery.Status.FAILED
    assert "worker was lost" in row.last_error
    assert behaviour.sent == []


# -- run modes -----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_thread_mode_sends_in_the_background(settings):
    settings.CARDFILE_TASK_MODE = "thread"
    with transaction.atomic():
        ids = deliveries_create(messages=[message("t1"), message("t2", address="Bob")])
    rows = [wait_for(delivery_id, ("sent",)) for delivery_id in ids]
    assert [row.status for row in rows] == ["sent", "sent"]
    assert sorted(address for _id, address, _body in behaviour.sent) == ["ann", "bob"]


@pytest.fixture
def celery_worker(settings):
    """An in-process Celery worker on its own queue of the real Redis at REDIS_URL."""
    if not os.environ.get("REDIS_URL"):
        pytest.skip("needs Redis: REDIS_URL is not set (the embedded-default pass)")
    import celery.contrib.testing.tasks  # noqa: F401 - registers celery.ping for the ping check
    from celery.contrib.testing.worker import start_worker

    from cardfile.core.celery import app

    def forget_queues() -> None:
        # Celery caches the queues it worked out from task_default_queue; another test's
        # worker in this process set a queue of its own.
        for cached in ("queues", "default_queue", "router"):
            app.amqp.__dict__.pop(cached, None)

    queue = f"cardfile-test-{uuid.uuid4().hex}"
    app.conf.task_default_queue = queue
    app.conf.worker_hijack_root_logger = False
    settings.CARDFILE_TASK_MODE = "celery"
    forget_queues()
    try:
        with start_worker(app, pool="solo", perform_ping_check=True, shutdown_timeout=30) as worker:
            yield worker
    finally:
        forget_queues()


@pytest.mark.django_db(transaction=True)
def test_celery_mode_sends_in_a_worker(celery_worker):
    with transaction.atomic():
        [delivery_id] = deliveries_create(messages=[message("c1")])
    row = wait_for(delivery_id, ("sent", "failed"))
    assert row.status == Delivery.Status.SENT
    assert len(behaviour.sent) == 1
