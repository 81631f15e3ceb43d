"""Roles (owners only): label, description, the owner flag, and per entity the operations, the
field rules and the row rule, written through the access services in the API's shape."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _

from cardfile.core.exceptions import CardfileError
from cardfile.metamodel.access.rights import FIELD_RULES, OPERATIONS
from cardfile.metamodel.access.services import (
    role_as_dict,
    role_create,
    role_delete,
    role_get,
    role_list,
    role_update,
)
from cardfile.metamodel.models import EntityRights
from cardfile.metamodel.schema.dynamic import get_registry

from .common import FormErrors, checkbox, form_errors, owner_view, render_form


@owner_view
def role_index(request: HttpRequest) -> HttpResponse:
    registry = get_registry()
    roles = [(role, role_as_dict(role, registry)) for role in role_list()]
    return render(request, "ui/config/roles.html", {"roles": roles, "section": "roles"})


def _permissions_from_post(request: HttpRequest) -> dict[str, Any]:
    """``permissions`` for every entity of the form: its rights, or None for none at all."""
    post = request.POST
    permissions: dict[str, Any] = {}
    for schema in get_registry().entities():
        slug = schema.slug
        ops = {op: checkbox(request, f"perm-{slug}-{op}") for op in OPERATIONS}
        fields = {
            f.slug: post[f"fieldrule-{slug}-{f.slug}"]
            for f in schema.fields
            if post.get(f"fieldrule-{slug}-{f.slug}") in FIELD_RULES
        }
        rule = post.get(f"rule-{slug}", "").strip()
        if any(ops.values()) or fields or rule:
            permissions[slug] = {**ops, "fields": fields, "rule": rule}
        else:
            permissions[slug] = None
    return permissions


def _role_data(request: HttpRequest) -> dict[str, Any]:
    return {
        "name": request.POST.get("name", "").strip(),
        "label": request.POST.get("label", "").strip(),
        "description": request.POST.get("description", ""),
        "is_owner": checkbox(request, "is_owner"),
        "permissions": _permissions_from_post(request),
    }


def _entity_rows(values: dict[str, Any], errors: FormErrors) -> list[dict[str, Any]]:
    """One row per entity: its operations, field rules and row rule, each with its errors."""
    permissions = values.get("permissions") or {}
    rows = []
    for schema in get_registry().entities():
        rights = permissions.get(schema.slug) or {}
        prefix = f"permissions.{schema.slug}"
        field_rules = rights.get("fields") or {}
        rows.append(
            {
                "schema": schema,
                "ops": [(op, bool(rights.get(op))) for op in OPERATIONS],
                "fields": [
                    (
                        f,
                        field_rules.get(f.slug, ""),
                        errors.get(f"{prefix}.fields.{f.slug}", []),
                    )
                    for f in schema.fields
                ],
                "rule": rights.get("rule", ""),
                "rule_errors": errors.get(f"{prefix}.rule", []),
                "rule_formula": (errors.formula or {})
                if (errors.formula or {}).get("path") == f"{prefix}.rule"
                else None,
                "errors": [
                    m
                    for k, found in errors.items()
                    if k.startswith(prefix)
                    and not k.startswith((f"{prefix}.fields.", f"{prefix}.rule"))
                    for m in found
                ],
                "open": bool(rights) or any(k.startswith(prefix) for k in errors),
            }
        )
    return rows


def _render(request, values, role=None, error: CardfileError | None = None) -> HttpResponse:
    errors = FormErrors(*form_errors(error)) if error else FormErrors()
    context = {
        "values": values,
        "role": role,
        "rows": _entity_rows(values, errors),
        "operations": [EntityRights._meta.get_field(f"can_{op}").verbose_name for op in OPERATIONS],
        "section": "roles",
    }
    return render_form(request, "ui/config/role_form.html", context, error=error)


@owner_view
def role_new(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _render(request, {"is_owner": False, "permissions": {}})
    data = _role_data(request)
    try:
        role = role_create(data=data, user=request.user)
    except CardfileError as error:
        return _render(request, data, error=error)
    messages.success(request, _("Role %(label)s created.") % {"label": role.label})
    return redirect("ui:config-roles")


@owner_view
def role_edit(request: HttpRequest, name: str) -> HttpResponse:
    role = role_get(name)
    if request.method != "POST":
        return _render(request, role_as_dict(role), role)
    data = _role_data(request)
    try:
        updated = role_update(name=name, data=data, user=request.user)
    except CardfileError as error:
        return _render(request, data, role, error=error)
    messages.success(request, _("Role %(label)s saved.") % {"label": updated.label})
    return redirect("ui:config-roles")


@owner_view
def role_remove(request: HttpRequest, name: str) -> HttpResponse:
    role = role_get(name)
    if request.method != "POST":
        return render_form(request, "ui/config/role_delete.html", {"role": role})
    try:
        role_delete(name=name, user=request.user)
    except CardfileError as error:
        return render_form(request, "ui/config/role_delete.html", {"role": role}, error=error)
    messages.success(request, _("Role %(label)s deleted.") % {"label": role.label})
    return redirect("ui:config-roles")


urlpatterns = [
    path("roles/", role_index, name="config-roles"),
    path("roles/new/", role_new, name="config-role-new"),
    path("roles/<str:name>/", role_edit, name="config-role"),
    path("roles/<str:name>/delete/", role_remove, name="config-role-delete"),
]
