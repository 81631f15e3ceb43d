"""The job endpoints in the OpenAPI document."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from cardfile.core.models import Job

from ..pagination import DEFAULT_PAGE_SIZE, MAX_PAGE, MAX_PAGE_SIZE
from .parts import _ID, _json, _nullable, _operation, _path_param, _query, _ref


def _job_components() -> dict[str, Any]:
    moment = {"type": "string", "format": "date-time"}
    count = {"type": "integer", "minimum": 0}
    job_keys = {
        "id": {"type": "integer"},
        "kind": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "string", "enum": list(Job.Status.values)},
        "progress": {
            "type": "object",
            "properties": {
                "done": count,
                "total": {**count, "description": _("0 while the total is not known yet.")},
                "percent": {"type": "integer", "minimum": 0, "maximum": 100},
            },
            "required": ["done", "total", "percent"],
        },
        "message": {
            "type": "string",
            "description": _("The latest progress message, or what went wrong."),
        },
        "created_at": moment,
        "started_at": _nullable(moment),
        "finished_at": _nullable(moment),
    }
    return {
        "Job": {"type": "object", "properties": job_keys, "required": list(job_keys)},
        "JobPage": {
            "type": "object",
            "properties": {
                "results": {"type": "array", "items": _ref("Job")},
                "next": _nullable({"type": "string", "format": "uri"}),
                "previous": _nullable({"type": "string", "format": "uri"}),
                "count": {"type": "integer", "description": _("With ?count=true only.")},
            },
            "required": ["results", "next", "previous"],
        },
    }


def _job_paths() -> dict[str, Any]:
    tag = "jobs"
    job_id = _path_param("id", dict(_ID), _("Job id."))
    page_size = {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE}
    return {
        "/api/v1/jobs/": {
            "get": _operation(
                "jobs_list",
                _("List your jobs (staff: everyone's), newest first"),
                tag,
                {"200": _json(_ref("JobPage"), _("A page of jobs."))},
                parameters=[
                    _query(
                        "page", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}, _("Page.")
                    ),
                    _query(
                        "page_size",
                        {**page_size, "default": DEFAULT_PAGE_SIZE},
                        _("Jobs per page."),
                    ),
                    _query("count", {"type": "boolean"}, _("Add the total count.")),
                ],
                errors=(400, 403),
            ),
        },
        "/api/v1/jobs/{id}/": {
            "parameters": [job_id],
            "get": _operation(
                "jobs_retrieve",
                _("Read a job's status and progress"),
                tag,
                {"200": _json(_ref("Job"), _("The job."))},
                errors=(403, 404),
            ),
        },
        "/api/v1/jobs/{id}/cancel/": {
            "parameters": [job_id],
            "post": _operation(
                "jobs_cancel",
                _("Cancel a queued or running job"),
                tag,
                {
                    "200": _json(
                        _ref("Job"),
                        _("The job as it is now; a job that already ended is left as it was."),
                    )
                },
                errors=(403, 404),
            ),
        },
    }
