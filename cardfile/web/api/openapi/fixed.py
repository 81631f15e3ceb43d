"""The fixed parts of the OpenAPI document: error shapes, token auth, the meta endpoints."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from cardfile.metamodel.fields import field_type_names

from .parts import _ID, _SLUG, _body, _json, _nullable, _operation, _path_param, _ref


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
        "default_formula": {
            "type": "string",
            "description": _("A formula giving the value of a new record that leaves it out."),
        },
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
        "validation_rules": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "condition": {"type": "string"},
                    "message": {"type": "string"},
                    "field": _nullable({"type": "string"}),
                },
                "required": ["condition", "message"],
                "additionalProperties": False,
            },
        },
    }
    return {
        "ValidationError": {
            "type": "object",
            "properties": {
                "errors": {"type": "object", "additionalProperties": messages},
                "code": {"type": "string"},
                "formula": _ref("FormulaError"),
            },
            "required": ["errors"],
        },
        "FormulaError": {
            "type": "object",
            "description": _("Where a formula is wrong and what would be accepted there."),
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "position": _nullable(
                    {
                        "type": "object",
                        "properties": {
                            key: {"type": "integer"} for key in ("start", "end", "line", "column")
                        },
                    }
                ),
                "caret": {"type": "string"},
                "expected": messages,
                "suggestions": messages,
            },
        },
        "FormulaCheckRequest": {
            "type": "object",
            "properties": {
                "expression": {"type": "string"},
                "record": dict(_ID, description=_("Also compute the value for this record.")),
                "values": {
                    "type": "object",
                    "description": _(
                        "A draft record's field values as the record API takes them: also "
                        "compute the value for this unsaved record (a new one, or changes to "
                        "the given record)."
                    ),
                },
            },
            "required": ["expression"],
            "additionalProperties": False,
        },
        "FormulaCheck": {
            "type": "object",
            "properties": {
                "type": {"type": "string"},
                "currency": _nullable({"type": "string"}),
                "target": _nullable({"type": "string"}),
                "dependencies": messages,
                "value": {"description": _("The value for the record, in the API's JSON form.")},
                "text": {"type": "string"},
            },
            "required": ["type", "dependencies"],
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
            "properties": {
                k: v for k, v in entity_keys.items() if k not in ("title_field", "validation_rules")
            },
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
        base + "{entity}/formula-check/": {
            "parameters": [entity],
            "post": _operation(
                "meta_formula_check",
                _("Check a formula, and compute it for a record"),
                tag,
                {"200": _json(_ref("FormulaCheck"), _("Its type and the fields it reads."))},
                body=_body(_ref("FormulaCheckRequest")),
                errors=(400, 403, 404),
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
