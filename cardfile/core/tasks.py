"""Celery tasks of the core package: running a job, sending a delivery."""

from __future__ import annotations

from .celery import app
from .deliveries import send_and_close
from .jobs import run_and_close


@app.task(name="cardfile.core.run_job", ignore_result=True)
def run_job(job_id: int) -> None:
    """Run the job with this id; safe to deliver twice (the second delivery finds it taken)."""
    run_and_close(job_id)


@app.task(name="cardfile.core.send_delivery", ignore_result=True)
def send_delivery(delivery_id: int) -> None:
    """Send the delivery with this id; safe to deliver twice (the second finds it taken)."""
    send_and_close([delivery_id])
