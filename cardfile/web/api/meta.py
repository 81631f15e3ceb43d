"""The schema API under /api/v1/meta/: entities, fields, trash, type changes, archived columns.

Views parse the body, call one schema service and render its dict; the services validate, lock,
run the DDL and bump the schema token, so the next request in any process sees the change.

Who may do what goes through `cardfile.metamodel.access`: owners configure everything; a role
with ``configure`` on an entity changes that entity and its fields (and sees all of it); other
users read the definitions of the entities they may read, without the fields hidden from them
and without formulas that read what they may not. Creating entities and the trash of entities
are for owners.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cardfile.core.exceptions import NotFound
from cardfile.formula_engine import FormulaError
from cardfile.formula_engine.semantics import to_text
from cardfile.metamodel.access import access_for
from cardfile.metamodel.access.definitions import (
    DefinitionReader,
    definition_reader,
    formula_check_as,
    formula_value_as,
    hidden_field_not_found,
    refuse_hidden_rules,
    refuse_side_channels,
    require_configure,
    require_configure_trashed,
    require_owner,
)
from cardfile.metamodel.formulas import (
    formula_value_json,
)
from cardfile.metamodel.formulas.draft import draft_open
from cardfile.metamodel.models import ArchivedColumn, Entity, Field
from cardfile.metamodel.schema.conversion import (
    archived_column_restore,
    conversion_preview,
    field_archived_columns,
)
from cardfile.metamodel.schema.dynamic import get_registry
from cardfile.metamodel.schema.selectors import (
    entity_fields,
    entity_list,
    trash_entities,
    trash_fields,
)
from cardfile.metamodel.schema.services import (
    SchemaValidationError,
    entity_as_dict,
    entity_create,
    entity_delete,
    entity_get,
    entity_purge,
    entity_restore,
    entity_update,
    field_as_dict,
    field_create,
    field_delete,
    field_get,
    field_public_options,
    field_purge,
    field_restore,
    field_update,
)

from .errors import BadRequest, bad_formula

ENTITY_CREATE_KEYS = ("slug", "label", "label_plural", "description")
ENTITY_UPDATE_KEYS = (
    "slug",
    "label",
    "label_plural",
    "description",
    "title_field",
    "position",
    "validation_rules",
)
FIELD_KEYS = (
    "slug",
    "label",
    "type",
    "required",
    "unique",
    "indexed",
    "default",
    "default_formula",
    "options",
    "help_text",
    "position",
)
# The JSON type each attribute must have; checked here so a wrong type is a 400, not a 500.
_EXPECTED: dict[str, tuple[type, ...]] = {
    "slug": (str,),
    "label": (str,),
    "label_plural": (str,),
    "description": (str,),
    "title_field": (str, type(None)),
    "position": (int,),
    "type": (str,),
    "required": (bool,),
    "unique": (bool,),
    "indexed": (bool,),
    "options": (dict, type(None)),
    "default_formula": (str,),
    "validation_rules": (list,),
    "help_text": (str,),
    "confirm": (bool,),
}


class MetaView(APIView):
    """Signed-in users; each method asks `access_for` what the caller may do."""

    permission_classes = [IsAuthenticated]


def _body(request: Request, allowed: tuple[str, ...]) -> dict[str, Any]:
    """The JSON object of the request, limited to ``allowed`` keys with the expected types."""
    data = request.data
    if not isinstance(data, dict):
        raise SchemaValidationError({"non_field_errors": [_("Expected a JSON object.")]})
    data = data.dict() if hasattr(data, "dict") else dict(data)
    errors: dict[str, list[str]] = {}
    for key, value in data.items():
        if key not in allowed:
            errors[key] = [_("Unknown or read-only attribute.")]
        elif key in _EXPECTED and not _is_a(value, _EXPECTED[key]):
            errors[key] = [_("Expected %(type)s.") % {"type": _type_name(_EXPECTED[key])}]
    if errors:
        raise SchemaValidationError(errors)
    return data


def _is_a(value: Any, types: tuple[type, ...]) -> bool:
    if isinstance(value, bool) and bool not in types:
        return False  # True is an int in Python, not in JSON
    return isinstance(value, types)


def _type_name(types: tuple[type, ...]) -> str:
    names = {
        str: _("a string"),
        int: _("an integer"),
        bool: _("true or false"),
        dict: _("an object"),
        type(None): _("null"),
    }
    return _(" or ").join(str(names[t]) for t in types)


def entity_detail(entity: Entity) -> dict[str, Any]:
    return {**entity_as_dict(entity), "fields": [field_as_dict(f) for f in entity_fields(entity)]}


def archived_as_dict(archived: ArchivedColumn) -> dict[str, Any]:
    return {
        "id": archived.pk,
        "type": archived.type,
        "options": field_public_options(Field(options=archived.options)),
        "default": archived.default,
        "archived_at": archived.archived_at.isoformat(),
        "archived_by": archived.archived_by_id,
        "failed_count": archived.failed_count,
    }


# -- entities ----------------------------------------------------------------------------------


class EntityListView(MetaView):
    def get(self, request: Request) -> Response:
        """The entities the caller may read or configure."""
        access = access_for(request.user)
        if access.can_configure():
            return Response([entity_as_dict(e) for e in entity_list()])
        registry = get_registry()
        listed = []
        for e in entity_list():
            try:
                schema = registry.entity_by_id(e.pk)
            except NotFound:
                continue
            if access.can_configure(schema):
                listed.append(entity_as_dict(e))
            elif access.can("read", schema):
                listed.append(DefinitionReader(access, schema).entity(e))
        return Response(listed)

    def post(self, request: Request) -> Response:
        require_owner(request.user, _("Only owners can create entities."))
        data = _body(request, ENTITY_CREATE_KEYS)
        entity = entity_create(
            slug=data.get("slug", ""),
            label=data.get("label", ""),
            label_plural=data.get("label_plural", ""),
            description=data.get("description", ""),
            user=request.user,
        )
        return Response(entity_detail(entity), status=status.HTTP_201_CREATED)


class EntityDetailView(MetaView):
    def get(self, request: Request, entity: str) -> Response:
        reader = definition_reader(request.user, entity)
        obj = entity_get(entity)
        if reader is None:
            return Response(entity_detail(obj))
        return Response({**reader.entity(obj), "fields": reader.fields(entity_fields(obj))})

    def patch(self, request: Request, entity: str) -> Response:
        access = require_configure(request.user, entity)
        changes = _body(request, ENTITY_UPDATE_KEYS)
        refuse_hidden_rules(access, entity, changes.get("validation_rules"))
        return Response(entity_detail(entity_update(entity=entity, user=request.user, **changes)))

    def delete(self, request: Request, entity: str) -> Response:
        require_configure(request.user, entity)
        entity_delete(entity=entity, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# -- fields ------------------------------------------------------------------------------------


class FieldListView(MetaView):
    def get(self, request: Request, entity: str) -> Response:
        reader = definition_reader(request.user, entity)
        fields = entity_fields(entity_get(entity))
        if reader is None:
            return Response([field_as_dict(f) for f in fields])
        return Response(reader.fields(fields))

    def post(self, request: Request, entity: str) -> Response:
        access = require_configure(request.user, entity)
        data = _body(request, FIELD_KEYS)
        refuse_side_channels(access, entity, data)
        created = field_create(
            entity=entity,
            slug=data.pop("slug", ""),
            label=data.pop("label", ""),
            type=data.pop("type", ""),
            user=request.user,
            **data,
        )
        return Response(field_as_dict(created), status=status.HTTP_201_CREATED)


class FieldDetailView(MetaView):
    def get(self, request: Request, entity: str, field: str) -> Response:
        reader = definition_reader(request.user, entity)
        f = field_get(entity_get(entity), field)
        if reader is None:
            return Response(field_as_dict(f))
        if f.pk in reader.hidden:
            raise hidden_field_not_found(entity, field)
        return Response(reader.field(f))

    def patch(self, request: Request, entity: str, field: str) -> Response:
        """Rename (``slug``), relabel, change options, or change ``type`` (with ``options``);
        a change that would lose values is refused with 409 unless ``"confirm": true``."""
        access = require_configure(request.user, entity)
        changes = _body(request, (*FIELD_KEYS, "confirm"))
        if not access.can_configure():
            refuse_side_channels(
                access, entity, changes, current=field_get(entity_get(entity), field)
            )
        confirm = changes.pop("confirm", False)
        updated = field_update(
            entity=entity, field=field, confirm=confirm, user=request.user, **changes
        )
        return Response(field_as_dict(updated))

    def delete(self, request: Request, entity: str, field: str) -> Response:
        require_configure(request.user, entity)
        field_delete(entity=entity, field=field, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ConversionPreviewView(MetaView):
    def post(self, request: Request, entity: str, field: str) -> Response:
        require_configure(request.user, entity)
        data = _body(request, ("type", "options"))
        current = field_get(entity_get(entity), field)
        preview = conversion_preview(
            entity=entity,
            field=field,
            new_type=data.get("type") or current.type,
            options=data.get("options"),
        )
        return Response(asdict(preview))


class FormulaCheckView(APIView):
    """``POST {"expression", "record"?, "values"?}``: the formula's type and the fields it reads,
    or the error with its position; with ``record`` also its value for that record (live
    previews); with ``values`` (a draft record's field values as the record API takes them) its
    value for that unsaved draft (of a new record, or of changes to ``record``).

    The caller must read the entity; a formula reading a field hidden from them, or an entity
    they may not read, is refused naming it; a record outside their row rules is not found."""

    permission_classes = [IsAuthenticated]

    def post(self, request: Request, entity: str) -> Response:
        data = request.data if isinstance(request.data, dict) else {}
        expression, record = data.get("expression"), data.get("record")
        errors: dict[str, list[str]] = {}
        if not isinstance(expression, str):
            errors["expression"] = [_("Give the formula as a string.")]
        if record is not None and (isinstance(record, bool) or not isinstance(record, int)):
            errors["record"] = [_("Expected a record id.")]
        values = data.get("values")
        if values is not None and not isinstance(values, dict):
            errors["values"] = [_("Give the draft record's values as an object.")]
        unknown = set(data) - {"expression", "record", "values"}
        for key in sorted(unknown):
            errors[key] = [_("Unknown attribute.")]
        if errors:
            raise BadRequest(errors)
        access = access_for(request.user)
        try:
            checked = formula_check_as(access, entity, expression)
        except FormulaError as error:
            raise bad_formula("expression", error) from None
        body: dict[str, Any] = {
            "type": checked.type.kind.value,
            "currency": checked.type.currency,
            "target": checked.type.target,
            "dependencies": sorted(".".join(path) for path in checked.dependencies),
        }
        if values is not None:
            try:
                draft = draft_open(
                    entity=entity, values=values, user=request.user, record_id=record
                )
                value = draft.evaluate(checked)
            except FormulaError as error:
                raise bad_formula("values", error) from None
            body["value"] = formula_value_json(checked.type, value)
            body["text"] = to_text(value, timezone.get_default_timezone())
        elif record is not None:
            try:
                value = formula_value_as(access, entity, checked, record)
            except FormulaError as error:
                raise bad_formula("record", error) from None
            body["value"] = formula_value_json(checked.type, value)
            body["text"] = to_text(value, timezone.get_default_timezone())
        return Response(body)


class ArchivedColumnListView(MetaView):
    def get(self, request: Request, entity: str, field: str) -> Response:
        require_configure(request.user, entity)
        f = field_get(entity_get(entity), field)
        return Response([archived_as_dict(a) for a in field_archived_columns(f)])


class ArchivedColumnRestoreView(MetaView):
    def post(self, request: Request, entity: str, field: str, archived_id: int) -> Response:
        require_configure(request.user, entity)
        f = field_get(entity_get(entity), field)
        if all(a.pk != archived_id for a in field_archived_columns(f)):
            raise NotFound(
                _("%(field)s has no archived column %(id)s.")
                % {"field": f"{entity}.{field}", "id": archived_id},
                code="unknown_archived_column",
            )
        restored = archived_column_restore(archived_id=archived_id, user=request.user)
        return Response(field_as_dict(restored))


# -- trash -------------------------------------------------------------------------------------


class TrashView(MetaView):
    """Trashed entities and fields by id: a slug may have been taken again since."""

    def get(self, request: Request) -> Response:
        require_owner(request.user, _("Only owners can see the trash of the schema."))
        entities, fields = trash_entities(), trash_fields()
        return Response(
            {
                "entities": [
                    {
                        "id": e.pk,
                        "slug": e.slug,
                        "label": e.label,
                        "deleted_at": e.deleted_at.isoformat(),
                    }
                    for e in entities
                ],
                "fields": [
                    {
                        "id": f.pk,
                        "entity": f.entity.slug,
                        "entity_in_trash": f.entity.deleted_at is not None,
                        "slug": f.slug,
                        "label": f.label,
                        "type": f.type,
                        "deleted_at": f.deleted_at.isoformat(),
                    }
                    for f in fields
                ],
            }
        )


class TrashedEntityRestoreView(MetaView):
    def post(self, request: Request, entity_id: int) -> Response:
        require_owner(request.user, _("Only owners can restore entities from the trash."))
        slug = _body(request, ("slug",)).get("slug")
        entity = entity_restore(entity_id=entity_id, slug=slug, user=request.user)
        return Response(entity_detail(entity))


class TrashedEntityView(MetaView):
    def delete(self, request: Request, entity_id: int) -> Response:
        """Purge: drop the table for good."""
        require_owner(request.user, _("Only owners can purge entities from the trash."))
        entity_purge(entity_id=entity_id, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TrashedFieldRestoreView(MetaView):
    def post(self, request: Request, field_id: int) -> Response:
        require_configure_trashed(request.user, field_id)
        slug = _body(request, ("slug",)).get("slug")
        restored = field_restore(field_id=field_id, slug=slug, user=request.user)
        return Response(field_as_dict(restored))


class TrashedFieldView(MetaView):
    def delete(self, request: Request, field_id: int) -> Response:
        """Purge: drop the field's columns for good."""
        require_configure_trashed(request.user, field_id)
        field_purge(field_id=field_id, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


_FIELD = "entities/<str:entity>/fields/<str:field>/"

urlpatterns = [
    path("entities/", EntityListView.as_view(), name="meta-entity-list"),
    path("entities/<str:entity>/", EntityDetailView.as_view(), name="meta-entity-detail"),
    path("entities/<str:entity>/fields/", FieldListView.as_view(), name="meta-field-list"),
    path(
        "entities/<str:entity>/formula-check/",
        FormulaCheckView.as_view(),
        name="meta-formula-check",
    ),
    path(_FIELD, FieldDetailView.as_view(), name="meta-field-detail"),
    path(
        _FIELD + "conversion-preview/",
        ConversionPreviewView.as_view(),
        name="meta-field-conversion-preview",
    ),
    path(
        _FIELD + "archived-columns/",
        ArchivedColumnListView.as_view(),
        name="meta-field-archived-columns",
    ),
    path(
        _FIELD + "archived-columns/<int:archived_id>/restore/",
        ArchivedColumnRestoreView.as_view(),
        name="meta-field-archived-column-restore",
    ),
    path("trash/", TrashView.as_view(), name="meta-trash"),
    path("trash/entities/<int:entity_id>/", TrashedEntityView.as_view(), name="meta-trash-entity"),
    path(
        "trash/entities/<int:entity_id>/restore/",
        TrashedEntityRestoreView.as_view(),
        name="meta-trash-entity-restore",
    ),
    path("trash/fields/<int:field_id>/", TrashedFieldView.as_view(), name="meta-trash-field"),
    path(
        "trash/fields/<int:field_id>/restore/",
        TrashedFieldRestoreView.as_view(),
        name="meta-trash-field-restore",
    ),
]
