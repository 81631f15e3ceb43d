"""Celery tasks of the core package: the one task that runs a job."""

from __future__ import annotations

from .celery import app
from .jobs import run_and_close


@app.task(name="cardfile.core.run_job", ignore_result=True)
def run_job(job_id: int) -> None:
    """Run the job with this id; safe to deliver twice (the second delivery finds it taken)."""
    run_and_close(job_id)
