"""Job endpoints: the caller's jobs (staff see all), one job's progress, and cancelling it."""

from __future__ import annotations

from typing import Any

from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cardfile.core.jobs import job_cancel
from cardfile.core.models import Job
from cardfile.core.selectors import job_get, job_list
from cardfile.metamodel.access import access_for

from .pagination import paginate


def job_to_dict(job: Job) -> dict[str, Any]:
    """A job as the API answers it."""
    return {
        "id": job.pk,
        "kind": job.kind,
        "title": job.title,
        "status": job.status,
        "progress": {
            "done": job.progress_done,
            "total": job.progress_total,
            "percent": job.progress_percent,
        },
        "message": job.message,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
    }


def _owner(request: Request) -> bool:
    """Owners see every job; others their own."""
    return access_for(request.user).is_owner


class JobListView(APIView):
    """``GET``: a page of the caller's jobs, newest first."""

    def get(self, request: Request) -> Response:
        page = paginate(request, job_list(user=request.user, see_all=_owner(request)))
        return Response(page.body([job_to_dict(job) for job in page.objects]))


class JobDetailView(APIView):
    """``GET``: one job with its progress and message."""

    def get(self, request: Request, job_id: int) -> Response:
        return Response(
            job_to_dict(job_get(user=request.user, job_id=job_id, see_all=_owner(request)))
        )


class JobCancelView(APIView):
    """``POST``: cancel a queued or running job; answers the job as it is now."""

    def post(self, request: Request, job_id: int) -> Response:
        job = job_get(user=request.user, job_id=job_id, see_all=_owner(request))
        return Response(job_to_dict(job_cancel(job.pk)))


urlpatterns = [
    path("", JobListView.as_view(), name="job-list"),
    path("<int:job_id>/", JobDetailView.as_view(), name="job-detail"),
    path("<int:job_id>/cancel/", JobCancelView.as_view(), name="job-cancel"),
]
