"""Record endpoints of every entity: list, create, read, change, trash, history, restore,
and the transitions a status field may make.

Views parse the request, call the record service or a selector and render `record_to_dict`.
Line entities (the target of a child table) have no endpoints: their lines are read and written
inside the parent record. The selectors and services apply the caller's rights; the views only
leave hidden fields out of what they render.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.urls import path
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cardfile.core.exceptions import NotFound
from cardfile.metamodel.access import Access, access_for
from cardfile.metamodel.models import Field
from cardfile.metamodel.records import (
    record_create,
    record_delete,
    record_get,
    record_history,
    record_restore,
    record_to_dict,
    record_update,
)
from cardfile.metamodel.records.filtering import (
    ListParamsError,
    expand_fields,
    record_detail,
    record_list,
)
from cardfile.metamodel.records.statuses import allowed_transitions, status_fields
from cardfile.metamodel.schema.dynamic import EntitySchema, SchemaRegistry, get_registry

from .errors import BadRequest
from .pagination import paginate, parse_flag

MAX_ID = 2**63 - 1


def _entity(slug: str) -> tuple[SchemaRegistry, EntitySchema]:
    """The entity behind the URL; line entities answer 404 with where their lines live."""
    registry = get_registry()
    schema = registry.entity(slug)
    if schema.parent_field is not None:
        parent = registry.entity_by_id(schema.parent_field.entity_id)
        raise NotFound(
            _(
                "%(lines)s records are lines of %(parent)s; read and write them through its "
                "field %(field)s at /api/v1/records/%(parent)s/."
            )
            % {"lines": slug, "parent": parent.slug, "field": schema.parent_field.slug},
            code="lines_of_parent",
        )
    return registry, schema


def _check_id(entity: str, record_id: int) -> None:
    if record_id > MAX_ID:  # beyond any id the database can hold
        raise NotFound(
            _("There is no %(entity)s #%(id)s.") % {"entity": entity, "id": record_id},
            code="not_found",
        )


def _expand(request: Request, schema: EntitySchema) -> list[Field]:
    try:
        return expand_fields(schema, request.query_params.get("expand"), access_for(request.user))
    except ListParamsError as error:
        raise BadRequest(error.errors) from None


def render(
    registry: SchemaRegistry,
    schema: EntitySchema,
    obj: models.Model,
    expand: list[Field],
    access: Access,
) -> dict[str, Any]:
    """A record as JSON, without the fields hidden from the caller; each expanded link holds
    the linked record instead of its id (only its id if the caller may not read that record)."""
    hide = None if access.unrestricted else access.hidden
    data = record_to_dict(schema, obj, registry=registry, hide=hide)
    for f in expand:
        linked = getattr(obj, f.attname)  # prefetched by the selector, within the rules
        target = registry.entity_by_id(f.options["target_id"])
        if linked is not None:
            data[f.slug] = record_to_dict(target, linked, registry=registry, hide=hide)
    return data


def _one(
    request: Request, entity: str, record_id: int, status_code: int = 200, *, written: bool = False
) -> Response:
    """One record as the caller may see it. After the caller ``written`` it, it is shown even
    if the change took it out of their row rules (they know what they wrote), still without
    hidden fields."""
    registry, schema = _entity(entity)
    expand = _expand(request, schema)
    obj = record_detail(entity, record_id, expand=expand, user=request.user, written=written)
    if obj is None:
        raise NotFound(
            _("There is no %(entity)s #%(id)s.") % {"entity": entity, "id": record_id},
            code="not_found",
        )
    access = access_for(request.user)
    return Response(render(registry, schema, obj, expand, access), status=status_code)


class RecordListView(APIView):
    """``GET``: a filtered, sorted page of records; ``POST``: create one."""

    def get(self, request: Request, entity: str) -> Response:
        registry, schema = _entity(entity)
        expand = _expand(request, schema)
        in_trash = parse_flag(request, "trash")
        try:
            queryset = record_list(
                entity, request.query_params, in_trash=in_trash, expand=expand, user=request.user
            )
        except ListParamsError as error:
            raise BadRequest(error.errors, formula=error.formula) from None
        page = paginate(request, queryset)
        access = access_for(request.user)
        return Response(
            page.body([render(registry, schema, o, expand, access) for o in page.objects])
        )

    def post(self, request: Request, entity: str) -> Response:
        _entity(entity)
        data = request.data
        branch = data.get("branch") if isinstance(data, dict) else None
        obj = record_create(entity=entity, data=data, user=request.user, branch=branch)
        return _one(request, entity, obj.pk, status.HTTP_201_CREATED, written=True)


class RecordDetailView(APIView):
    """``GET`` one record, ``PATCH`` it (based on its ``version``), ``DELETE`` it to the trash."""

    def get(self, request: Request, entity: str, record_id: int) -> Response:
        _check_id(entity, record_id)
        return _one(request, entity, record_id)

    def patch(self, request: Request, entity: str, record_id: int) -> Response:
        _entity(entity)
        _check_id(entity, record_id)
        record_update(entity=entity, record_id=record_id, data=request.data, user=request.user)
        return _one(request, entity, record_id, written=True)

    def delete(self, request: Request, entity: str, record_id: int) -> Response:
        _entity(entity)
        _check_id(entity, record_id)
        record_delete(entity=entity, record_id=record_id, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class RecordHistoryView(APIView):
    """``GET`` who changed what and when, oldest first (also for a record in the trash)."""

    def get(self, request: Request, entity: str, record_id: int) -> Response:
        _entity(entity)
        _check_id(entity, record_id)
        results = record_history(entity, record_id, user=request.user)
        record_get(entity, record_id, include_trash=True)  # a record that never was: 404
        return Response({"results": results})


class RecordRestoreView(APIView):
    """``POST`` brings a record back from the trash and answers the restored record."""

    def post(self, request: Request, entity: str, record_id: int) -> Response:
        _entity(entity)
        _check_id(entity, record_id)
        record_restore(entity=entity, record_id=record_id, user=request.user)
        return _one(request, entity, record_id, written=True)


class RecordTransitionsView(APIView):
    """``GET`` each status field's current state and the states the caller may move it to."""

    def get(self, request: Request, entity: str, record_id: int) -> Response:
        _check_id(entity, record_id)
        registry, schema = _entity(entity)
        obj = record_detail(entity, record_id, expand=[], user=request.user)
        if obj is None:
            raise NotFound(
                _("There is no %(entity)s #%(id)s.") % {"entity": entity, "id": record_id},
                code="not_found",
            )
        access = access_for(request.user)
        hidden = frozenset() if access.unrestricted else access.hidden(schema)
        body = {}
        for f in status_fields(schema):
            if f.pk in hidden:
                continue
            body[f.slug] = {
                "current": getattr(obj, f.attname),
                "allowed": allowed_transitions(schema, f, obj, request.user),
            }
        return Response(body)


urlpatterns = [
    path("<slug:entity>/", RecordListView.as_view(), name="record-list"),
    path("<slug:entity>/<int:record_id>/", RecordDetailView.as_view(), name="record-detail"),
    path(
        "<slug:entity>/<int:record_id>/history/",
        RecordHistoryView.as_view(),
        name="record-history",
    ),
    path(
        "<slug:entity>/<int:record_id>/transitions/",
        RecordTransitionsView.as_view(),
        name="record-transitions",
    ),
    path(
        "<slug:entity>/<int:record_id>/restore/",
        RecordRestoreView.as_view(),
        name="record-restore",
    ),
]
