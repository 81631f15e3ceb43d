"""Reads of the core package: the jobs a user may see, the installation's setup."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from .exceptions import NotFound
from .models import Installation, Job

MAX_ID = 2**63 - 1


def job_list(*, user: AbstractBaseUser | AnonymousUser, see_all: bool = False) -> QuerySet[Job]:
    """The user's jobs, newest first; everyone's with ``see_all`` (the caller decides: owners,
    through `cardfile.metamodel.access`) or for staff users."""
    jobs = Job.objects.order_by("-created_at", "-id")
    if see_all or getattr(user, "is_staff", False):
        return jobs
    if not user.is_authenticated:
        return jobs.none()
    return jobs.filter(created_by=user)


def job_get(*, user: AbstractBaseUser | AnonymousUser, job_id: int, see_all: bool = False) -> Job:
    """One job the user may see, or NotFound (also for someone else's)."""
    jobs = job_list(user=user, see_all=see_all)
    job = jobs.filter(pk=job_id).first() if 0 < job_id <= MAX_ID else None
    if job is None:
        raise NotFound(_("There is no job #%(id)s.") % {"id": job_id})
    return job


def installation_get() -> Installation:
    """The installation's first-start choices; before the setup, an unsaved blank one (not set
    up). One query."""
    found = Installation.objects.filter(pk=Installation.SINGLETON_ID).first()
    return found if found is not None else Installation(pk=Installation.SINGLETON_ID)
