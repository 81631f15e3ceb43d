"""The job API: the caller's jobs, one job's progress, cancelling; and its OpenAPI description."""

from __future__ import annotations

from datetime import datetime

import jsonschema
import pytest
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient
from schemathesis.specs.openapi.definitions import OPENAPI_31

import tests.job_handlers  # noqa: F401 - registers the test_batches handler
from cardfile.core.accounts import token_create
from cardfile.core.jobs import job_run
from cardfile.core.models import Job
from tests.web.conformance import conformance_failures, operations_under

pytestmark = [pytest.mark.embedded]

JOB_KEYS = {
    "id",
    "kind",
    "title",
    "status",
    "progress",
    "message",
    "created_at",
    "started_at",
    "finished_at",
}


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _job(user, *, run: bool = False, total: int = 2, title: str = "Import") -> Job:
    """A queued job of ``user``, not dispatched (so also on SQLite, where tests commit); run it
    if asked."""
    job = Job.objects.create(
        kind="test_batches", params={"total": total}, title=title, created_by=user
    )
    if run:
        job_run(job.pk)
        job.refresh_from_db()
    return job


def test_detail_shows_status_progress_and_message(clerk):
    job = _job(clerk, run=True, total=4, title="Recompute total")
    # when
    response = _client(clerk).get(f"/api/v1/jobs/{job.pk}/")
    # then
    assert response.status_code == 200
    body = response.json()
    assert set(body) == JOB_KEYS
    assert body["id"] == job.pk
    assert body["kind"] == "test_batches"
    assert body["title"] == "Recompute total"
    assert body["status"] == "done"
    assert body["progress"] == {"done": 4, "total": 4, "percent": 100}
    assert body["message"] == "Processed 4 batches."
    for key in ("created_at", "started_at", "finished_at"):
        assert datetime.fromisoformat(body[key]).tzinfo is not None


def test_queued_job_has_no_start_or_end(clerk):
    job = _job(clerk)
    body = _client(clerk).get(f"/api/v1/jobs/{job.pk}/").json()
    assert body["status"] == "queued"
    assert body["progress"] == {"done": 0, "total": 0, "percent": 0}
    assert (body["started_at"], body["finished_at"]) == (None, None)


def test_list_shows_the_callers_jobs_newest_first(owner, clerk):
    mine = [_job(clerk, title=f"Mine {n}") for n in range(3)]
    theirs = _job(owner, title="Theirs")
    # when
    response = _client(clerk).get("/api/v1/jobs/")
    # then
    assert response.status_code == 200
    body = response.json()
    assert [j["id"] for j in body["results"]] == [j.pk for j in reversed(mine)]
    assert (body["next"], body["previous"]) == (None, None)
    # staff see everyone's
    staff = _client(owner).get("/api/v1/jobs/").json()
    assert [j["id"] for j in staff["results"]] == [theirs.pk, *[j.pk for j in reversed(mine)]]


def test_list_is_paginated_like_records(clerk):
    jobs = [_job(clerk, title=f"Job {n}") for n in range(5)]
    client = _client(clerk)
    # when
    first = client.get("/api/v1/jobs/?page_size=2&count=true").json()
    second = client.get(first["next"]).json()
    # then
    assert [j["id"] for j in first["results"]] == [jobs[4].pk, jobs[3].pk]
    assert first["count"] == 5
    assert first["previous"] is None
    assert [j["id"] for j in second["results"]] == [jobs[2].pk, jobs[1].pk]
    assert second["previous"] is not None
    bad = client.get("/api/v1/jobs/?page_size=0")
    assert bad.status_code == 400
    assert "page_size" in bad.json()["errors"]


def test_list_queries_do_not_grow_with_the_page(clerk):
    client = _client(clerk)
    _job(clerk)
    client.get("/api/v1/jobs/")  # the first request of a process also loads the schema
    with CaptureQueriesContext(connection) as one:
        assert client.get("/api/v1/jobs/").status_code == 200
    for _ in range(5):
        _job(clerk, run=True)
    with CaptureQueriesContext(connection) as six:
        assert len(client.get("/api/v1/jobs/").json()["results"]) == 6
    assert len(six) == len(one)


def test_someone_elses_job_is_not_found(owner, clerk):
    theirs = _job(owner)
    client = _client(clerk)
    assert client.get(f"/api/v1/jobs/{theirs.pk}/").status_code == 404
    response = client.post(f"/api/v1/jobs/{theirs.pk}/cancel/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert Job.objects.get(pk=theirs.pk).status == Job.Status.QUEUED
    assert client.get(f"/api/v1/jobs/{2**63 - 1}/").status_code == 404


def test_jobs_need_a_signed_in_user(schema_db):
    assert APIClient().get("/api/v1/jobs/").status_code in (401, 403)


def test_cancel_a_queued_job(clerk):
    job = _job(clerk)
    # when
    response = _client(clerk).post(f"/api/v1/jobs/{job.pk}/cancel/")
    # then
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert response.json()["finished_at"] is not None
    assert job_run(job.pk) is False  # a cancelled job is never run


def test_cancel_leaves_a_finished_job_as_it_was(owner, clerk):
    job = _job(clerk, run=True)
    # when: staff may cancel anyone's job; this one has already ended
    response = _client(owner).post(f"/api/v1/jobs/{job.pk}/cancel/")
    # then
    assert response.status_code == 200
    assert response.json()["status"] == "done"
    assert response.json()["message"] == "Processed 2 batches."


# -- the OpenAPI document ----------------------------------------------------------------------


def test_document_describes_the_job_endpoints(owner):
    document = _client(owner).get("/api/schema/").json()
    jsonschema.Draft202012Validator(OPENAPI_31).validate(document)
    paths = document["paths"]
    assert set(paths["/api/v1/jobs/"]) == {"get"}
    assert set(paths["/api/v1/jobs/{id}/"]) == {"parameters", "get"}
    assert set(paths["/api/v1/jobs/{id}/cancel/"]) == {"parameters", "post"}
    job = document["components"]["schemas"]["Job"]
    assert set(job["required"]) == JOB_KEYS
    assert job["properties"]["status"]["enum"] == [
        "queued",
        "running",
        "done",
        "failed",
        "cancelled",
    ]


@pytest.fixture
def wsgi_app(schema_db):
    """The WSGI app on the test's own connection (see tests/web/test_schemathesis.py)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield get_wsgi_application()
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def test_job_api_conforms_to_its_document(owner, clerk, wsgi_app):
    import schemathesis

    token = token_create(user=owner, name="schemathesis")[1]
    headers = {"Authorization": f"Token {token}"}
    for n in range(3):
        _job(clerk if n else owner, run=n == 1)
    api_schema = schemathesis.openapi.from_wsgi("/api/schema/", wsgi_app, headers=headers)
    operations = operations_under(api_schema, r"^/api/v1/jobs/")
    assert len(operations) == 3
    failures = conformance_failures(operations, headers, max_examples=20)
    assert not failures, "\n\n".join(failures)


def test_a_user_with_an_owner_role_sees_everyones_jobs(clerk):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from cardfile.metamodel.models import Role

    manager = get_user_model().objects.create_user(username="boss", password="s3cret-pass!")
    group, _created = Group.objects.get_or_create(name="owner")
    Role.objects.update_or_create(group=group, defaults={"label": "Owner", "is_owner": True})
    manager.groups.add(group)
    job = _job(clerk)
    response = _client(manager).get(f"/api/v1/jobs/{job.pk}/")
    assert response.status_code == 200
    assert response.json()["id"] == job.pk
