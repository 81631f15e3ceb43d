"""Job handlers the web UI starts: the first-start setup that the wizard runs in the background.

The owner's password never enters the job's row: the wizard's request puts it in the cache
under a random key named in the job's parameters, and the job takes it out (and deletes it)
when it starts; it expires after `PASSWORD_TTL` seconds if the job never runs. The cache is
Redis when workers run jobs (REDIS_URL), else the memory of the process that also runs the job
in a thread.

`setup_run` works in one transaction, so its progress cannot be written to the job's row (no
one would see it before the commit, and `cardfile.core.jobs` refuses reports inside the job's
transaction): it goes to the cache, where the wizard's progress page reads it.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.core.cache import cache
from django.utils.translation import gettext as _

from cardfile.core.exceptions import CardfileError
from cardfile.core.jobs import Report, job_handler, job_start
from cardfile.core.models import Job
from cardfile.presets.setup import PROGRESS_TOTAL, SetupChoices, setup_run

SETUP_JOB = "setup"
PASSWORD_TTL = 600
PROGRESS_TTL = 3600
_PASSWORD_KEY = "cardfile:setup-password:%s"  # noqa: S105 - a cache key, not a password
_PROGRESS_KEY = "cardfile:setup-progress:%s"


class SetupPasswordLost(CardfileError):
    code = "setup_password_lost"


def setup_job_start(choices: SetupChoices) -> Job:
    """Start the setup with ``choices`` (checked by `setup_validate`) as a job."""
    secret = secrets.token_urlsafe(24)
    # before the job exists: in eager and thread mode it may start the moment it is created
    cache.set(_PASSWORD_KEY % secret, choices.owner_password, PASSWORD_TTL)
    return job_start(
        kind=SETUP_JOB,
        title=_("Setting up %(company)s") % {"company": choices.company},
        params={
            "trade": choices.trade,
            "company": choices.company,
            "currency": choices.currency,
            "locale": choices.locale,
            "branches": list(choices.branches),
            "owner_username": choices.owner_username,
            "owner_email": choices.owner_email,
            "demo_data": choices.demo_data,
            "password_key": secret,
        },
    )


def setup_job_progress(job: Job) -> tuple[int, str]:
    """The setup job's percent done and latest message, as live as the cache has them."""
    if job.status == Job.Status.RUNNING:
        live = cache.get(_PROGRESS_KEY % job.pk)
        if live is not None:
            done, total, message = live
            return min(done * 100 // max(total, 1), 99), message
    return job.progress_percent, job.message


@job_handler(SETUP_JOB)
def setup_job(job: Job, report: Report) -> str:
    params: dict[str, Any] = job.params
    key = _PASSWORD_KEY % params.get("password_key", "")
    password = cache.get(key)
    cache.delete(key)
    if not password:
        raise SetupPasswordLost(
            _(
                "The owner's password did not reach the setup (it waited too long, or ran where "
                "the server's cache is not shared). Start the setup again."
            )
        )
    report(0, PROGRESS_TOTAL, _("Starting the setup"))

    def progress(done: int, total: int, message: str) -> None:
        cache.set(_PROGRESS_KEY % job.pk, (done, total, str(message)), PROGRESS_TTL)

    try:
        installation = setup_run(
            trade=params["trade"],
            company=params["company"],
            currency=params["currency"],
            locale=params["locale"],
            branches=params["branches"],
            owner_username=params["owner_username"],
            owner_email=params["owner_email"],
            owner_password=password,
            demo_data=params["demo_data"],
            progress=progress,
        )
    finally:
        cache.delete(_PROGRESS_KEY % job.pk)
    return _("%(company)s is set up.") % {"company": installation.company_name}
