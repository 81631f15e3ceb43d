"""Job handlers for tests: batches that leave one audit row each, so side effects can be counted.

Registered once at import (tests/core/test_jobs.py and tests/web/test_api_jobs.py share them).
"""

from __future__ import annotations

import threading
import time

from django.db import transaction

from cardfile.core.exceptions import JobCancelled
from cardfile.core.jobs import Report, job_cancel, job_cancelled, job_handler
from cardfile.core.models import AuditLog, Job

# Lets a test hold a handler between batches: the handler sets `paused` after its first batch
# and waits for `resume` (tests running handlers in another thread use these).
paused = threading.Event()
resume = threading.Event()


def batches_done(job: Job) -> int:
    """Batches the job committed (one audit row each)."""
    return AuditLog.objects.filter(object_type="test_job", object_id=str(job.pk)).count()


def _one_batch(job: Job, number: int) -> None:
    with transaction.atomic():
        AuditLog.objects.create(
            action=AuditLog.Action.CREATE,
            object_type="test_job",
            object_id=str(job.pk),
            object_repr=f"batch {number}",
        )


@job_handler("test_batches")
def batches(job: Job, report: Report) -> str:
    """``params``: total (batches), fail_at (raise before that batch), cancel_after,
    check_cancel (ask before each batch; default true, else only `report` notices), pause (hold
    after the first batch until `resume`), sleep (after each batch), in_transaction (misuse
    `report`)."""
    total = job.params["total"]
    for number in range(1, total + 1):
        if job.params.get("check_cancel", True) and job_cancelled(job.pk):
            raise JobCancelled("stopping before the next batch")
        if number == job.params.get("fail_at"):
            raise ValueError(f"row {number} has no price")
        if job.params.get("in_transaction"):
            with transaction.atomic():
                _one_batch(job, number)
                report(number, total, f"{number} of {total}")
        else:
            _one_batch(job, number)
            report(number, total, f"{number} of {total}")
        if number == job.params.get("cancel_after"):
            job_cancel(job.pk)  # as if someone pressed Cancel meanwhile
        if number == 1 and job.params.get("pause"):
            paused.set()
            if not resume.wait(timeout=30):
                raise TimeoutError("the test never resumed the handler")
        if job.params.get("sleep"):
            time.sleep(job.params["sleep"])
    return f"Processed {total} batches."
