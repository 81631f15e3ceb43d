"""The JSON Schema of the preset format, one schema per kind of file.

The shapes follow the API (``field_as_dict``, ``role_create``, ``reminder_create``...): the
installer hands each object to the metamodel service, which checks the rest (formulas, option
details). Here the format itself is checked, so a typo is reported with file and path before
anything is installed.
"""

from __future__ import annotations

from typing import Any

from cardfile.metamodel.fields import field_type_names

FORMAT_VERSION = 1
SLUG = {"type": "string", "pattern": "^[a-z][a-z0-9_]*$", "maxLength": 63}
LABEL = {"type": "string", "minLength": 1, "maxLength": 200}
TEXT = {"type": "string"}
STRINGS = {"type": "array", "items": {"type": "string"}}


def _object(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(required),
        "additionalProperties": False,
    }


MANIFEST = _object(
    {
        "format": {"const": FORMAT_VERSION},
        "name": SLUG,
        "version": {"type": "integer", "minimum": 1},
        "title": LABEL,
        "description": TEXT,
        "locale": {"type": "string", "pattern": "^[a-z]{2,3}([_-][A-Za-z]{2,4})?$"},
        "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
        "entities": {"type": "array", "items": SLUG, "uniqueItems": True},
    },
    ("format", "name", "version", "title", "entities"),
)


def _field() -> dict[str, Any]:
    return _object(
        {
            "slug": SLUG,
            "label": LABEL,
            "type": {"enum": sorted(field_type_names())},
            "required": {"type": "boolean"},
            "unique": {"type": "boolean"},
            "indexed": {"type": "boolean"},
            "default": {},
            "default_formula": TEXT,
            "options": {"type": "object"},
            "help_text": TEXT,
        },
        ("slug", "label", "type"),
    )


LAYOUT_ITEM = {
    "oneOf": [
        SLUG,
        _object({"field": SLUG, "visible_if": TEXT}, ("field",)),
    ]
}
LAYOUT = _object(
    {
        "tabs": {
            "type": "array",
            "minItems": 1,
            "items": _object(
                {
                    "label": TEXT,
                    "sections": {
                        "type": "array",
                        "items": _object(
                            {
                                "label": TEXT,
                                "columns": {
                                    "type": "array",
                                    "minItems": 1,
                                    "maxItems": 4,
                                    "items": {"type": "array", "items": LAYOUT_ITEM},
                                },
                            },
                            ("columns",),
                        ),
                    },
                },
                ("sections",),
            ),
        }
    },
    ("tabs",),
)
VIEW = _object(
    {
        "name": LABEL,
        "config": _object(
            {
                "columns": {"type": "array", "items": SLUG},
                "sort": TEXT,
                "where": TEXT,
                "search": TEXT,
                "filters": {"type": "array", "items": {"type": "object"}},
                "page_size": {"type": "integer"},
                "kanban_field": SLUG,
            }
        ),
    },
    ("name",),
)


def entity_schema() -> dict[str, Any]:
    return _object(
        {
            "slug": SLUG,
            "label": LABEL,
            "label_plural": TEXT,
            "description": TEXT,
            "nav_group": {"type": "string", "maxLength": 100},
            "title_field": {"oneOf": [SLUG, {"type": "null"}]},
            "fields": {"type": "array", "items": _field()},
            "validation_rules": {"type": "array", "items": {"type": "object"}},
            "layout": {"oneOf": [LAYOUT, {"type": "null"}]},
            "views": {"type": "array", "items": VIEW},
        },
        ("slug", "label", "fields"),
    )


RIGHTS = _object(
    {
        "read": {"type": "boolean"},
        "create": {"type": "boolean"},
        "update": {"type": "boolean"},
        "delete": {"type": "boolean"},
        "export": {"type": "boolean"},
        "print": {"type": "boolean"},
        "configure": {"type": "boolean"},
        "fields": {
            "type": "object",
            "propertyNames": SLUG,
            "additionalProperties": {"enum": ["hidden", "read_only"]},
        },
        "rule": TEXT,
    }
)
ROLES = _object(
    {
        "roles": {
            "type": "array",
            "items": _object(
                {
                    "name": {**SLUG, "not": {"const": "owner"}},
                    "label": LABEL,
                    "description": TEXT,
                    "permissions": {
                        "type": "object",
                        "propertyNames": SLUG,
                        "additionalProperties": RIGHTS,
                    },
                },
                ("name",),
            ),
        }
    },
    ("roles",),
)
_MESSAGE = {
    "key": SLUG,
    "entity": SLUG,
    "field": {"oneOf": [SLUG, {"type": "null"}]},
    "condition": TEXT,
    "recipients": {
        "type": "array",
        "items": {
            "type": "object",
            "minProperties": 1,
            "maxProperties": 1,
            "propertyNames": {"enum": ["field", "role", "user"]},
            "additionalProperties": {"type": "string", "minLength": 1},
        },
    },
    "channels": {"type": "array", "items": {"type": "string"}},
    "template": TEXT,
    "subject": TEXT,
    "label": TEXT,
    "active": {"type": "boolean"},
}
NOTIFICATIONS = _object(
    {
        "reminders": {
            "type": "array",
            "items": _object(
                {
                    **_MESSAGE,
                    "offset": _object({"amount": {"type": "integer"}, "unit": {"type": "string"}}),
                    "at_time": {"type": "string", "pattern": "^[0-9]{2}:[0-9]{2}$"},
                    "repeat": {
                        "oneOf": [
                            _object(
                                {"every": {"type": "integer"}, "unit": {"type": "string"}},
                                ("every", "unit"),
                            ),
                            {"type": "null"},
                        ]
                    },
                },
                ("key", "entity", "field", "recipients", "channels", "template"),
            ),
        },
        "rules": {
            "type": "array",
            "items": _object(
                {
                    **_MESSAGE,
                    "event": {"enum": ["created", "updated", "status_changed"]},
                    "to_state": TEXT,
                },
                ("key", "entity", "event", "recipients", "channels", "template"),
            ),
        },
    }
)
_LABELS = {"type": "object", "additionalProperties": {"type": "string"}}
TRANSLATION = _object(
    {
        "title": TEXT,
        "description": TEXT,
        "entities": {
            "type": "object",
            "propertyNames": SLUG,
            "additionalProperties": _object(
                {
                    "label": TEXT,
                    "label_plural": TEXT,
                    "description": TEXT,
                    "nav_group": TEXT,
                    "fields": {
                        "type": "object",
                        "propertyNames": SLUG,
                        "additionalProperties": _object(
                            {
                                "label": TEXT,
                                "help_text": TEXT,
                                "states": _LABELS,
                                "choices": _LABELS,
                                "transitions": _LABELS,
                            }
                        ),
                    },
                }
            ),
        },
        "roles": {
            "type": "object",
            "propertyNames": SLUG,
            "additionalProperties": {
                "oneOf": [
                    {"type": "string"},
                    _object({"label": TEXT, "description": TEXT}),
                ]
            },
        },
        "views": {"type": "object", "additionalProperties": _LABELS},
        "layouts": {"type": "object", "additionalProperties": _LABELS},
        "notifications": {
            "type": "object",
            "additionalProperties": _object({"label": TEXT, "subject": TEXT, "template": TEXT}),
        },
    }
)
DEMO_USERS = _object(
    {
        "users": {
            "type": "array",
            "items": _object(
                {
                    "username": {"type": "string", "pattern": r"^[\w.@+-]+$", "maxLength": 150},
                    "first_name": TEXT,
                    "last_name": TEXT,
                    "email": TEXT,
                    "roles": {"type": "array", "items": SLUG},
                },
                ("username",),
            ),
        }
    },
    ("users",),
)
DEMO_RECORDS = _object(
    {
        "entity": SLUG,
        "records": {"type": "array", "items": {"type": "object"}},
    },
    ("entity", "records"),
)
