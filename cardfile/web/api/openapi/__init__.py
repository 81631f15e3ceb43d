"""The OpenAPI 3.1 document of the API, built from the current schema, and the page showing it.

drf-spectacular cannot see records: their serializers do not exist until the schema registry
builds models at run time. So the document is put together by hand here: the fixed parts (auth,
meta endpoints, error shapes) once, and each entity's record endpoints from its fields, each
field's JSON value described by its type's `value_schema`.

The document describes only what the caller may see (`Shown`): the entities they read, the
operations they have and the fields not hidden from them. It is cached per schema version,
language and rights signature, so callers with the same rights share one document.
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cardfile.metamodel.access import Access, access_for
from cardfile.metamodel.schema.dynamic import SchemaRegistry, get_registry

from .fixed import _auth_paths, _fixed_components, _meta_paths
from .jobs import _job_components, _job_paths
from .parts import API_VERSION, OPENAPI_VERSION
from .records import _record_components, _record_paths
from .rights import Shown


def build_document(registry: SchemaRegistry, access: Access | None = None) -> dict[str, Any]:
    """The whole document for one schema version, as ``access`` may see it (None: all)."""
    return _build(Shown(registry, access))


def _build(shown: Shown) -> dict[str, Any]:
    registry = shown.registry
    paths: dict[str, Any] = {**_auth_paths(), **_meta_paths(), **_job_paths()}
    tags = [
        {"name": "auth"},
        {"name": "meta", "description": _("Entities and fields.")},
        {"name": "jobs", "description": _("Long-running work and its progress.")},
    ]
    for schema in registry.entities():
        if schema.parent_field is not None:
            continue  # lines are read and written inside their parent
        if not shown.described(schema):
            continue
        paths.update(_record_paths(shown, schema))
        tags.append({"name": schema.slug, "description": schema.entity.label})
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": _("Cardfile API"),
            "version": API_VERSION,
            "description": _(
                "Records of every entity and the schema itself. Errors: 400 "
                '{"errors": {"<field>": ["message"]}}; 403, 404 and 409 with a "detail".'
            ),
        },
        "paths": paths,
        "components": {
            "schemas": {
                **_fixed_components(),
                **_job_components(),
                **_record_components(shown),
            },
            "securitySchemes": {
                "tokenAuth": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": _("Token <token>, from POST /api/v1/auth/token/."),
                },
                "sessionAuth": {"type": "apiKey", "in": "cookie", "name": "sessionid"},
            },
        },
        "security": [{"tokenAuth": []}, {"sessionAuth": []}],
        "tags": tags,
    }


# One document per schema version, language and rights signature, built once per process.
_documents: OrderedDict[tuple[Any, ...], dict[str, Any]] = OrderedDict()
_documents_lock = threading.Lock()
_DOCUMENTS_KEPT = 32


def current_document(user: Any = None) -> dict[str, Any]:
    """The document as ``user`` may see it (None: the system, everything)."""
    registry = get_registry()
    shown = Shown(registry, access_for(user) if user is not None else None)
    key = (registry.token, get_language() or "", shown.signature())
    with _documents_lock:
        document = _documents.get(key)
        if document is not None:
            _documents.move_to_end(key)
    if document is None:
        document = _build(shown)
        with _documents_lock:
            _documents[key] = document
            while len(_documents) > _DOCUMENTS_KEPT:
                _documents.popitem(last=False)
    return copy.deepcopy(document)


# -- views -------------------------------------------------------------------------------------


class SchemaView(APIView):
    """``GET /api/schema/``: the OpenAPI document of the current schema as the signed-in
    caller may see it."""

    def get(self, request: Request) -> Response:
        return Response(current_document(request.user))


def docs_view(request: HttpRequest) -> HttpResponse:
    """Swagger UI (from drf-spectacular-sidecar's static files) on /api/schema/, with the
    browser's session."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path(), reverse("admin:login"))
    context = {"schema_url": reverse("api-schema"), "csrf_value": get_token(request)}
    return render(request, "api/docs.html", context)


urlpatterns = [
    path("schema/", SchemaView.as_view(), name="api-schema"),
    path("docs/", docs_view, name="api-docs"),
]
