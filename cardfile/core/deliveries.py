"""The outbox: messages become Delivery rows in the writer's transaction and are sent after it
commits, each at most once per attempt, with retries and backoff, and never lost.

::

    deliveries_create(messages=[Message(key=f"rule:{rule.pk}:{record.pk}:{version}",
                                        channel="sms", address=phone, body=text)])

A channel is a small class registered under its name (``@channel_register("sms")``; the
channels themselves live in `cardfile.connectors.channels`). It has ``name``, ``label``,
``settings_schema``, ``secret_settings``, and:

- ``clean_address(address, user_id) -> str``: the address in its normal form, or
  `DeliveryFailed` when the message cannot go out at all (the row is then ``skipped``);
- ``configuration() -> (enabled, settings)``: whether the channel is on, and its settings;
- ``send(delivery, settings)``: deliver, or raise `DeliveryFailed(message, retry=...)`.

Claiming: `delivery_send` takes the row with one conditional UPDATE — a ``pending`` row that is
due, or a ``sending`` one whose attempt started more than ``CARDFILE_DELIVERY_STALE_SECONDS`` ago
(its worker died). A second call for a row already taken finds nothing to claim, so a message is
sent once however often its task arrives. The outcome is written only while the attempt still
owns the row. Nothing is sent inside an open database transaction: a rollback cannot unsend.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Protocol

from django.conf import settings
from django.db import IntegrityError, connection, connections, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from .exceptions import CardfileError, NotFound
from .models import Delivery

logger = logging.getLogger(__name__)

MAX_ERROR = 4000


class DeliveryError(CardfileError):
    """A delivery could not be created, sent or retried as asked."""

    code = "delivery_error"


class DeliveryFailed(CardfileError):
    """Raised by a channel: the message did not go out. ``retry`` says whether trying again
    later may help (a server down) or not (an address the provider refuses)."""

    code = "delivery_failed"

    def __init__(self, message: str, *, retry: bool = True) -> None:
        super().__init__(message, retry=retry)
        self.retry = retry


@dataclass(frozen=True)
class Message:
    """One message to one recipient on one channel."""

    key: str  # idempotency key; an existing key is skipped silently
    channel: str  # "email" | "sms" | "telegram" | "in_app"
    body: str
    subject: str = ""
    user_id: int | None = None  # recipient user (required for in_app)
    address: str = ""  # email / phone / chat id (channels other than in_app)
    source: str = "manual"  # "reminder" | "rule" | "manual"
    source_id: int | None = None
    entity: str = ""
    record_id: int | None = None
    url: str = ""  # link shown in the in-app notification


# -- channels ------------------------------------------------------------------------------------


class Channel(Protocol):
    """What the outbox asks of a channel (the base class is `cardfile.connectors.channels`)."""

    name: str
    label: str
    settings_schema: dict[str, Any]
    secret_settings: tuple[str, ...]

    def clean_address(self, address: str, user_id: int | None) -> str: ...

    def configuration(self) -> tuple[bool, dict[str, Any]]: ...

    def send(self, delivery: Delivery, settings: dict[str, Any]) -> None: ...


_channels: dict[str, type] = {}


def channel_register(name: str) -> Callable[[type], type]:
    """Register the decorated class as the channel ``name``."""

    def register(cls: type) -> type:
        known = _channels.get(name)
        if known is not None and _qualname(known) != _qualname(cls):
            raise DeliveryError(
                _("The channel %(name)r is already registered by %(cls)s.")
                % {"name": name, "cls": _qualname(known)},
                code="duplicate_channel",
            )
        cls.name = name
        _channels[name] = cls
        return cls

    return register


def _qualname(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def channel_names() -> list[str]:
    """The registered channels, in the order they were registered."""
    return list(_channels)


def channel_get(name: str) -> Channel:
    """An instance of the channel ``name``; `DeliveryError` (unknown_channel) if none."""
    cls = _channels.get(name)
    if cls is None:
        raise DeliveryError(
            _("There is no channel %(name)r; known channels: %(known)s.")
            % {"name": name, "known": ", ".join(_channels) or "-"},
            code="unknown_channel",
        )
    return cls()


# -- creating ------------------------------------------------------------------------------------


@transaction.atomic
def deliveries_create(*, messages: list[Message]) -> list[int]:
    """Insert Delivery rows (status pending) in the caller's transaction, skipping keys that
    exist; return the ids of the rows created. The pending ones are sent once the transaction
    commits, as ``settings.CARDFILE_TASK_MODE`` says. A message its channel cannot address
    (no address, a malformed one) is created as ``skipped`` with the reason."""
    rows = _rows(messages)
    existing = set(
        Delivery.objects.filter(key__in=[row.key for row in rows]).values_list("key", flat=True)
    )
    rows = [row for row in rows if row.key not in existing]
    created = _insert(rows)
    pending = [row.pk for row in created if row.status == Delivery.Status.PENDING]
    if pending:
        # Read now, so the mode that created the rows is the one that sends them.
        transaction.on_commit(partial(_dispatch, pending, settings.CARDFILE_TASK_MODE))
    return [row.pk for row in created]


def _rows(messages: Iterable[Message]) -> list[Delivery]:
    rows: dict[str, Delivery] = {}
    for number, message in enumerate(messages):
        key = message.key.strip() if isinstance(message.key, str) else ""
        if not key or len(key) > 255:
            raise DeliveryError(
                _("Message %(n)d needs a key of 1 to 255 characters.") % {"n": number + 1},
                code="invalid_key",
            )
        if key in rows:
            continue
        if message.source not in Delivery.Source.values:
            raise DeliveryError(
                _("Message %(n)d has the source %(source)r; expected one of %(known)s.")
                % {
                    "n": number + 1,
                    "source": message.source,
                    "known": ", ".join(Delivery.Source.values),
                },
                code="invalid_source",
            )
        channel = channel_get(message.channel)
        status, error, address = Delivery.Status.PENDING, "", ""
        try:
            address = channel.clean_address(message.address or "", message.user_id)
        except DeliveryFailed as problem:
            status, error, address = Delivery.Status.SKIPPED, problem.message, message.address
        rows[key] = Delivery(
            key=key,
            channel=message.channel,
            user_id=message.user_id,
            address=(address or "")[:255],
            subject=(message.subject or "").strip()[:300],
            body=message.body or "",
            url=(message.url or "")[:500],
            source=message.source,
            source_id=message.source_id,
            entity=message.entity or "",
            record_id=message.record_id,
            status=status,
            last_error=error,
        )
    return list(rows.values())


def _insert(rows: list[Delivery]) -> list[Delivery]:
    """Insert ``rows``; a key another transaction inserted meanwhile is skipped, not an error."""
    if not rows:
        return []
    try:
        with transaction.atomic():
            return Delivery.objects.bulk_create(rows)
    except IntegrityError:
        pass
    created = []
    for row in rows:
        try:
            with transaction.atomic():
                row.save(force_insert=True)
        except IntegrityError:
            row.pk = None
            continue
        created.append(row)
    return created


def _dispatch(delivery_ids: list[int], mode: str) -> None:
    """Send the rows by ``mode``; a dispatch that fails leaves them pending for the next
    `deliveries_send_due`, so nothing is lost."""
    try:
        if mode == "eager":
            _send_each(delivery_ids)
        elif mode == "thread":
            threading.Thread(
                target=send_and_close,
                args=(delivery_ids,),
                name=f"cardfile-delivery-{delivery_ids[0]}",
                daemon=True,
            ).start()
        else:
            from .tasks import send_delivery  # Celery is imported only where it is used

            for delivery_id in delivery_ids:
                send_delivery.delay(delivery_id)
    except Exception:
        logger.exception("Could not dispatch deliveries %s in %s mode", delivery_ids, mode)


def _send_each(delivery_ids: Iterable[int]) -> None:
    for delivery_id in delivery_ids:
        try:
            delivery_send(delivery_id)
        except Exception:
            # Left pending (or as the attempt left it): the periodic send picks it up.
            logger.exception("Delivery %s could not be sent", delivery_id)


def send_and_close(delivery_ids: Iterable[int]) -> None:
    """Send the rows, then close this thread's database connections (threads and workers)."""
    try:
        _send_each(delivery_ids)
    finally:
        connections.close_all()


# -- sending -------------------------------------------------------------------------------------


def _refuse_in_transaction() -> None:
    if connection.in_atomic_block:
        raise DeliveryError(
            _(
                "Messages are not sent inside an open database transaction; send them after "
                "it commits."
            ),
            code="in_transaction",
        )


def delivery_send(delivery_id: int) -> str:
    """Claim the row, send it outside any transaction and write the outcome; the row's status
    afterwards (a row that was not there to claim — sent, taken, not due — is left as is)."""
    _refuse_in_transaction()
    delivery = _claim(delivery_id, timezone.now())
    if delivery is None:
        status = Delivery.objects.filter(pk=delivery_id).values_list("status", flat=True).first()
        if status is None:
            raise NotFound(_("There is no delivery #%(id)s.") % {"id": delivery_id})
        return status
    return _attempt(delivery)


def deliveries_send_due(*, now: datetime | None = None, limit: int = 500) -> int:
    """Send pending rows whose next attempt is due at ``now`` (and rows whose sender was lost);
    the number of rows this call attempted."""
    _refuse_in_transaction()
    now = now or timezone.now()
    ids = list(
        Delivery.objects.filter(_due(now) | _lost(now))
        .order_by(F("next_attempt_at").asc(nulls_first=True), "id")
        .values_list("pk", flat=True)[:limit]
    )
    attempted = 0
    for delivery_id in ids:
        delivery = _claim(delivery_id, now)
        if delivery is None:
            continue  # another sender took it, or it was lost too often
        attempted += 1
        try:
            _attempt(delivery)
        except Exception:
            logger.exception("Delivery %s could not be sent", delivery_id)
    return attempted


def _due(now: datetime) -> Q:
    return Q(status=Delivery.Status.PENDING) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )


def _lost(now: datetime) -> Q:
    stale = now - timedelta(seconds=settings.CARDFILE_DELIVERY_STALE_SECONDS)
    return Q(status=Delivery.Status.SENDING, claimed_at__lt=stale)


def _claim(delivery_id: int, now: datetime) -> Delivery | None:
    rows = Delivery.objects.filter(pk=delivery_id)
    maximum = settings.CARDFILE_DELIVERY_MAX_ATTEMPTS
    rows.filter(_lost(now), attempts__gte=maximum).update(
        status=Delivery.Status.FAILED,
        claimed_at=None,
        next_attempt_at=None,
        last_error=_(
            "Sending stopped %(n)d times without finishing (its worker was lost); it was not "
            "tried again."
        )
        % {"n": maximum},
    )
    claimed = rows.filter(_due(now) | (_lost(now) & Q(attempts__lt=maximum))).update(
        status=Delivery.Status.SENDING,
        attempts=F("attempts") + 1,
        claimed_at=timezone.now(),
    )
    return rows.select_related("user").get() if claimed else None


def _attempt(delivery: Delivery) -> str:
    """Send a claimed row and record how it went; the new status."""
    try:
        channel = channel_get(delivery.channel)
        enabled, channel_settings = channel.configuration()
        if not enabled:
            raise DeliveryFailed(
                _(
                    "The %(channel)s channel is switched off. Switch it on in the channel "
                    "settings, then retry."
                )
                % {"channel": channel.label},
                retry=False,
            )
        channel.send(delivery, channel_settings)
    except DeliveryFailed as failure:
        return _finish(delivery, error=failure.message, retry=failure.retry)
    except DeliveryError as error:  # an unknown channel: trying again will not help
        return _finish(delivery, error=error.message, retry=False)
    except Exception as error:
        logger.exception("Delivery %s (%s) failed unexpectedly", delivery.pk, delivery.channel)
        return _finish(delivery, error=_describe(error), retry=True)
    return _finish(delivery)


def backoff_delay(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt: BACKOFF · 2^(attempts-1)."""
    seconds = settings.CARDFILE_DELIVERY_BACKOFF_SECONDS * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, 7 * 24 * 3600))


def _finish(delivery: Delivery, *, error: str | None = None, retry: bool = False) -> str:
    now = timezone.now()
    if error is None:
        status, changes = Delivery.Status.SENT, {"sent_at": now, "last_error": ""}
    elif retry and delivery.attempts < settings.CARDFILE_DELIVERY_MAX_ATTEMPTS:
        status = Delivery.Status.PENDING
        changes = {"next_attempt_at": now + backoff_delay(delivery.attempts)}
    else:
        status, changes = Delivery.Status.FAILED, {"next_attempt_at": None}
    if error is not None:
        changes["last_error"] = error[:MAX_ERROR]
    updated = Delivery.objects.filter(
        pk=delivery.pk, status=Delivery.Status.SENDING, attempts=delivery.attempts
    ).update(status=status, claimed_at=None, **changes)
    if not updated:
        logger.warning("Delivery %s was taken over before its outcome was written", delivery.pk)
    return status


def _describe(error: BaseException) -> str:
    if isinstance(error, CardfileError):
        return error.message
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


# -- retrying ------------------------------------------------------------------------------------


@transaction.atomic
def delivery_retry(delivery_id: int) -> Delivery:
    """Put a failed delivery back in the queue, due now (its attempts are kept, so it gets one
    more); it is sent after the transaction commits. The row as it is now."""
    delivery = Delivery.objects.select_for_update().filter(pk=delivery_id).first()
    if delivery is None:
        raise NotFound(_("There is no delivery #%(id)s.") % {"id": delivery_id})
    if delivery.status != Delivery.Status.FAILED:
        raise DeliveryError(
            _("Only a failed delivery can be retried; #%(id)s is %(status)s.")
            % {"id": delivery_id, "status": delivery.get_status_display()},
            code="not_failed",
        )
    delivery.status = Delivery.Status.PENDING
    delivery.next_attempt_at = timezone.now()
    delivery.save(update_fields=["status", "next_attempt_at"])
    transaction.on_commit(partial(_dispatch, [delivery.pk], settings.CARDFILE_TASK_MODE))
    return delivery
