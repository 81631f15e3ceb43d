"""Presets, for owners: the shipped presets and those installed here with their state, a
preview of what installing or upgrading one would do (a dry run: the plan, nothing kept), the
install itself as a job behind a progress bar, and the running configuration exported as a
zip of a preset folder.

Only shipped presets are installed from here, by name: a folder on the server is the CLI's
business (`cardfile preset install FOLDER`), so no request names a path to read."""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from cardfile.core.models import Job
from cardfile.presets.loader import MANIFEST_FILE
from cardfile.presets.selectors import installed_presets, preset_list, shipped_preset
from cardfile.presets.services import (
    InstallResult,
    PresetError,
    PresetInvalid,
    PresetProblem,
    preset_export,
    preset_install,
)
from cardfile.web.jobs import PRESET_JOB, STEPS_SEPARATOR, job_live_progress, preset_job_start

from .common import checkbox, owner_view

POLL_SECONDS = 1
# the plan's groups, in this order; the first four are always shown, with their counts
PLAN_ACTIONS = ("create", "update", "keep", "skip", "load")
SHOWN_ALWAYS = ("create", "update", "keep", "skip")
# a group of the plan this long or shorter is shown open; longer ones show their count only
OPEN_GROUP_STEPS = 15
# a fixed time stamp for the zip's entries, so the same configuration gives the same bytes
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def _action_labels() -> dict[str, str]:
    return {
        "create": _("Create"),
        "update": _("Update"),
        "keep": _("Keep (changed here)"),
        "skip": _("Skip"),
        "load": _("Load demo data"),
    }


class ExportForm(forms.Form):
    name = forms.RegexField(
        regex=r"^[a-z][a-z0-9_]*$",
        max_length=63,
        initial="export",
        label=gettext_lazy("Preset name"),
        help_text=gettext_lazy("Lowercase letters, digits and _, starting with a letter."),
        error_messages={
            "invalid": gettext_lazy(
                "A preset name is lowercase letters, digits and _, starting with a letter."
            )
        },
    )


# -- the list ------------------------------------------------------------------------------------


def _state(version: Any, installed: int | None) -> tuple[str, str]:
    """``(code, text)`` of a shipped preset here: not installed, installed, newer available."""
    if not isinstance(version, int) or isinstance(version, bool):
        return "unreadable", _("cannot be read")
    if installed is None:
        return "absent", _("not installed")
    if version > installed:
        return "available", _("version %(version)d available") % {"version": version}
    if version < installed:
        return "newer", _("installed v%(installed)d, newer than this one") % {
            "installed": installed
        }
    return "installed", _("installed v%(installed)d") % {"installed": installed}


def _index(
    request: HttpRequest, export_form: ExportForm | None = None, status: int = 200
) -> HttpResponse:
    shipped = preset_list()
    for preset in shipped:
        preset["state"], preset["state_text"] = _state(
            preset["version"], preset["installed_version"]
        )
    names = {p["name"] for p in shipped}
    others = [p for p in installed_presets() if p.name not in names]
    context = {
        "presets": shipped,
        "others": others,
        "export_form": export_form or ExportForm(),
        "section": "presets",
    }
    return render(request, "ui/config/presets.html", context, status=status)


@require_GET
@owner_view
def preset_index(request: HttpRequest) -> HttpResponse:
    return _index(request)


# -- preview and install -------------------------------------------------------------------------


def _shipped_or_404(name: str) -> dict[str, Any]:
    preset = shipped_preset(name)
    if preset is None:
        raise Http404(_("There is no shipped preset %(name)s.") % {"name": name})
    return preset


def _problems(error: PresetError) -> list[PresetProblem]:
    """A refusal as the list the page shows: every problem of an invalid preset, else the one
    message (a version refused belongs to the manifest's version)."""
    if isinstance(error, PresetInvalid) and error.errors:
        return error.errors
    return [PresetProblem(MANIFEST_FILE, "version", error.message)]


def _plan_groups(plan: InstallResult) -> list[dict[str, Any]]:
    labels = _action_labels()
    groups = []
    for action in (*PLAN_ACTIONS, *sorted({s.action for s in plan.steps} - set(PLAN_ACTIONS))):
        steps = [s for s in plan.steps if s.action == action]
        if steps or action in SHOWN_ALWAYS:
            groups.append(
                {
                    "action": action,
                    "label": labels.get(action, action),
                    "steps": steps,
                    "open": len(steps) <= OPEN_GROUP_STEPS,
                }
            )
    return groups


@require_GET
@owner_view
def preset_preview(request: HttpRequest, name: str) -> HttpResponse:
    preset = _shipped_or_404(name)
    preset["state"], preset["state_text"] = _state(preset["version"], preset["installed_version"])
    context: dict[str, Any] = {"preset": preset, "section": "presets", "problems": []}
    try:
        plan = preset_install(source=preset["path"], dry_run=True, user=request.user)
    except PresetError as error:
        context["problems"] = _problems(error)
    else:
        context["plan"] = plan
        context["groups"] = _plan_groups(plan)
        context["first_install"] = plan.previous_version is None
        context["nothing_to_do"] = plan.previous_version == plan.version and not plan.steps
    return render(request, "ui/config/presets_preview.html", context)


@require_POST
@owner_view
def preset_install_start(request: HttpRequest, name: str) -> HttpResponse:
    preset = _shipped_or_404(name)
    previewed = request.POST.get("version", "")
    if str(preset["version"]) != previewed:
        messages.error(
            request,
            _("%(title)s is now version %(version)s; look at its preview again.")
            % {"title": preset["title"], "version": preset["version"]},
        )
        return redirect("ui:config-preset", name)
    installed = preset["installed_version"]
    if installed is not None and installed >= preset["version"]:
        messages.info(
            request,
            _("%(title)s version %(version)d is installed; there is nothing to do.")
            % {"title": preset["title"], "version": installed},
        )
        return redirect("ui:config-presets")
    job = preset_job_start(
        name=name,
        title=preset["title"],
        version=preset["version"],
        demo_data=installed is None and checkbox(request, "demo_data"),
        user=request.user,
    )
    return redirect("ui:config-preset-job", job.pk)


@require_GET
@owner_view
def preset_job_progress(request: HttpRequest, job_id: int) -> HttpResponse:
    job = get_object_or_404(Job, pk=job_id, kind=PRESET_JOB)
    percent, message = job_live_progress(job)
    done = job.status == Job.Status.DONE
    failed = job.status in (Job.Status.FAILED, Job.Status.CANCELLED)
    summary, _sep, steps = message.partition(STEPS_SEPARATOR) if done else (message, "", "")
    context = {
        "job": job,
        "percent": percent,
        "message": message,
        "done": done,
        "failed": failed,
        "summary": summary.splitlines(),
        "steps": steps.splitlines(),
        "problems": message.splitlines() if failed else [],
        "poll_seconds": POLL_SECONDS,
        "section": "presets",
    }
    if request.htmx and done:
        # the whole page again: the menu shows the entities the install made
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    template = "ui/config/_preset_progress.html" if request.htmx else "ui/config/presets_job.html"
    return render(request, template, context)


# -- export --------------------------------------------------------------------------------------


@require_POST
@owner_view
def preset_export_zip(request: HttpRequest) -> HttpResponse:
    form = ExportForm(request.POST)
    if not form.is_valid():
        return _index(request, form, status=400)
    name = form.cleaned_data["name"]
    buffer = io.BytesIO()
    with tempfile.TemporaryDirectory(prefix="cardfile-export-") as folder:
        try:
            written = preset_export(directory=folder, name=name)
        except PresetError as error:
            form.add_error("name", error.message)
            return _index(request, form, status=400)
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for file in sorted(written):
                relative = Path(file).relative_to(folder).as_posix()
                entry = zipfile.ZipInfo(f"{name}/{relative}", date_time=ZIP_TIME)
                entry.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(entry, Path(file).read_bytes())
    response = HttpResponse(buffer.getvalue(), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{name}.zip"'
    return response


urlpatterns = [
    path("presets/", preset_index, name="config-presets"),
    path("presets/export/", preset_export_zip, name="config-presets-export"),
    path("presets/jobs/<int:job_id>/", preset_job_progress, name="config-preset-job"),
    path("presets/<slug:name>/preview/", preset_preview, name="config-preset"),
    path("presets/<slug:name>/install/", preset_install_start, name="config-preset-install"),
]
