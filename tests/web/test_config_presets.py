"""The configurator's presets page, for owners: the shipped presets with their state here, a
preview that writes nothing, install and upgrade as a job with a progress page, a bad preset's
problems listed, the configuration exported as a zip; everyone else gets the 403 page.

The page reads the shipped presets from a folder of the test's own (copies of the engine's
mini_v1 and mini_v2 fixtures), so an upgrade is a new copy in that folder."""

from __future__ import annotations

import io
import re
import shutil
import zipfile
from pathlib import Path

import pytest
import yaml
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from cardfile.core.models import Job
from cardfile.metamodel.models import Entity, Field
from cardfile.metamodel.records import record_queryset
from cardfile.presets import loader, selectors
from cardfile.presets.models import PresetInstallation
from cardfile.presets.services import preset_install
from cardfile.web.jobs import PRESET_JOB
from tests.builders import grant

pytestmark = pytest.mark.embedded

FIXTURES = Path(__file__).resolve().parents[1] / "presets" / "fixtures"
PRESETS = reverse("ui:config-presets")
PREVIEW = reverse("ui:config-preset", args=["mini"])
INSTALL = reverse("ui:config-preset-install", args=["mini"])
EXPORT = reverse("ui:config-presets-export")


@pytest.fixture
def shipped(tmp_path, monkeypatch):
    """``ship(fixture)`` puts a copy of that fixture in the shipped folder as ``mini``."""
    folder = tmp_path / "shipped"
    folder.mkdir()
    monkeypatch.setattr(loader, "SHIPPED_DIR", folder)
    monkeypatch.setattr(selectors, "SHIPPED_DIR", folder)

    def ship(fixture: str, name: str = "mini") -> Path:
        target = folder / name
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(FIXTURES / fixture, target)
        return target

    return ship


@pytest.fixture
def as_owner(owner) -> Client:
    client = Client()
    client.force_login(owner)
    return client


def _html(response) -> str:
    return response.content.decode()


def _row(html: str, name: str) -> str:
    return html.split(f'data-testid="preset-row-{name}"')[1].split("</tr>")[0]


def _live_entities() -> set[str]:
    return set(Entity.objects.filter(deleted_at__isnull=True).values_list("slug", flat=True))


def _install(client: Client, capture, **form) -> Job:
    """Post the install form (version 1 unless told) and run the job it starts."""
    with capture(execute=True):
        response = client.post(INSTALL, {"version": "1", **form})
    job = Job.objects.filter(kind=PRESET_JOB).order_by("-id").first()
    assert response.status_code == 302
    assert response["Location"] == reverse("ui:config-preset-job", args=[job.pk])
    job.refresh_from_db()
    return job


# -- the list ------------------------------------------------------------------------------------


def test_the_list_shows_each_presets_state_here(as_owner, shipped):
    # not installed
    shipped("mini_v1")
    html = _html(as_owner.get(PRESETS))
    row = _row(html, "mini")
    assert 'data-state="absent"' in html
    assert "Mini shop" in row
    assert "A small preset for the engine&#x27;s tests." in row
    assert "not installed" in row
    assert f'href="{PREVIEW}"' in row
    assert 'data-testid="config-nav-presets"' in html

    # installed
    preset_install(source=FIXTURES / "mini_v1")
    row = _row(_html(as_owner.get(PRESETS)), "mini")
    assert "installed v1" in row
    assert "available" not in row

    # a newer version shipped
    shipped("mini_v2")
    row = _row(_html(as_owner.get(PRESETS)), "mini")
    assert "version 2 available" in row
    assert "installed v1" in row

    # installed, but no longer shipped: listed apart, without actions
    shutil.rmtree(selectors.SHIPPED_DIR / "mini")
    html = _html(as_owner.get(PRESETS))
    assert 'data-testid="preset-row-mini"' not in html
    other = html.split('data-testid="preset-other-mini"')[1].split("</tr>")[0]
    assert "installed v1" in other
    assert PREVIEW not in html


# -- preview -------------------------------------------------------------------------------------


def test_the_preview_shows_the_plan_and_writes_nothing(as_owner, shipped):
    shipped("mini_v1")
    tables = Entity.objects.count(), Field.objects.count()

    response = as_owner.get(PREVIEW)

    html = _html(response)
    assert response.status_code == 200
    assert "Installing version 1 would do this:" in html
    created = html.split('data-testid="preset-group-create"')[1].split("</ul>")[0]
    for target in ("entity client", "entity order", "field order.status", "role technician"):
        assert target in created, target
    count = re.search(r'data-testid="preset-count-create">Create: (\d+)<', html)
    assert int(count.group(1)) == created.count("<li")
    assert 'data-testid="preset-count-skip">Skip: 0<' in html
    # the install form offers demo data on a first install
    assert 'data-testid="preset-install-form"' in html
    assert 'name="demo_data"' in html
    assert 'name="version" value="1"' in html
    # and nothing was kept
    assert (Entity.objects.count(), Field.objects.count()) == tables
    assert not PresetInstallation.objects.exists()
    assert not Job.objects.filter(kind=PRESET_JOB).exists()


def test_the_preview_of_the_installed_version_has_nothing_to_do(as_owner, shipped):
    shipped("mini_v1")
    preset_install(source=FIXTURES / "mini_v1")

    html = _html(as_owner.get(PREVIEW))

    assert "Version 1 is installed; installing it again changes nothing." in html
    assert 'data-testid="preset-install-form"' not in html
    # and a forged install is turned away without a job
    response = as_owner.post(INSTALL, {"version": "1"}, follow=True)
    assert "there is nothing to do" in _html(response)
    assert not Job.objects.filter(kind=PRESET_JOB).exists()


# -- install and upgrade -------------------------------------------------------------------------


def test_install_runs_as_a_job_and_the_entities_exist(
    as_owner, owner, shipped, django_capture_on_commit_callbacks
):
    shipped("mini_v1")

    job = _install(as_owner, django_capture_on_commit_callbacks, demo_data="on")

    assert job.status == Job.Status.DONE, job.message
    assert job.created_by == owner
    assert job.params == {"name": "mini", "version": 1, "demo_data": True}
    assert {"client", "order", "order_line"} <= _live_entities()
    installed = PresetInstallation.objects.get(name="mini")
    assert (installed.version, installed.demo_data) == (1, True)
    assert record_queryset("client").count() > 0
    # the finished page: what was done, the steps, a way back; no more polling
    html = _html(as_owner.get(reverse("ui:config-preset-job", args=[job.pk])))
    assert 'data-testid="preset-job-done"' in html
    assert "Mini shop version 1 is installed." in html
    assert "demo records loaded." in html
    steps = html.split('data-testid="preset-job-steps"')[1].split("</ul>")[0]
    assert "create entity client" in steps
    assert f'href="{PRESETS}"' in html
    assert "hx-trigger" not in html.split('id="preset-progress"')[1]
    assert "installed v1" in _row(_html(as_owner.get(PRESETS)), "mini")


def test_upgrade_from_v1_to_v2_is_offered_and_applied(
    as_owner, shipped, django_capture_on_commit_callbacks
):
    # given: v1 installed from the page
    shipped("mini_v1")
    assert _install(as_owner, django_capture_on_commit_callbacks).status == Job.Status.DONE
    assert "payment" not in _live_entities()

    # when v2 is shipped
    shipped("mini_v2")
    assert "version 2 available" in _row(_html(as_owner.get(PRESETS)), "mini")
    html = _html(as_owner.get(PREVIEW))
    assert "Upgrading from version 1 to version 2 would do this:" in html
    assert "entity payment" in html.split('data-testid="preset-group-create"')[1]
    assert 'data-testid="preset-group-skip"' in html  # discount changes type: skipped
    assert 'name="demo_data"' not in html  # demo data only on a first install
    assert "Upgrade to version 2" in html
    assert "payment" not in _live_entities()  # the preview kept nothing

    job = _install(as_owner, django_capture_on_commit_callbacks, version="2", demo_data="on")

    # then
    assert job.status == Job.Status.DONE, job.message
    assert job.params["demo_data"] is False
    assert "payment" in _live_entities()
    assert PresetInstallation.objects.get(name="mini").version == 2
    page = _html(as_owner.get(reverse("ui:config-preset-job", args=[job.pk])))
    assert "Mini shop is upgraded from version 1 to version 2." in page
    assert "installed v2" in _row(_html(as_owner.get(PRESETS)), "mini")


def test_an_install_of_another_version_than_previewed_is_refused(as_owner, shipped):
    shipped("mini_v2")

    response = as_owner.post(INSTALL, {"version": "1"}, follow=True)

    assert "Mini shop is now version 2; look at its preview again." in _html(response)
    assert not Job.objects.filter(kind=PRESET_JOB).exists()


def test_the_progress_page_polls_the_live_progress(as_owner):
    job = Job.objects.create(
        kind=PRESET_JOB,
        title="Installing Mini shop version 1",
        status=Job.Status.RUNNING,
        progress_done=0,
        progress_total=1,
        message="Starting the install",
    )
    url = reverse("ui:config-preset-job", args=[job.pk])

    page = _html(as_owner.get(url))
    assert "<html" in page
    assert f'hx-get="{url}"' in page
    assert 'aria-valuenow="0"' in page
    assert "Starting the install" in page

    # the install's transaction reports through the cache; the poll gets the fragment
    cache.set(f"cardfile:{PRESET_JOB}-progress:{job.pk}", (30, 40, "create field order.total"))
    try:
        fragment = _html(as_owner.get(url, HTTP_HX_REQUEST="true"))
    finally:
        cache.delete(f"cardfile:{PRESET_JOB}-progress:{job.pk}")
    assert "<html" not in fragment
    assert 'aria-valuenow="75"' in fragment
    assert "create field order.total" in fragment

    # a failed install says why and stops polling
    Job.objects.filter(pk=job.pk).update(status=Job.Status.FAILED, message="No room left.")
    failed = _html(as_owner.get(url, HTTP_HX_REQUEST="true"))
    assert "No room left." in failed.split('data-testid="preset-problems"')[1]
    assert "hx-trigger" not in failed

    # a finished one reloads the whole page (its menu now has the new entities)
    Job.objects.filter(pk=job.pk).update(status=Job.Status.DONE, message="Done.")
    finished = as_owner.get(url, HTTP_HX_REQUEST="true")
    assert finished.status_code == 204
    assert finished["HX-Refresh"] == "true"

    # another kind of job is not shown here
    other = Job.objects.create(kind="setup", title="Setting up")
    assert as_owner.get(reverse("ui:config-preset-job", args=[other.pk])).status_code == 404


# -- a bad preset --------------------------------------------------------------------------------


def test_a_bad_presets_problems_are_listed(as_owner, shipped):
    folder = shipped("mini_v1")
    order = folder / "entities" / "order.yaml"
    order.write_text(order.read_text().replace("type: date", "type: texxt", 1))
    (folder / "entities" / "stray.yaml").write_text("slug: stray\nlabel: Stray\nfields: []\n")

    html = _html(as_owner.get(PREVIEW))

    problems = html.split('data-testid="preset-problems"')[1].split("</ul>")[0]
    items = re.findall(r"<li[^>]*>(.*?)</li>", problems, re.S)
    assert len(items) >= 2
    assert any(re.match(r"entities/order\.yaml: fields\[\d+\]\.type: ", i) for i in items), items
    assert any(i.startswith("entities/stray.yaml: ") for i in items), items
    assert 'data-testid="preset-install-form"' not in html
    assert not PresetInstallation.objects.exists()


def test_an_older_version_than_installed_is_refused_in_the_list_of_problems(as_owner, shipped):
    preset_install(source=FIXTURES / "mini_v2")
    shipped("mini_v1")

    html = _html(as_owner.get(PREVIEW))

    problems = html.split('data-testid="preset-problems"')[1].split("</ul>")[0]
    assert "preset.yaml: version: mini version 2 is installed; version 1 is older" in problems
    assert 'data-testid="preset-install-form"' not in html


def test_a_preset_broken_after_the_preview_fails_the_job_with_every_problem(
    as_owner, shipped, django_capture_on_commit_callbacks
):
    folder = shipped("mini_v1")
    assert 'data-testid="preset-install-form"' in _html(as_owner.get(PREVIEW))
    order = folder / "entities" / "order.yaml"
    order.write_text(order.read_text().replace("type: date", "type: texxt"))

    job = _install(as_owner, django_capture_on_commit_callbacks)

    assert job.status == Job.Status.FAILED
    html = _html(as_owner.get(reverse("ui:config-preset-job", args=[job.pk])))
    problems = html.split('data-testid="preset-problems"')[1].split("</ul>")[0]
    lines = re.findall(r"<li[^>]*>(.*?)</li>", problems, re.S)
    assert len(lines) == order.read_text().count("type: texxt") >= 2
    assert all(re.match(r"entities/order\.yaml: fields\[\d+\]\.type: ", line) for line in lines)
    assert "The install did not finish; nothing was changed." in html
    assert not PresetInstallation.objects.exists()
    assert "order" not in _live_entities()


# -- export --------------------------------------------------------------------------------------


def test_export_downloads_a_zip_of_the_configuration(as_owner):
    preset_install(source=FIXTURES / "mini_v1")

    response = as_owner.post(EXPORT, {"name": "my_shop"})

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == 'attachment; filename="my_shop.zip"'
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    names = archive.namelist()
    assert "my_shop/preset.yaml" in names
    assert {"my_shop/entities/client.yaml", "my_shop/roles.yaml"} <= set(names)
    manifest = yaml.safe_load(archive.read("my_shop/preset.yaml"))
    assert manifest["name"] == "my_shop"
    assert manifest["entities"][:1] == ["client"]
    # the same configuration gives the same bytes
    assert as_owner.post(EXPORT, {"name": "my_shop"}).content == response.content


def test_export_with_a_bad_name_says_what_a_name_is(as_owner):
    response = as_owner.post(EXPORT, {"name": "My Shop!"})

    assert response.status_code == 400
    html = _html(response)
    assert "A preset name is lowercase letters, digits and _, starting with a letter." in html
    assert 'value="My Shop!"' in html


# -- who may ---------------------------------------------------------------------------------------


def test_only_owners_see_presets(client, clerk, shipped):
    shipped("mini_v1")
    preset_install(source=FIXTURES / "mini_v1")
    grant(clerk, "client", ops=("read", "configure"))  # configures an entity, owns nothing
    client.force_login(clerk)
    job = Job.objects.create(kind=PRESET_JOB, title="Installing")
    refused = client.get(reverse("ui:config-roles"))
    assert refused.status_code == 403
    assert client.get(reverse("ui:config")).status_code == 200

    for response in (
        client.get(PRESETS),
        client.get(PREVIEW),
        client.get(reverse("ui:config-preset-job", args=[job.pk])),
        client.post(INSTALL, {"version": "1"}),
        client.post(EXPORT, {"name": "export"}),
    ):
        assert response.status_code == 403
        assert response.content == refused.content
    assert 'data-testid="config-nav-presets"' not in _html(client.get(reverse("ui:config")))
    assert list(Job.objects.filter(kind=PRESET_JOB).values_list("pk", flat=True)) == [job.pk]
