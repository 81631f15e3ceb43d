"""Job handlers the web UI starts: the first-start setup that the wizard runs in the background,
and installing (or upgrading) a shipped preset from the configurator's presets page.

The owner's password never enters the setup job's row: the wizard's request puts it in the
cache under a random key named in the job's parameters, and the job takes it out (and deletes
it) when it starts; it expires after `PASSWORD_TTL` seconds if the job never runs. The cache is
Redis when workers run jobs (REDIS_URL), else the memory of the process that also runs the job
in a thread.

Both jobs work in one transaction, so their progress cannot be written to the job's row (no
one would see it before the commit, and `cardfile.core.jobs` refuses reports inside the job's
transaction): `cached_progress` sends it to the cache, where `job_live_progress` reads it for
the progress pages.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.cache import cache
from django.utils.translation import gettext as _

from cardfile.core.exceptions import CardfileError
from cardfile.core.jobs import MAX_MESSAGE, Report, job_handler, job_start
from cardfile.core.models import Job
from cardfile.presets.selectors import shipped_preset
from cardfile.presets.services import (
    InstallResult,
    PresetError,
    PresetInvalid,
    PresetNotFound,
    preset_install,
)
from cardfile.presets.setup import PROGRESS_TOTAL, SetupChoices, setup_run

SETUP_JOB = "setup"
PRESET_JOB = "preset_install"
PASSWORD_TTL = 600
PROGRESS_TTL = 3600
_PASSWORD_KEY = "cardfile:setup-password:%s"  # noqa: S105 - a cache key, not a password
_PROGRESS_KEY = "cardfile:%s-progress:%s"  # the job's kind and id
# the preset job's message: the summary, a blank line, then one line per step
STEPS_SEPARATOR = "\n\n"


class SetupPasswordLost(CardfileError):
    code = "setup_password_lost"


class PresetChanged(PresetError):
    """The shipped preset is not the version the owner previewed."""

    code = "preset_changed"


# -- progress from inside one transaction ------------------------------------------------------


@contextmanager
def cached_progress(job: Job) -> Iterator[Report]:
    """A ``progress(done, total, message)`` for work that runs in one transaction: it goes to
    the cache (read by `job_live_progress`) and is dropped when the work ends."""
    key = _PROGRESS_KEY % (job.kind, job.pk)

    def progress(done: int, total: int, message: str = "") -> None:
        cache.set(key, (done, total, str(message)), PROGRESS_TTL)

    try:
        yield progress
    finally:
        cache.delete(key)


def job_live_progress(job: Job) -> tuple[int, str]:
    """The job's percent done and latest message, as live as the cache has them (a running
    job below 100%)."""
    if job.status == Job.Status.RUNNING:
        live = cache.get(_PROGRESS_KEY % (job.kind, job.pk))
        if live is not None:
            done, total, message = live
            return min(done * 100 // max(total, 1), 99), message
    return job.progress_percent, job.message


# -- the first-start setup -----------------------------------------------------------------------


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
    with cached_progress(job) as progress:
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
    return _("%(company)s is set up.") % {"company": installation.company_name}


# -- installing a shipped preset -----------------------------------------------------------------


def preset_job_start(*, name: str, title: str, version: int, demo_data: bool, user: Any) -> Job:
    """Start installing (or upgrading to) version ``version`` of the shipped preset ``name``,
    the version the owner previewed, as a job."""
    return job_start(
        kind=PRESET_JOB,
        title=_("Installing %(title)s version %(version)d") % {"title": title, "version": version},
        params={"name": name, "version": version, "demo_data": demo_data},
        user=user,
    )


@job_handler(PRESET_JOB)
def preset_job(job: Job, report: Report) -> str:
    params: dict[str, Any] = job.params
    preset = shipped_preset(params["name"])
    if preset is None:
        raise PresetNotFound(
            _("There is no shipped preset %(name)s.") % {"name": params["name"]},
            code="preset_not_found",
        )
    if preset["version"] != params["version"]:
        raise PresetChanged(
            _(
                "%(name)s is now version %(now)s, not the version %(previewed)s you previewed; "
                "preview it again."
            )
            % {"name": params["name"], "now": preset["version"], "previewed": params["version"]}
        )
    report(0, 1, _("Starting the install"))
    with cached_progress(job) as progress:
        try:
            result = preset_install(
                source=preset["path"],
                demo_data=bool(params.get("demo_data")),
                user=job.created_by,
                progress=progress,
            )
        except PresetInvalid as error:
            # the job's message lists every problem, one a line, not the first and a count
            error.message = str(error)
            raise
    return preset_install_summary(result)


def preset_install_summary(result: InstallResult) -> str:
    """The finished job's message: what was done in a sentence or two, a blank line, then one
    line per step (as many as the message holds)."""
    if result.previous_version is None:
        head = _("%(title)s version %(version)d is installed.")
    elif result.previous_version == result.version:
        head = _("%(title)s version %(version)d was installed already.")
    else:
        head = _("%(title)s is upgraded from version %(previous)d to version %(version)d.")
    counts = Counter(step.action for step in result.steps)
    lines = [
        head
        % {
            "title": result.title or result.name,
            "version": result.version,
            "previous": result.previous_version or 0,
        },
        _("Created %(create)d, updated %(update)d, kept %(keep)d, skipped %(skip)d.")
        % {action: counts[action] for action in ("create", "update", "keep", "skip")},
    ]
    if result.demo_records:
        lines.append(_("%(n)d demo records loaded.") % {"n": result.demo_records})
    summary = "\n".join(lines)
    steps: list[str] = []
    room = MAX_MESSAGE - len(summary) - len(STEPS_SEPARATOR) - 100
    for number, step in enumerate(result.steps):
        text = str(step)
        if room - len(text) - 1 < 0:
            steps.append(_("… and %(n)d more steps.") % {"n": len(result.steps) - number})
            break
        steps.append(text)
        room -= len(text) + 1
    return summary + STEPS_SEPARATOR + "\n".join(steps) if steps else summary
