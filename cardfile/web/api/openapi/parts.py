"""Building blocks of the OpenAPI document: constants, references, bodies, errors."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

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
