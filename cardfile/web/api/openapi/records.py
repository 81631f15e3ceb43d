"""The record endpoints of each entity in the OpenAPI document, from its fields' types.

Only what the caller may see goes in (`Shown`): entities they read, the operations they have,
fields not hidden from them; a field they may not change is ``readOnly`` in request bodies.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from cardfile.metamodel.fields import get_field_type
from cardfile.metamodel.models import Field
from cardfile.metamodel.records.filtering import UNSORTABLE_TYPES
from cardfile.metamodel.schema.dynamic import EntitySchema, SchemaRegistry

from ..pagination import DEFAULT_PAGE_SIZE, MAX_PAGE, MAX_PAGE_SIZE
from .parts import (
    _ID,
    _SYSTEM_FILTERS,
    _body,
    _json,
    _nullable,
    _operation,
    _path_param,
    _query,
    _ref,
)
from .rights import Shown


def _record_name(schema: EntitySchema) -> str:
    # Slugs are lowercase and never contain dots: no clash with the fixed (capitalised) names.
    return schema.slug


def _response_value(shown: Shown, f: Field) -> dict[str, Any]:
    """A field's value in a record the API answers with."""
    registry = shown.registry
    ftype = get_field_type(f.type)
    if f.type == "child_table":
        target = registry.entity_by_id(f.options["target_id"])
        return {"type": "array", "items": _ref(_record_name(target))}
    if f.type == "multi_link":
        return ftype.value_schema(f)
    value = ftype.value_schema(f)
    if f.type == "link" and shown.target_described(f):
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


def _record_schema(shown: Shown, schema: EntitySchema) -> dict[str, Any]:
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
    for f in shown.fields(schema):
        value = _response_value(shown, f)
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


def _writable(shown: Shown, schema: EntitySchema) -> list[Field]:
    """The fields a create or a change may give: those of a writable type the caller sees."""
    return [f for f in shown.fields(schema) if get_field_type(f.type).writable]


def _request_property(shown: Shown, schema: EntitySchema, f: Field) -> dict[str, Any]:
    prop = {**_request_value(shown.registry, f), "title": f.label}
    if shown.read_only(schema, f):
        # It may be sent back as it is, never changed.
        prop["readOnly"] = True
        prop.setdefault("description", _("Read-only for your roles."))
    return prop


def _create_schema(shown: Shown, schema: EntitySchema) -> dict[str, Any]:
    writable = _writable(shown, schema)
    properties = {f.slug: _request_property(shown, schema, f) for f in writable}
    required = [
        f.slug
        for f in writable
        if f.required
        and (f.default is None or f.type == "child_table")
        and not shown.read_only(schema, f)
    ]
    result: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        result["required"] = required
    return result


def _update_schema(shown: Shown, schema: EntitySchema) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "version": {
            "type": "integer",
            "minimum": 1,
            "description": _("The version of the record the change is based on."),
        }
    }
    for f in _writable(shown, schema):
        properties[f.slug] = _request_property(shown, schema, f)
    return {
        "type": "object",
        "properties": properties,
        "required": ["version"],
        "additionalProperties": False,
    }


def _line_schema(shown: Shown, schema: EntitySchema) -> dict[str, Any]:
    """A line given with its parent: with ``id`` an existing line, without it a new one; lines
    left out are removed."""
    line = _create_schema(shown, schema)
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


def _list_parameters(shown: Shown, schema: EntitySchema) -> list[dict[str, Any]]:
    fields = shown.fields(schema)
    sortable = [
        f.slug for f in fields if f.type not in UNSORTABLE_TYPES and f.type != "child_table"
    ]
    links = [f.slug for f in fields if f.type == "link" and shown.target_described(f)]
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
            "where",
            {"type": "string"},
            _("A condition in the formula language, e.g. total > 100 AND client.vip."),
        ),
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
    filters += [(f.slug, f.type, get_field_type(f.type).value_schema(f), ()) for f in fields]
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


def _record_paths(shown: Shown, schema: EntitySchema) -> dict[str, Any]:
    """The record endpoints of a described entity, with the operations the caller has."""
    slug, label = schema.slug, schema.entity.label
    name = _record_name(schema)
    record = _ref(name)
    base = f"/api/v1/records/{slug}/"
    record_id = _path_param("id", dict(_ID), _("The record's id."))
    one = {"200": _json(record, label)}
    listing: dict[str, Any] = {
        "get": _operation(
            f"records_{slug}_list",
            _("List %(entity)s") % {"entity": schema.entity.label_plural or label},
            slug,
            {"200": _json(_ref(f"{name}.page"), _("A page of records."))},
            parameters=_list_parameters(shown, schema),
            errors=(400, 403, 404),
        ),
    }
    if shown.can("create", schema):
        listing["post"] = _operation(
            f"records_{slug}_create",
            _("Create a %(entity)s") % {"entity": label},
            slug,
            {"201": _json(record, _("The created record."))},
            body=_body(_ref(f"{name}.create")),
            errors=(400, 403, 404, 409),
        )
    detail: dict[str, Any] = {
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
    }
    if shown.can("update", schema):
        detail["patch"] = _operation(
            f"records_{slug}_partial_update",
            _("Change a %(entity)s") % {"entity": label},
            slug,
            one,
            body=_body(_ref(f"{name}.update")),
            errors=(400, 403, 404, 409),
        )
    if shown.can("delete", schema):
        detail["delete"] = _operation(
            f"records_{slug}_destroy",
            _("Move a %(entity)s to the trash") % {"entity": label},
            slug,
            {"204": {"description": _("Moved to the trash.")}},
            errors=(403, 404, 409),
        )
    paths = {
        base: listing,
        base + "{id}/": detail,
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
    }
    statuses = [f for f in shown.fields(schema) if f.type == "status"]
    if statuses:
        state = {
            "type": "object",
            "properties": {key: {"type": "string"} for key in ("value", "label", "color", "group")},
            "required": ["value", "label", "color", "group"],
        }
        paths[base + "{id}/transitions/"] = {
            "parameters": [record_id],
            "get": _operation(
                f"records_{slug}_transitions",
                _("Allowed transitions of a %(entity)s") % {"entity": label},
                slug,
                {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                f.slug: {
                                    "type": "object",
                                    "properties": {
                                        "current": _nullable(
                                            get_field_type(f.type).value_schema(f)
                                        ),
                                        "allowed": {"type": "array", "items": state},
                                    },
                                    "required": ["current", "allowed"],
                                }
                                for f in statuses
                            },
                        },
                        _("Each status field's state and the states the caller may move it to."),
                    )
                },
                errors=(403, 404),
            ),
        }
    if shown.can("delete", schema):
        paths[base + "{id}/restore/"] = {
            "parameters": [record_id],
            "post": _operation(
                f"records_{slug}_restore",
                _("Restore a %(entity)s from the trash") % {"entity": label},
                slug,
                one,
                errors=(400, 403, 404, 409),
            ),
        }
    return paths


def _record_components(shown: Shown) -> dict[str, Any]:
    components: dict[str, Any] = {}
    for schema in shown.registry.entities():
        if not shown.described(schema):
            continue
        name = _record_name(schema)
        components[name] = _record_schema(shown, schema)
        writes = [op for op in ("create", "update") if shown.can(op, schema)]
        if schema.parent_field is not None:
            # Lines follow their parent's operations: given in its create or change bodies.
            if writes:
                components[f"{name}.line"] = _line_schema(shown, schema)
            continue
        if "create" in writes:
            components[f"{name}.create"] = _create_schema(shown, schema)
        if "update" in writes:
            components[f"{name}.update"] = _update_schema(shown, schema)
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
