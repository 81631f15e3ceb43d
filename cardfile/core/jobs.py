"""Long-running work as Job rows: the handler registry, and starting, running, cancelling jobs.

A handler does the work of one kind of job, in batches, reporting progress between them::

    @job_handler("formula_recompute")
    def recompute(job: Job, report: Report) -> str | None:
        total = ...
        for done in range(0, total, BATCH):
            with transaction.atomic():
                ...  # one batch, committed on its own
            report(min(done + BATCH, total), total, _("Recomputing ..."))
        return _("Recomputed %(n)d rows.") % {"n": total}

    job_start(kind="formula_recompute", params={"field": 57}, title=_("Recompute"), user=user)

Handlers live in a ``jobs.py`` module of an installed app (imported at start-up by
``CoreConfig.ready``), take everything they need from ``job.params`` and load fresh state.

Claiming: ``job_run`` takes the row with one conditional UPDATE — a queued job, or a running one
whose heartbeat (written on the claim and on every ``report``) is older than
``CARDFILE_JOB_STALE_SECONDS``: its worker died, and Celery delivers the task again
(``acks_late``). A second delivery of a live job finds it taken and returns, so the work runs once
however often the task arrives. A job whose worker went silent ``MAX_ATTEMPTS`` times fails with
a message instead of running again. An attempt writes progress and its outcome only while it
still owns the row (same status, same attempt number): a cancelled or superseded attempt stops at
its next ``report``. A crashed attempt may have committed some batches, so handlers must be safe
to run again from the start (set-based updates, idempotency keys).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Any, TypeAlias

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection, connections, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from .exceptions import CardfileError, JobCancelled, JobError, NotFound
from .models import Job

logger = logging.getLogger(__name__)

Report: TypeAlias = Callable[[int, int, str], None]
Handler: TypeAlias = Callable[[Job, Report], str | None]

MAX_ATTEMPTS = 3
MAX_MESSAGE = 4000

_handlers: dict[str, Handler] = {}


def job_handler(kind: str) -> Callable[[Handler], Handler]:
    """Register the decorated function as the handler of jobs of ``kind``."""

    def register(handler: Handler) -> Handler:
        known = _handlers.get(kind)
        if known is not None and _name(known) != _name(handler):
            raise JobError(
                _("Job kind %(kind)r already has the handler %(handler)s.")
                % {"kind": kind, "handler": _name(known)},
                code="duplicate_kind",
            )
        _handlers[kind] = handler
        return handler

    return register


def job_kinds() -> list[str]:
    """The registered kinds, sorted."""
    return sorted(_handlers)


def _name(handler: Handler) -> str:
    return f"{handler.__module__}.{getattr(handler, '__qualname__', handler)}"


# -- starting ------------------------------------------------------------------------------------


def job_start(
    *,
    kind: str,
    params: dict[str, Any] | None = None,
    title: str,
    user: AbstractBaseUser | AnonymousUser | None = None,
) -> Job:
    """Create a queued job and hand it to the runner once the caller's transaction commits."""
    if kind not in _handlers:
        raise JobError(
            _("There is no job handler for %(kind)r; known kinds: %(known)s.")
            % {"kind": kind, "known": ", ".join(job_kinds()) or "-"},
            code="unknown_kind",
        )
    job = Job.objects.create(
        kind=kind,
        title=str(title)[:300],
        params=params or {},
        created_by=user if user is not None and user.is_authenticated else None,
    )
    # Read now, so the mode that started the job is the one that runs it.
    mode = settings.CARDFILE_TASK_MODE
    transaction.on_commit(partial(_dispatch, job.pk, mode))
    return job


def _dispatch(job_id: int, mode: str) -> None:
    """Send the job to its runner; if that fails the job fails, so it does not wait forever."""
    try:
        if mode == "eager":
            job_run(job_id)
        elif mode == "thread":
            threading.Thread(
                target=run_and_close, args=(job_id,), name=f"cardfile-job-{job_id}", daemon=True
            ).start()
        else:
            from .tasks import run_job  # Celery is imported only where it is used

            run_job.delay(job_id)
    except Exception as error:
        logger.exception("Could not dispatch job %s in %s mode", job_id, mode)
        Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).update(
            status=Job.Status.FAILED,
            finished_at=timezone.now(),
            message=_("The job could not be queued: %(error)s") % {"error": _describe(error)},
        )


def run_and_close(job_id: int) -> None:
    """Run the job, then close this thread's database connections (threads and workers)."""
    try:
        job_run(job_id)
    except Exception:
        logger.exception("Job %s could not be run", job_id)
    finally:
        connections.close_all()


# -- running -------------------------------------------------------------------------------------


def job_run(job_id: int) -> bool:
    """Claim the job and run its handler; False if it was not there to claim (run, or taken)."""
    job = _claim(job_id)
    if job is None:
        logger.info("Job %s is not waiting to run; nothing to do", job_id)
        return False
    handler = _handlers.get(job.kind)
    if handler is None:
        _finish(
            job,
            Job.Status.FAILED,
            _("There is no job handler for %(kind)r in this version of Cardfile.")
            % {"kind": job.kind},
        )
        return True
    # Outside tests (eager mode under a test's transaction) the depth is 0: no transaction is
    # open, so each batch the handler commits is visible and stays, whatever happens next.
    report = _Reporter(job, depth=len(connection.atomic_blocks))
    try:
        message = handler(job, report)
    except JobCancelled:
        logger.info("Job %s (%s) stopped: cancelled", job.pk, job.kind)
        return True
    except Exception as error:
        logger.exception("Job %s (%s) failed", job.pk, job.kind)
        _finish(job, Job.Status.FAILED, _describe(error))
        return True
    _finish(job, Job.Status.DONE, message or _("Done."))
    return True


def _claim(job_id: int) -> Job | None:
    now = timezone.now()
    lost = Q(
        status=Job.Status.RUNNING,
        heartbeat_at__lt=now - timedelta(seconds=settings.CARDFILE_JOB_STALE_SECONDS),
    )
    rows = Job.objects.filter(pk=job_id)
    rows.filter(lost, attempts__gte=MAX_ATTEMPTS).update(
        status=Job.Status.FAILED,
        finished_at=now,
        message=_(
            "The job stopped %(attempts)d times without finishing (its worker was lost) and was "
            "not run again. Start it again, perhaps with less data."
        )
        % {"attempts": MAX_ATTEMPTS},
    )
    claimed = rows.filter(Q(status=Job.Status.QUEUED) | lost & Q(attempts__lt=MAX_ATTEMPTS)).update(
        status=Job.Status.RUNNING,
        started_at=now,
        finished_at=None,
        heartbeat_at=now,
        attempts=F("attempts") + 1,
    )
    return rows.get() if claimed else None


class _Reporter:
    """The ``report(done, total, message)`` callable given to a handler."""

    def __init__(self, job: Job, depth: int) -> None:
        self.job_id = job.pk
        self.attempt = job.attempts
        self.depth = depth

    def __call__(self, done: int, total: int, message: str = "") -> None:
        if len(connection.atomic_blocks) > self.depth:
            # Inside the handler's transaction the progress would show only at its commit.
            raise JobError(
                _(
                    "Progress was reported inside the job's own transaction; report between "
                    "batches, after each one commits."
                ),
                code="report_in_transaction",
            )
        updated = Job.objects.filter(
            pk=self.job_id, status=Job.Status.RUNNING, attempts=self.attempt
        ).update(
            progress_done=done,
            progress_total=total,
            message=str(message)[:MAX_MESSAGE],
            heartbeat_at=timezone.now(),
        )
        if not updated:
            raise JobCancelled(
                _("Job #%(id)s was cancelled or taken over; stopping.") % {"id": self.job_id}
            )


def _finish(job: Job, status: str, message: str) -> None:
    # A handler that completed did its work even if a cancel came in meanwhile: done wins then.
    owned = (
        [Job.Status.RUNNING, Job.Status.CANCELLED]
        if status == Job.Status.DONE
        else [Job.Status.RUNNING]
    )
    now = timezone.now()
    Job.objects.filter(pk=job.pk, attempts=job.attempts, status__in=owned).update(
        status=status, message=str(message)[:MAX_MESSAGE], finished_at=now, heartbeat_at=now
    )


def _describe(error: BaseException) -> str:
    if isinstance(error, CardfileError):
        return error.message
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


# -- cancelling ----------------------------------------------------------------------------------


def job_cancel(job_id: int) -> Job:
    """Cancel a queued or running job (a running handler stops at its next report); the job."""
    Job.objects.filter(pk=job_id, status__in=[Job.Status.QUEUED, Job.Status.RUNNING]).update(
        status=Job.Status.CANCELLED, finished_at=timezone.now(), message=_("Cancelled.")
    )
    try:
        return Job.objects.get(pk=job_id)
    except Job.DoesNotExist:
        raise NotFound(_("There is no job #%(id)s.") % {"id": job_id}) from None


def job_cancelled(job_id: int) -> bool:
    """Whether the job was cancelled; a handler may check it between batches."""
    return Job.objects.filter(pk=job_id, status=Job.Status.CANCELLED).exists()
