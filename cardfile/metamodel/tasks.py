"""Celery tasks of the metamodel: the periodic reminder run (beat sends it; see settings)."""

from __future__ import annotations

from cardfile.core.celery import app

from .notify.scan import reminders_run


@app.task(name="cardfile.metamodel.run_reminders", ignore_result=True)
def run_reminders() -> None:
    """Scan the reminders and send the due deliveries; safe to run twice at once."""
    reminders_run()
