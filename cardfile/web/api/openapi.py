"""The OpenAPI 3.1 document of the API, built from the current schema, and the page showing it.

drf-spectacular cannot see records: their serializers do not exist until the schema registry
builds models at run time. So the document is put together by hand here: the fixed parts (auth,
meta endpoints, error shapes) once, and each entity's record endpoints from its fields, each
field's JSON value described by its type's `value_schema`.
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

from cardfile.metamodel.fields import field_type_names, get_field_type
from cardfile.metamodel.models import Field
from cardfile.metamodel.records.filtering import UNSORTABLE_TYPES
from cardfile.metamodel.schema.dynamic import EntitySchema, SchemaRegistry, get_registry

from .pagination import DEFAULT_PAGE_SIZE, MAX_PAGE, MAX_PAGE_SIZE

OPENAPI_VERSION = "3.1.0"
API_VERSION = "1"
MAX_ID = 2**63 - 1
JSON = "application/json"

_ID = {"type": "integer", "format": "int64", "minimum": 1, "maximum": MAX_ID}
_SLUG = {"type": "string", "pattern": "^[a-z][a-z0-9_]*$", "maxLength": 63}
_SYSTEM_FILTERS = {"id": "integer", "created_at": "datetime", "updated_at": "datetime"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _body(schema: dict[str, Any], *, required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {JSON: {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    described = {
        400: (_ref("ValidationError"), _("The input was not valid.")),
        401: (_ref("Error"), _("Not signed in.")),
        403: (_ref("Error"), _("Not signed in, or not allowed.")),
        404: (_ref("Error"), _("Not found.")),
        409: (_ref("Conflict"), _("The change conflicts with the current state.")),
    }
    return {str(code): _json(*described[code]) for code in codes}


def _operation(
    operation_id: str,
    summary: str,
    tag: str,
    responses: dict[str, Any],
    *,
    parameters: list[dict[str, Any]] | None = None,
    body: dict[str, Any] | None = None,
    errors: tuple[int, ...] = (403,),
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": operation_id,
        "summary": summary,
        "tags": [tag],
        "responses": {**responses, **_errors(*errors)},
    }
    if parameters:
        operation["parameters"] = parameters
    if body is not None:
        operation["requestBody"] = body
    return operation


def _path_param(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": schema,
        "description": description,
    }


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


# -- records -----------------------------------------------------------------------------------


def _record_name(schema: EntitySchema) -> str:
    # Slugs are lowercase and never contain dots: no clash with the fixed (capitalised) names.
    return schema.slug


def _response_value(registry: SchemaRegistry, f: Field) -> dict[str, Any]:
    """A field's value in a record the API answers with."""
    ftype = get_field_type(f.type)
    if f.type == "child_table":
        target = registry.entity_by_id(f.options["target_id"])
        return {"type": "array", "items": _ref(_record_name(target))}
    if f.type == "multi_link":
        return ftype.value_schema(f)
    value = ftype.value_schema(f)
    if f.type == "link":
        # With ?expand=<field> the linked record comes in place of its id.
        target = registry.entity_by_id(f.options["target_id"])
        value = {"anyOf": [value, _ref(_record_name(target))]}
    # Any value may be blank: a field made required later, or a value a confirmed type change
    # could not convert.
    return _nullable(value)


def _request_value(registry: SchemaRegistry, f: Field) -> dict[str, Any]:
    """A field's value as a create or a change may give it."""
    ftype = get_field_type(f.type)
    if f.type == "child_table":
        target = registry.entity_by_id(f.options["target_id"])
        lines: dict[str, Any] = {"type": "array", "items": _ref(f"{_record_name(target)}.line")}
        if f.required:
            lines["minItems"] = 1
        return lines
    value = ftype.value_schema(f)
    if f.type == "multi_link":
        return value
    return value if f.required else _nullable(value)


def _record_schema(registry: SchemaRegistry, schema: EntitySchema) -> dict[str, Any]:
    moment = {"type": "string", "format": "date-time", "readOnly": True}
    user_id = {**_nullable({"type": "integer"}), "readOnly": True}
    properties: dict[str, Any] = {
        "id": {"type": "integer", "readOnly": True},
        "version": {
            "type": "integer",
            "readOnly": True,
            "description": _("Give it back with a change (optimistic lock)."),
        },
        "created_at": moment,
        "updated_at": moment,
        "created_by": user_id,
        "updated_by": user_id,
        "branch": user_id,
    }
    for f in schema.fields:
        value = _response_value(registry, f)
        properties[f.slug] = {**value, "title": f.label}
        if f.help_text:
            properties[f.slug]["description"] = f.help_text
        if not get_field_type(f.type).writable:
            properties[f.slug]["readOnly"] = True
    return {
        "type": "object",
        "title": schema.entity.label,
        "properties": properties,
        "required": list(properties),
    }


def _writable(schema: EntitySchema) -> list[Field]:
    return [f for f in schema.fields if get_field_type(f.type).writable]


def _create_schema(registry: SchemaRegistry, schema: EntitySchema) -> dict[str, Any]:
    properties = {
        f.slug: {**_request_value(registry, f), "title": f.label} for f in _writable(schema)
    }
    required = [
        f.slug
        for f in _writable(schema)
        if f.required and (f.default is None or f.type == "child_table")
    ]
    result: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        result["required"] = required
    return result


def _update_schema(registry: SchemaRegistry, schema: EntitySchema) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "version": {
            "type": "integer",
            "minimum": 1,
            "description": _("The version of the record the change is based on."),
        }
    }
    for f in _writable(schema):
        properties[f.slug] = {**_request_value(registry, f), "title": f.label}
    return {
        "type": "object",
        "properties": properties,
        "required": ["version"],
        "additionalProperties": False,
    }


def _line_schema(registry: SchemaRegistry, schema: EntitySchema) -> dict[str, Any]:
    """A line given with its parent: with ``id`` an existing line, without it a new one; lines
    left out are removed."""
    line = _create_schema(registry, schema)
    line["properties"] = {
        "id": {**_ID, "description": _("An existing line of this record; none for a new line.")},
        **line["properties"],
    }
    line.pop("required", None)  # an existing line keeps the values it has
    return line


def _filter_schema(ftype_name: str, value: dict[str, Any], op: str) -> dict[str, Any]:
    """The schema of one filter parameter (query text, read by the field type)."""
    if op == "isnull":
        return {"type": "boolean"}
    if op in ("in", "range"):
        return {"type": "string", "description": _("Values separated by commas.")}
    if op in ("contains", "icontains", "startswith") or ftype_name == "multi_choice":
        return {"type": "string"}
    if ftype_name in ("link", "multi_link", "user"):
        return dict(_ID)
    if value.get("type") in ("integer", "boolean"):
        return {"type": value["type"]}
    if "enum" in value:
        return {"type": "string", "enum": value["enum"]}
    if value.get("format") in ("date", "date-time"):
        return {"type": "string", "format": value["format"]}
    return {"type": "string"}


def _list_parameters(schema: EntitySchema) -> list[dict[str, Any]]:
    sortable = [
        f.slug for f in schema.fields if f.type not in UNSORTABLE_TYPES and f.type != "child_table"
    ]
    links = [f.slug for f in schema.fields if f.type == "link"]
    parameters = [
        _query("page", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}, _("Page number.")),
        _query(
            "page_size",
            {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_PAGE_SIZE,
                "default": DEFAULT_PAGE_SIZE,
            },
            _("Records per page."),
        ),
        _query("count", {"type": "boolean"}, _("Add the total count (one more query).")),
        _query("trash", {"type": "boolean"}, _("List the records in the trash instead.")),
        _query("search", {"type": "string"}, _("Records whose text fields contain this.")),
        _query(
            "sort",
            {"type": "string"},
            _("Comma-separated field names, '-' for descending; one of: %(fields)s.")
            % {"fields": ", ".join(["id", "created_at", "updated_at", *sortable])},
        ),
    ]
    if links:
        parameters.append(
            _query(
                "expand",
                {"type": "string"},
                _("Comma-separated link fields to answer with the linked record: %(fields)s.")
                % {"fields": ", ".join(links)},
            )
        )
    filters: list[tuple[str, str, dict[str, Any], tuple[str, ...]]] = [
        (slug, type_name, get_field_type(type_name).value_schema(Field(options={})), ())
        for slug, type_name in _SYSTEM_FILTERS.items()
    ]
    filters += [(f.slug, f.type, get_field_type(f.type).value_schema(f), ()) for f in schema.fields]
    for slug, type_name, value, _unused in filters:
        for op in get_field_type(type_name).filter_operators:
            name = slug if op == "exact" else f"{slug}__{op}"
            parameters.append(
                _query(
                    name,
                    _filter_schema(type_name, value, op),
                    _("Filter: %(field)s %(op)s the value.") % {"field": slug, "op": op},
                )
            )
    return parameters


def _record_paths(registry: SchemaRegistry, schema: EntitySchema) -> dict[str, Any]:
    slug, label = schema.slug, schema.entity.label
    name = _record_name(schema)
    record = _ref(name)
    base = f"/api/v1/records/{slug}/"
    record_id = _path_param("id", dict(_ID), _("The record's id."))
    one = {"200": _json(record, label)}
    return {
        base: {
            "get": _operation(
                f"records_{slug}_list",
                _("List %(entity)s") % {"entity": schema.entity.label_plural or label},
                slug,
                {"200": _json(_ref(f"{name}.page"), _("A page of records."))},
                parameters=_list_parameters(schema),
                errors=(400, 403, 404),
            ),
            "post": _operation(
                f"records_{slug}_create",
                _("Create a %(entity)s") % {"entity": label},
                slug,
                {"201": _json(record, _("The created record."))},
                body=_body(_ref(f"{name}.create")),
                errors=(400, 403, 404, 409),
            ),
        },
        base + "{id}/": {
            "parameters": [record_id],
            "get": _operation(
                f"records_{slug}_retrieve",
                _("Read a %(entity)s") % {"entity": label},
                slug,
                one,
                parameters=[
                    _query("expand", {"type": "string"}, _("Link fields to expand, by comma."))
                ],
                errors=(400, 403, 404),
            ),
            "patch": _operation(
                f"records_{slug}_partial_update",
                _("Change a %(entity)s") % {"entity": label},
                slug,
                one,
                body=_body(_ref(f"{name}.update")),
                errors=(400, 403, 404, 409),
            ),
            "delete": _operation(
                f"records_{slug}_destroy",
                _("Move a %(entity)s to the trash") % {"entity": label},
                slug,
                {"204": {"description": _("Moved to the trash.")}},
                errors=(403, 404, 409),
            ),
        },
        base + "{id}/history/": {
            "parameters": [record_id],
            "get": _operation(
                f"records_{slug}_history",
                _("History of a %(entity)s") % {"entity": label},
                slug,
                {"200": _json(_ref("History"), _("Changes, oldest first."))},
                errors=(403, 404),
            ),
        },
        base + "{id}/restore/": {
            "parameters": [record_id],
            "post": _operation(
                f"records_{slug}_restore",
                _("Restore a %(entity)s from the trash") % {"entity": label},
                slug,
                one,
                errors=(400, 403, 404, 409),
            ),
        },
    }


def _record_components(registry: SchemaRegistry) -> dict[str, Any]:
    components: dict[str, Any] = {}
    for schema in registry.entities():
        name = _record_name(schema)
        components[name] = _record_schema(registry, schema)
        if schema.parent_field is not None:
            components[f"{name}.line"] = _line_schema(registry, schema)
            continue
        components[f"{name}.create"] = _create_schema(registry, schema)
        components[f"{name}.update"] = _update_schema(registry, schema)
        components[f"{name}.page"] = {
            "type": "object",
            "properties": {
                "results": {"type": "array", "items": _ref(name)},
                "next": _nullable({"type": "string", "format": "uri"}),
                "previous": _nullable({"type": "string", "format": "uri"}),
                "count": {"type": "integer", "description": _("With ?count=true only.")},
            },
            "required": ["results", "next", "previous"],
        }
    return components


# -- fixed parts: errors, auth, meta -----------------------------------------------------------


def _fixed_components() -> dict[str, Any]:
    messages = {"type": "array", "items": {"type": "string"}}
    field_keys = {
        "slug": _SLUG,
        "label": {"type": "string"},
        "type": {"type": "string", "enum": list(field_type_names())},
        "required": {"type": "boolean"},
        "unique": {"type": "boolean"},
        "indexed": {"type": "boolean"},
        "default": {"description": _("A value of the field's type, or null.")},
        "options": {
            "type": "object",
            "description": _("By type; link targets are entity slugs (see DESIGN.md)."),
        },
        "help_text": {"type": "string"},
    }
    entity_keys = {
        "slug": _SLUG,
        "label": {"type": "string"},
        "label_plural": {"type": "string"},
        "description": {"type": "string"},
        "title_field": _nullable({"type": "string"}),
    }
    return {
        "ValidationError": {
            "type": "object",
            "properties": {
                "errors": {"type": "object", "additionalProperties": messages},
                "code": {"type": "string"},
            },
            "required": ["errors"],
        },
        "Error": {
            "type": "object",
            "properties": {"detail": {"type": "string"}, "code": {"type": "string"}},
            "required": ["detail"],
        },
        "Conflict": {
            "type": "object",
            "properties": {
                "detail": {"type": "string"},
                "code": {"type": "string"},
                "details": {
                    "type": "object",
                    "description": _(
                        "For a refused conversion: failed_count, total, sample, needs_new_column."
                    ),
                },
                "current": {"type": "object", "description": _("The record as it is now.")},
            },
            "required": ["detail"],
        },
        "History": {
            "type": "object",
            "properties": {"results": {"type": "array", "items": {"type": "object"}}},
            "required": ["results"],
        },
        "TokenRequest": {
            "type": "object",
            "properties": {"username": {"type": "string"}, "password": {"type": "string"}},
            "required": ["username", "password"],
        },
        "Token": {
            "type": "object",
            "properties": {"token": {"type": "string"}},
            "required": ["token"],
        },
        "Entity": {
            "type": "object",
            "properties": entity_keys,
            "required": list(entity_keys),
        },
        "EntityDetail": {
            "type": "object",
            "properties": {
                **entity_keys,
                "fields": {"type": "array", "items": _ref("Field")},
            },
            "required": [*entity_keys, "fields"],
        },
        "EntityCreate": {
            "type": "object",
            "properties": {k: v for k, v in entity_keys.items() if k != "title_field"},
            "required": ["slug", "label"],
            "additionalProperties": False,
        },
        "EntityUpdate": {
            "type": "object",
            "properties": {**entity_keys, "position": {"type": "integer"}},
            "additionalProperties": False,
        },
        "Field": {"type": "object", "properties": field_keys, "required": list(field_keys)},
        "FieldCreate": {
            "type": "object",
            "properties": {**field_keys, "position": {"type": "integer"}},
            "required": ["slug", "label", "type"],
            "additionalProperties": False,
        },
        "FieldUpdate": {
            "type": "object",
            "properties": {
                **field_keys,
                "position": {"type": "integer"},
                "confirm": {
                    "type": "boolean",
                    "description": _("Convert even though some values do not fit."),
                },
            },
            "additionalProperties": False,
        },
        "ConversionRequest": {
            "type": "object",
            "properties": {"type": field_keys["type"], "options": field_keys["options"]},
            "additionalProperties": False,
        },
        "ConversionPreview": {
            "type": "object",
            "properties": {
                "total": {"type": "integer"},
                "failed_count": {"type": "integer"},
                "sample": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "id": {"type": "integer"},
                            "value": {"type": ["string", "null"]},
                            "error": {"type": "string"},
                        },
                    },
                },
                "needs_new_column": {"type": "boolean"},
            },
            "required": ["total", "failed_count", "sample", "needs_new_column"],
        },
        "ArchivedColumn": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "type": {"type": "string"},
                "options": {"type": "object"},
                "default": {},
                "archived_at": {"type": "string", "format": "date-time"},
                "archived_by": {"type": ["integer", "null"]},
                "failed_count": {"type": "integer"},
            },
            "required": ["id", "type", "options", "archived_at", "failed_count"],
        },
        "Trash": {
            "type": "object",
            "properties": {
                "entities": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "id": {"type": "integer"},
                            "slug": {"type": "string"},
                            "label": {"type": "string"},
                            "deleted_at": {"type": "string", "format": "date-time"},
                        },
                    },
                },
                "fields": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "id": {"type": "integer"},
                            "entity": {"type": "string"},
                            "entity_in_trash": {"type": "boolean"},
                            "slug": {"type": "string"},
                            "label": {"type": "string"},
                            "type": {"type": "string"},
                            "deleted_at": {"type": "string", "format": "date-time"},
                        },
                    },
                },
            },
            "required": ["entities", "fields"],
        },
        "Restore": {
            "type": "object",
            "properties": {
                "slug": {**_SLUG, "description": _("A new slug, if the old one is taken.")}
            },
            "additionalProperties": False,
        },
    }


def _meta_paths() -> dict[str, Any]:
    tag = "meta"
    entity = _path_param("entity", {"type": "string"}, _("Entity slug."))
    field = _path_param("field", {"type": "string"}, _("Field slug."))
    base = "/api/v1/meta/entities/"
    field_base = base + "{entity}/fields/{field}/"
    trashed_id = _path_param("id", dict(_ID), _("Id from the trash listing."))
    no_content = {"204": {"description": _("Done.")}}
    restore_body = _body(_ref("Restore"), required=False)
    return {
        base: {
            "get": _operation(
                "meta_entities_list",
                _("List entities"),
                tag,
                {"200": _json({"type": "array", "items": _ref("Entity")}, _("Live entities."))},
            ),
            "post": _operation(
                "meta_entities_create",
                _("Create an entity"),
                tag,
                {"201": _json(_ref("EntityDetail"), _("The created entity."))},
                body=_body(_ref("EntityCreate")),
                errors=(400, 403),
            ),
        },
        base + "{entity}/": {
            "parameters": [entity],
            "get": _operation(
                "meta_entities_retrieve",
                _("Read an entity with its fields"),
                tag,
                {"200": _json(_ref("EntityDetail"), _("The entity."))},
                errors=(403, 404),
            ),
            "patch": _operation(
                "meta_entities_partial_update",
                _("Change or rename an entity"),
                tag,
                {"200": _json(_ref("EntityDetail"), _("The entity."))},
                body=_body(_ref("EntityUpdate")),
                errors=(400, 403, 404),
            ),
            "delete": _operation(
                "meta_entities_destroy",
                _("Move an entity to the trash"),
                tag,
                no_content,
                errors=(403, 404, 409),
            ),
        },
        base + "{entity}/fields/": {
            "parameters": [entity],
            "get": _operation(
                "meta_fields_list",
                _("List fields"),
                tag,
                {"200": _json({"type": "array", "items": _ref("Field")}, _("Live fields."))},
                errors=(403, 404),
            ),
            "post": _operation(
                "meta_fields_create",
                _("Add a field"),
                tag,
                {"201": _json(_ref("Field"), _("The created field."))},
                body=_body(_ref("FieldCreate")),
                errors=(400, 403, 404, 409),
            ),
        },
        field_base: {
            "parameters": [entity, field],
            "get": _operation(
                "meta_fields_retrieve",
                _("Read a field"),
                tag,
                {"200": _json(_ref("Field"), _("The field."))},
                errors=(403, 404),
            ),
            "patch": _operation(
                "meta_fields_partial_update",
                _("Change, rename or convert a field"),
                tag,
                {"200": _json(_ref("Field"), _("The field."))},
                body=_body(_ref("FieldUpdate")),
                errors=(400, 403, 404, 409),
            ),
            "delete": _operation(
                "meta_fields_destroy",
                _("Move a field to the trash"),
                tag,
                no_content,
                errors=(403, 404),
            ),
        },
        field_base + "conversion-preview/": {
            "parameters": [entity, field],
            "post": _operation(
                "meta_fields_conversion_preview",
                _("Preview a type or options change"),
                tag,
                {"200": _json(_ref("ConversionPreview"), _("What the change would do."))},
                body=_body(_ref("ConversionRequest")),
                errors=(400, 403, 404, 409),
            ),
        },
        field_base + "archived-columns/": {
            "parameters": [entity, field],
            "get": _operation(
                "meta_fields_archived_columns",
                _("Columns kept from earlier types"),
                tag,
                {
                    "200": _json(
                        {"type": "array", "items": _ref("ArchivedColumn")}, _("Newest first.")
                    )
                },
                errors=(403, 404),
            ),
        },
        field_base + "archived-columns/{archived}/restore/": {
            "parameters": [
                entity,
                field,
                _path_param("archived", dict(_ID), _("Archived column id.")),
            ],
            "post": _operation(
                "meta_fields_archived_column_restore",
                _("Give the field an archived column back"),
                tag,
                {"200": _json(_ref("Field"), _("The field."))},
                errors=(400, 403, 404, 409),
            ),
        },
        "/api/v1/meta/trash/": {
            "get": _operation(
                "meta_trash_list",
                _("Trashed entities and fields"),
                tag,
                {"200": _json(_ref("Trash"), _("Newest first."))},
            ),
        },
        "/api/v1/meta/trash/entities/{id}/": {
            "parameters": [trashed_id],
            "delete": _operation(
                "meta_trash_entities_purge",
                _("Purge a trashed entity"),
                tag,
                no_content,
                errors=(403, 404, 409),
            ),
        },
        "/api/v1/meta/trash/entities/{id}/restore/": {
            "parameters": [trashed_id],
            "post": _operation(
                "meta_trash_entities_restore",
                _("Restore a trashed entity"),
                tag,
                {"200": _json(_ref("EntityDetail"), _("The entity."))},
                body=restore_body,
                errors=(400, 403, 404, 409),
            ),
        },
        "/api/v1/meta/trash/fields/{id}/": {
            "parameters": [trashed_id],
            "delete": _operation(
                "meta_trash_fields_purge",
                _("Purge a trashed field"),
                tag,
                no_content,
                errors=(403, 404, 409),
            ),
        },
        "/api/v1/meta/trash/fields/{id}/restore/": {
            "parameters": [trashed_id],
            "post": _operation(
                "meta_trash_fields_restore",
                _("Restore a trashed field"),
                tag,
                {"200": _json(_ref("Field"), _("The field."))},
                body=restore_body,
                errors=(400, 403, 404, 409),
            ),
        },
    }


def _auth_paths() -> dict[str, Any]:
    return {
        "/api/v1/auth/token/": {
            "post": {
                **_operation(
                    "auth_token",
                    _("Get a token for a user name and password"),
                    "auth",
                    {"200": _json(_ref("Token"), _("Send it as: Authorization: Token <token>."))},
                    body=_body(_ref("TokenRequest")),
                    errors=(400,),
                ),
                "security": [],
            }
        },
        "/api/schema/": {
            "get": _operation(
                "schema",
                _("This document"),
                "meta",
                {"200": _json({"type": "object"}, _("OpenAPI 3.1 for the current schema."))},
            ),
        },
    }


def build_document(registry: SchemaRegistry) -> dict[str, Any]:
    """The whole document for one schema version."""
    paths: dict[str, Any] = {**_auth_paths(), **_meta_paths()}
    tags = [{"name": "auth"}, {"name": "meta", "description": _("Entities and fields.")}]
    for schema in registry.entities():
        if schema.parent_field is not None:
            continue  # lines are read and written inside their parent
        paths.update(_record_paths(registry, schema))
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
            "schemas": {**_fixed_components(), **_record_components(registry)},
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


# One document per schema version and language, built once per process.
_documents: OrderedDict[tuple[str, str], dict[str, Any]] = OrderedDict()
_documents_lock = threading.Lock()
_DOCUMENTS_KEPT = 8


def current_document() -> dict[str, Any]:
    registry = get_registry()
    key = (registry.token, get_language() or "")
    with _documents_lock:
        document = _documents.get(key)
    if document is None:
        document = build_document(registry)
        with _documents_lock:
            _documents[key] = document
            while len(_documents) > _DOCUMENTS_KEPT:
                _documents.popitem(last=False)
    return copy.deepcopy(document)


# -- views -------------------------------------------------------------------------------------


class SchemaView(APIView):
    """``GET /api/schema/``: the OpenAPI document of the current schema (signed-in users)."""

    def get(self, request: Request) -> Response:
        return Response(current_document())


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
