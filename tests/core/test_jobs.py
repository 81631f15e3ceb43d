"""Jobs: starting after commit, running once, progress, failure, cancelling, and each run mode."""

from __future__ import annotations

import os
import threading
import time
import uuid
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from cardfile.core.exceptions import JobError
from cardfile.core.jobs import MAX_ATTEMPTS, job_cancel, job_cancelled, job_run, job_start
from cardfile.core.models import Job
from tests import job_handlers
from tests.job_handlers import batches_done

FINISHED = (Job.Status.DONE, Job.Status.FAILED, Job.Status.CANCELLED)


class Rollback(Exception):
    pass


def _start(**params) -> Job:
    return job_start(kind="test_batches", params=params, title="Test batches")


@transaction.atomic
def _start_then_roll_back(started: list[Job]) -> None:
    started.append(_start(total=2))
    raise Rollback


def wait_for(job: Job, statuses=FINISHED, timeout: float = 30) -> Job:
    """Poll the row (as a watcher would) until it reaches one of ``statuses``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.status in statuses:
            return job
        time.sleep(0.02)
    pytest.fail(f"job #{job.pk} is still {job.status} after {timeout} s: {job.message!r}")


@pytest.fixture
def handler_gate():
    job_handlers.paused.clear()
    job_handlers.resume.clear()
    yield job_handlers
    job_handlers.resume.set()  # never leave a handler thread waiting


# -- eager mode (the suite's default) ----------------------------------------------------------


@pytest.mark.embedded
@pytest.mark.django_db
def test_eager_job_runs_at_commit_and_records_progress(django_capture_on_commit_callbacks):
    # when
    with django_capture_on_commit_callbacks(execute=True):
        job = _start(total=3)
        assert batches_done(job) == 0  # nothing runs before the commit
    # then
    job.refresh_from_db()
    assert job.status == Job.Status.DONE
    assert job.message == "Processed 3 batches."
    assert (job.progress_done, job.progress_total, job.progress_percent) == (3, 3, 100)
    assert job.attempts == 1
    assert job.started_at is not None
    assert job.finished_at >= job.started_at >= job.created_at
    assert batches_done(job) == 3


@pytest.mark.embedded
@pytest.mark.django_db(transaction=True)
def test_job_waits_for_the_callers_commit():
    with transaction.atomic():
        job = _start(total=2)
        assert Job.objects.get(pk=job.pk).status == Job.Status.QUEUED
        assert batches_done(job) == 0
    job.refresh_from_db()
    assert job.status == Job.Status.DONE
    assert batches_done(job) == 2


@pytest.mark.embedded
@pytest.mark.django_db(transaction=True)
def test_job_started_in_a_rolled_back_transaction_never_runs(settings):
    settings.CARDFILE_TASK_MODE = "thread"
    jobs: list[Job] = []
    # when
    with pytest.raises(Rollback):
        _start_then_roll_back(jobs)
    (job,) = jobs
    time.sleep(0.2)  # a thread, had one been started, would have claimed the job by now
    # then
    assert not Job.objects.filter(pk=job.pk).exists()
    assert batches_done(job) == 0
    assert not [t for t in threading.enumerate() if t.name == f"cardfile-job-{job.pk}"]


@pytest.mark.embedded
@pytest.mark.django_db
def test_rolled_back_savepoint_drops_the_dispatch(django_capture_on_commit_callbacks):
    jobs: list[Job] = []
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(Rollback):
        _start_then_roll_back(jobs)
    (job,) = jobs
    assert callbacks == []
    assert batches_done(job) == 0


@pytest.mark.embedded
@pytest.mark.django_db
def test_failing_handler_leaves_the_job_failed_with_its_message(
    django_capture_on_commit_callbacks, caplog
):
    with django_capture_on_commit_callbacks(execute=True):
        job = _start(total=3, fail_at=2)
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert job.message == "ValueError: row 2 has no price"
    assert job.finished_at is not None
    # the batch committed before the failure stays, and so does its progress
    assert batches_done(job) == 1
    assert (job.progress_done, job.progress_total, job.progress_percent) == (1, 3, 33)
    # the traceback is logged for whoever runs the server
    failure = next(r for r in caplog.records if r.name == "cardfile.core.jobs")
    assert failure.exc_info is not None
    assert f"Job {job.pk} (test_batches) failed" in failure.getMessage()


@pytest.mark.embedded
@pytest.mark.django_db
def test_report_inside_the_handlers_transaction_fails_the_job(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        job = _start(total=2, in_transaction=True)
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert "inside the job's own transaction" in job.message
    assert batches_done(job) == 0  # the batch went with its transaction


@pytest.mark.embedded
@pytest.mark.django_db
def test_unknown_kind_is_refused():
    with pytest.raises(JobError) as error:
        job_start(kind="no_such_kind", params={}, title="x")
    assert error.value.code == "unknown_kind"
    assert "test_batches" in error.value.message
    assert not Job.objects.exists()


@pytest.mark.embedded
@pytest.mark.django_db
def test_job_records_who_started_it(django_user_model, django_capture_on_commit_callbacks):
    clerk = django_user_model.objects.create_user(username="clerk", password="s3cret-pass!")
    with django_capture_on_commit_callbacks(execute=True):
        job = job_start(kind="test_batches", params={"total": 1}, title="Mine", user=clerk)
    assert Job.objects.get(pk=job.pk).created_by == clerk


# -- running once ------------------------------------------------------------------------------


@pytest.mark.embedded
@pytest.mark.django_db
def test_running_twice_does_the_work_once():
    job = _start(total=3)  # no commit in this test: the job stays queued until run by hand
    # when
    first = job_run(job.pk)
    second = job_run(job.pk)
    # then
    assert (first, second) == (True, False)
    assert batches_done(job) == 3
    job.refresh_from_db()
    assert (job.status, job.attempts) == (Job.Status.DONE, 1)


@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_do_the_work_once():
    # a queued job not dispatched (as if its task were delivered to four workers at once)
    job = Job.objects.create(kind="test_batches", params={"total": 3, "sleep": 0.05}, title="x")
    barrier = threading.Barrier(4)
    results: list[bool] = []

    def race() -> None:
        try:
            barrier.wait()
            results.append(job_run(job.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=race) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results) == [False, False, False, True]
    assert batches_done(job) == 3
    assert Job.objects.get(pk=job.pk).attempts == 1


@pytest.mark.embedded
@pytest.mark.django_db
def test_live_running_job_is_not_taken_again():
    job = _start(total=1)
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.RUNNING, attempts=1, heartbeat_at=timezone.now()
    )
    assert job_run(job.pk) is False
    assert batches_done(job) == 0


@pytest.mark.embedded
@pytest.mark.django_db
def test_job_whose_worker_went_silent_runs_again(settings):
    job = _start(total=2)
    silent_since = timezone.now() - timedelta(seconds=settings.CARDFILE_JOB_STALE_SECONDS + 1)
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.RUNNING, attempts=1, heartbeat_at=silent_since
    )
    # when
    assert job_run(job.pk) is True
    # then
    job.refresh_from_db()
    assert (job.status, job.attempts) == (Job.Status.DONE, 2)
    assert batches_done(job) == 2


@pytest.mark.embedded
@pytest.mark.django_db
def test_job_lost_too_often_fails_instead_of_running_again(settings):
    job = _start(total=2)
    silent_since = timezone.now() - timedelta(seconds=settings.CARDFILE_JOB_STALE_SECONDS + 1)
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.RUNNING, attempts=MAX_ATTEMPTS, heartbeat_at=silent_since
    )
    assert job_run(job.pk) is False
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert f"stopped {MAX_ATTEMPTS} times" in job.message
    assert batches_done(job) == 0


# -- cancelling --------------------------------------------------------------------------------


@pytest.mark.embedded
@pytest.mark.django_db
def test_cancel_stops_the_handler_between_batches(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = _start(total=5, cancel_after=2)
    job.refresh_from_db()
    assert job.status == Job.Status.CANCELLED
    assert job.message == "Cancelled."
    assert job.finished_at is not None
    assert batches_done(job) == 2
    assert (job.progress_done, job.progress_total) == (2, 5)
    assert job_cancelled(job.pk)


@pytest.mark.embedded
@pytest.mark.django_db
def test_cancelled_queued_job_never_runs():
    job = _start(total=2)
    assert job_cancel(job.pk).status == Job.Status.CANCELLED
    assert job_run(job.pk) is False
    assert batches_done(job) == 0


@pytest.mark.embedded
@pytest.mark.django_db
def test_cancel_leaves_a_finished_job_alone():
    job = _start(total=1)
    job_run(job.pk)
    assert job_cancel(job.pk).status == Job.Status.DONE
    assert not job_cancelled(job.pk)


# -- thread mode (the embedded default) --------------------------------------------------------


@pytest.mark.embedded
@pytest.mark.django_db(transaction=True)
def test_thread_mode_runs_in_the_background_and_progress_shows_at_once(settings, handler_gate):
    settings.CARDFILE_TASK_MODE = "thread"
    # when
    job = _start(total=3, pause=True)
    # then: the handler holds after its first batch; a watcher sees that batch's progress
    assert handler_gate.paused.wait(timeout=30)
    job = wait_for(job, statuses=(Job.Status.RUNNING,))
    assert (job.progress_done, job.progress_total, job.message) == (1, 3, "1 of 3")
    assert job.progress_percent == 33
    handler_gate.resume.set()
    job = wait_for(job)
    assert job.status == Job.Status.DONE
    assert job.message == "Processed 3 batches."
    assert batches_done(job) == 3


@pytest.mark.embedded
@pytest.mark.django_db(transaction=True)
def test_thread_mode_cancel_while_running(settings, handler_gate):
    settings.CARDFILE_TASK_MODE = "thread"
    job = _start(total=4, pause=True, check_cancel=False)  # only its report notices
    assert handler_gate.paused.wait(timeout=30)
    # when
    job_cancel(job.pk)
    handler_gate.resume.set()
    # then: the next report stops the handler; the row stays cancelled
    thread = next((t for t in threading.enumerate() if t.name == f"cardfile-job-{job.pk}"), None)
    if thread is not None:
        thread.join(timeout=30)
    job.refresh_from_db()
    assert job.status == Job.Status.CANCELLED
    assert batches_done(job) == 2  # the batch in progress when cancelled was committed
    assert job.progress_done == 1  # its report came too late to be written


# -- celery mode (production) ------------------------------------------------------------------


@pytest.fixture
def celery_worker(settings):
    """An in-process Celery worker on its own queue of the real Redis at REDIS_URL."""
    if not os.environ.get("REDIS_URL"):
        pytest.skip("needs Redis: REDIS_URL is not set (the embedded-default pass)")
    import celery.contrib.testing.tasks  # noqa: F401 - registers celery.ping for the ping check
    from celery.contrib.testing.worker import start_worker

    from cardfile.core.celery import app

    queue = f"cardfile-test-{uuid.uuid4().hex}"  # parallel runs on one Redis do not mix
    app.conf.task_default_queue = queue
    app.conf.worker_hijack_root_logger = False
    settings.CARDFILE_TASK_MODE = "celery"
    with start_worker(app, pool="solo", perform_ping_check=True, shutdown_timeout=30) as worker:
        yield worker


@pytest.mark.django_db(transaction=True)
def test_celery_mode_runs_the_job_in_a_worker(celery_worker):
    # when
    job = _start(total=3)
    # then
    job = wait_for(job)
    assert job.status == Job.Status.DONE
    assert job.message == "Processed 3 batches."
    assert (job.progress_done, job.progress_total) == (3, 3)
    assert batches_done(job) == 3
