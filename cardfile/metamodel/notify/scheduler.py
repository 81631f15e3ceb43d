"""The in-process scheduler of the embedded default: a daemon thread that runs the reminder scan
and the due deliveries every ``CARDFILE_REMINDER_INTERVAL_SECONDS``.

Production runs the same work from Celery beat (`cardfile.metamodel.tasks`). Here no Redis and
no beat are needed: `cardfile serve` asks for the thread (``CARDFILE_SCHEDULER=1``) and the WSGI
module starts it in each web worker when jobs run in threads. Several of them at once are safe:
the scan locks each reminder and writes its sent-log in the same transaction. The thread never
raises and closes its database connections after each run.
"""

from __future__ import annotations

import logging
import os
import threading

from django.conf import settings
from django.db import connections

logger = logging.getLogger(__name__)

ENVIRONMENT_FLAG = "CARDFILE_SCHEDULER"
DEFAULT_INTERVAL_SECONDS = 60

_lock = threading.Lock()
_started: dict[int, threading.Thread] = {}  # process id -> its thread (a fork starts anew)


def interval_seconds() -> float:
    value = getattr(settings, "CARDFILE_REMINDER_INTERVAL_SECONDS", DEFAULT_INTERVAL_SECONDS)
    return max(float(value), 1.0)


def run_once() -> None:
    """One scan and send; errors are logged, connections closed."""
    from .scan import reminders_run

    try:
        outcome = reminders_run()
        if outcome.scan.due or outcome.sent or outcome.scan.failed:
            logger.info(
                "reminders: %d due, %d deliveries created, %d sent, %d failed",
                outcome.scan.due,
                outcome.scan.deliveries,
                outcome.sent,
                outcome.scan.failed,
            )
    except Exception:
        logger.exception("The scheduled reminder run failed; the next one tries again")
    finally:
        connections.close_all()


def _loop(stop: threading.Event, interval: float) -> None:
    while not stop.wait(interval):
        run_once()


def scheduler_start(*, interval: float | None = None) -> threading.Thread:
    """Start this process's scheduler thread (once per process) and return it."""
    with _lock:
        thread = _started.get(os.getpid())
        if thread is not None and thread.is_alive():
            return thread
        stop = threading.Event()
        thread = threading.Thread(
            target=_loop,
            args=(stop, interval or interval_seconds()),
            name="cardfile-scheduler",
            daemon=True,
        )
        thread.stop = stop  # type: ignore[attr-defined]
        thread.start()
        _started[os.getpid()] = thread
        return thread


def scheduler_stop() -> None:
    """Stop this process's scheduler thread (tests, a clean shutdown)."""
    with _lock:
        thread = _started.pop(os.getpid(), None)
    if thread is not None:
        thread.stop.set()  # type: ignore[attr-defined]
        thread.join(timeout=10)


def scheduler_start_if_asked() -> threading.Thread | None:
    """Called by the WSGI module: start the thread when the server asked for it
    (``CARDFILE_SCHEDULER=1``, set by `cardfile serve`) and jobs run in threads (no Celery
    beat does the work). Tests and ``manage.py`` never set the flag."""
    if os.environ.get(ENVIRONMENT_FLAG) != "1" or settings.CARDFILE_TASK_MODE != "thread":
        return None
    return scheduler_start()
