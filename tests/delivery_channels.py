"""A channel for tests of the outbox: it records what it sends and fails when told to.

Registered once at import (tests/core/test_deliveries.py and the API tests share it). Also what
the tests of the real channels share: one message sent, and a provider that is down.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import transaction

from cardfile.connectors.channels.base import Channel
from cardfile.core.deliveries import DeliveryFailed, Message, channel_register, deliveries_create
from cardfile.core.models import Delivery

NAME = "test_echo"


class Behaviour:
    """What the channel does next: ``failures`` are raised one per send before it succeeds;
    ``hold`` makes a send wait until ``release`` is set (to overlap two senders)."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, str, str]] = []  # (delivery id, address, body)
        self.failures: list[DeliveryFailed | Exception] = []
        self.hold = threading.Event()
        self.holding = threading.Event()
        self.release = threading.Event()
        self.lock = threading.Lock()

    def reset(self) -> None:
        self.__init__()


behaviour = Behaviour()


@channel_register(NAME)
class EchoChannel(Channel):
    label = "Echo"
    address_label = "echo address"

    def normal_address(self, address: str) -> str:
        if address == "bad":
            raise DeliveryFailed("'bad' is no echo address.", retry=False)
        return address.lower()

    def send(self, delivery: Delivery, settings: dict[str, Any]) -> None:
        if behaviour.hold.is_set():
            behaviour.holding.set()
            behaviour.release.wait(30)
        with behaviour.lock:
            if behaviour.failures:
                raise behaviour.failures.pop(0)
            behaviour.sent.append((delivery.pk, delivery.address, delivery.body))


def deliver(message: Message) -> Delivery:
    """Hand ``message`` to the outbox (sent after the commit) and read its row back."""
    with transaction.atomic():
        [delivery_id] = deliveries_create(messages=[message])
    return Delivery.objects.get(pk=delivery_id)


@contextmanager
def provider_down(httpserver: Any) -> Iterator[None]:
    """The fake provider (pytest-httpserver) stopped for the block, started again after."""
    httpserver.stop()
    try:
        yield
    finally:
        httpserver.start()
