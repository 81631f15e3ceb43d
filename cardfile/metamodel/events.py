"""A tiny in-process publish/subscribe for record events, delivered after commit.

Services publish with `publish_on_commit`; history-independent side effects (reminders,
automations, notifications, webhooks) `subscribe`. Handlers run in the process that committed,
after the commit, and one failing handler neither stops the others nor undoes the write.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import transaction

logger = logging.getLogger(__name__)

RECORD_CREATED = "record_created"
RECORD_UPDATED = "record_updated"
RECORD_DELETED = "record_deleted"
RECORD_RESTORED = "record_restored"
# Payload of every record event: entity, record_id, user_id, version (after the write), fields.
# STATUS_CHANGED: entity, record_id, user_id, version, field (slug), from_state, to_state.
STATUS_CHANGED = "status_changed"

Handler = Callable[..., Any]

_lock = threading.Lock()
_handlers: defaultdict[str, list[Handler]] = defaultdict(list)
# Set while records are written that must not notify anyone (a preset's demo data).
_muted: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "cardfile_events_muted", default=False
)


@contextmanager
def muted() -> Iterator[None]:
    """Writes inside the block publish no events: demo records loaded by a preset must not
    fire notification rules at their made-up clients."""
    reset = _muted.set(True)
    try:
        yield
    finally:
        _muted.reset(reset)


def subscribe(event_name: str, handler: Handler) -> Callable[[], None]:
    """Call ``handler(event=event_name, **payload)`` for each event; returns an unsubscriber."""
    with _lock:
        if handler not in _handlers[event_name]:
            _handlers[event_name].append(handler)

    def unsubscribe() -> None:
        with _lock:
            if handler in _handlers[event_name]:
                _handlers[event_name].remove(handler)

    return unsubscribe


def publish(event_name: str, **payload: Any) -> None:
    """Deliver now. Services use `publish_on_commit` instead."""
    with _lock:
        handlers = list(_handlers.get(event_name, ()))
    for handler in handlers:
        try:
            handler(event=event_name, **payload)
        except Exception:
            logger.exception("handler %r of event %s failed", handler, event_name)


def publish_on_commit(event_name: str, **payload: Any) -> None:
    """Deliver once the current transaction commits (at once outside a transaction); nothing
    inside a `muted` block."""
    if _muted.get():
        return
    transaction.on_commit(lambda: publish(event_name, **payload))
