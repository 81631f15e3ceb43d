"""Users and branches (owners only), written through `cardfile.core.accounts` in the API's
shape: a user's roles by name and branches by id; deactivating is ``is_active`` false."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cardfile.core.accounts import (
    branch_as_dict,
    branch_create_from_data,
    branch_get,
    branch_list,
    branch_update,
    user_as_dict,
    user_create,
    user_get,
    user_list,
    user_update,
)
from cardfile.core.exceptions import CardfileError
from cardfile.metamodel.access.services import role_list

from .common import checkbox, owner_view, render_form


@owner_view
def user_index(request: HttpRequest) -> HttpResponse:
    users = [user_as_dict(u) for u in user_list()]
    branches = {b.pk: b.name for b in branch_list()}
    for data in users:
        data["branch_names"] = [branches.get(pk, pk) for pk in data["branches"]]
    return render(request, "ui/config/users.html", {"users": users, "section": "users"})


def _user_data(request: HttpRequest, *, creating: bool) -> dict[str, Any]:
    post = request.POST
    data: dict[str, Any] = {
        key: post.get(key, "").strip() for key in ("username", "email", "first_name", "last_name")
    }
    data["roles"] = post.getlist("roles")
    data["branches"] = [int(v) for v in post.getlist("branches") if v.isdigit()]
    data["is_active"] = checkbox(request, "is_active")
    password = post.get("password", "")
    if password or creating:
        data["password"] = password
    return data


def _render(request, values, target=None, error: CardfileError | None = None) -> HttpResponse:
    context = {
        "values": values,
        "target": target,
        "roles": role_list(),
        "branches": list(branch_list()),
        "section": "users",
    }
    return render_form(request, "ui/config/user_form.html", context, error=error)


@owner_view
def user_new(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _render(request, {"is_active": True, "roles": [], "branches": []})
    data = _user_data(request, creating=True)
    try:
        created = user_create(data=data, user=request.user)
    except CardfileError as error:
        return _render(request, {**data, "password": ""}, error=error)
    messages.success(request, _("User %(name)s created.") % {"name": created.username})
    return redirect("ui:config-users")


@owner_view
def user_edit(request: HttpRequest, username: str) -> HttpResponse:
    target = user_get(username)
    if request.method != "POST":
        return _render(request, user_as_dict(target), target)
    data = _user_data(request, creating=False)
    try:
        updated = user_update(username=username, data=data, user=request.user)
    except CardfileError as error:
        return _render(request, {**data, "password": ""}, target, error=error)
    messages.success(request, _("User %(name)s saved.") % {"name": updated.username})
    return redirect("ui:config-users")


@require_POST
@owner_view
def user_deactivate(request: HttpRequest, username: str) -> HttpResponse:
    """POST ``active`` = 0 or 1: switch the account off or back on."""
    active = request.POST.get("active") == "1"
    try:
        user_update(username=username, data={"is_active": active}, user=request.user)
    except CardfileError as error:
        messages.error(
            request,
            error.message
            if not hasattr(error, "errors")
            else " ".join(m for found in error.errors.values() for m in found),
        )
    else:
        text = (
            _("User %(name)s can sign in again.") if active else _("User %(name)s is deactivated.")
        )
        messages.success(request, text % {"name": username})
    return redirect("ui:config-users")


@owner_view
def branch_index(request: HttpRequest) -> HttpResponse:
    """The branches, and a form to add one."""
    context: dict[str, Any] = {"branches": list(branch_list()), "values": {}, "section": "branches"}
    if request.method != "POST":
        return render_form(request, "ui/config/branches.html", context)
    data = {key: request.POST.get(key, "") for key in ("name", "address", "phone")}
    try:
        branch = branch_create_from_data(data=data, user=request.user)
    except CardfileError as error:
        return render_form(
            request, "ui/config/branches.html", {**context, "values": data}, error=error
        )
    messages.success(request, _("Branch %(name)s created.") % {"name": branch.name})
    return redirect("ui:config-branches")


@owner_view
def branch_edit(request: HttpRequest, branch_id: int) -> HttpResponse:
    """Name, address, phone and whether the branch is active."""
    target = branch_get(branch_id)
    context: dict[str, Any] = {"target": target, "section": "branches"}
    if request.method != "POST":
        return render_form(
            request, "ui/config/branch_form.html", {**context, "values": branch_as_dict(target)}
        )
    data: dict[str, Any] = {key: request.POST.get(key, "") for key in ("name", "address", "phone")}
    data["is_active"] = checkbox(request, "is_active")
    try:
        branch = branch_update(branch_id=branch_id, data=data, user=request.user)
    except CardfileError as error:
        return render_form(
            request, "ui/config/branch_form.html", {**context, "values": data}, error=error
        )
    messages.success(request, _("Branch %(name)s saved.") % {"name": branch.name})
    return redirect("ui:config-branches")


urlpatterns = [
    path("users/", user_index, name="config-users"),
    path("users/new/", user_new, name="config-user-new"),
    path("users/<str:username>/", user_edit, name="config-user"),
    path("users/<str:username>/active/", user_deactivate, name="config-user-active"),
    path("branches/", branch_index, name="config-branches"),
    path("branches/<int:branch_id>/", branch_edit, name="config-branch"),
]
