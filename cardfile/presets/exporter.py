"""Writing the running configuration as a preset folder: entities with fields, layouts and
shared views, roles (but the built-in owner), reminders and notification rules. No records.

The output is deterministic: keys in a fixed order, lists in their meaningful order (entities
by menu position, fields by card position) or sorted where order means nothing (roles,
reminders, rules), and values left at their defaults are left out.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from cardfile.metamodel.access.services import role_as_dict, role_list
from cardfile.metamodel.models import CardLayout, Entity, Field, SavedView
from cardfile.metamodel.notify.models import NotificationRule, Reminder
from cardfile.metamodel.notify.selectors import reminder_as_dict, rule_as_dict
from cardfile.metamodel.schema.dynamic import get_registry
from cardfile.metamodel.schema.services import field_as_dict, field_public_options

from .exceptions import PresetError
from .loader import MANIFEST_FILE, NOTIFICATIONS_FILE, ROLES_FILE
from .models import PresetInstallation
from .schema import FORMAT_VERSION

OWNER_ROLE = "owner"
OPERATIONS = ("read", "create", "update", "delete", "export", "print", "configure")


class _Dumper(yaml.SafeDumper):
    """Block style, with lists of lists (layout columns) kept readable."""


def _represent_list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    """Lists of plain values on one line (``columns: [number, client]``)."""
    flow = bool(data) and all(isinstance(v, str | int | float | bool) for v in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_Dumper.add_representer(list, _represent_list)


def _tidy_item(item: Any, defaults: dict[str, Any], key: str = "value") -> Any:
    """A state, choice or transition without the attributes left at their defaults; a choice
    that is only its value becomes the plain value."""
    if not isinstance(item, dict):
        return item
    tidy = {k: v for k, v in item.items() if defaults.get(k, object()) != v}
    if "label" in tidy and tidy["label"] == item.get(key):
        del tidy["label"]
    if key == "value" and set(tidy) == {"value"} and defaults.get("group") is None:
        return tidy["value"]
    return tidy


def _tidy_options(ftype: str, options: dict[str, Any]) -> dict[str, Any]:
    options = dict(options)
    if ftype == "status":
        options["states"] = [
            _tidy_item(s, {"color": "", "required": [], "group": "open"})
            for s in options.get("states") or []
        ]
        options["transitions"] = [
            _tidy_item(t, {"roles": [], "set": {}, "label": ""}, key="")
            for t in options.get("transitions") or []
        ]
        if not options["transitions"]:
            del options["transitions"]
    elif ftype in ("choice", "multi_choice"):
        options["choices"] = [_tidy_item(c, {"color": ""}) for c in options.get("choices") or []]
    return options


def _dump(data: Any) -> str:
    return yaml.dump(
        data,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=100,
    )


def export(*, directory: Path, name: str, title: str, version: int) -> list[Path]:
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name or ""):
        raise PresetError(
            _("A preset name is lowercase letters, digits and _, starting with a letter."),
            code="bad_preset_name",
        )
    if version < 1:
        raise PresetError(_("A preset version is a whole number of at least 1."))
    registry = get_registry()
    entities = [s for s in registry.entities()]
    files: dict[str, Any] = {}
    # the language and currency of the preset installed (or upgraded) last, if any
    latest = (
        PresetInstallation.objects.annotate(at=Coalesce("upgraded_at", "installed_at"))
        .order_by("-at", "name")
        .first()
    )
    manifest = {
        "format": FORMAT_VERSION,
        "name": name,
        "version": version,
        "title": title or name,
        "description": "",
        "locale": (latest.locale if latest and latest.locale else settings.LANGUAGE_CODE),
        "currency": (latest.currency if latest and latest.currency else settings.CARDFILE_CURRENCY),
        "entities": [s.slug for s in entities],
    }
    files[MANIFEST_FILE] = manifest
    for schema in entities:
        files[f"entities/{schema.slug}.yaml"] = _entity(schema)
    files[ROLES_FILE] = {"roles": _roles()}
    files[NOTIFICATIONS_FILE] = _notifications()
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "entities").mkdir(exist_ok=True)
    written = []
    for relative, data in files.items():
        path = directory / relative
        path.write_text(_dump(data), encoding="utf-8")
        written.append(path)
    return written


# -- entities ----------------------------------------------------------------------------------


def _field(f: Field) -> dict[str, Any]:
    data = field_as_dict(f)
    out: dict[str, Any] = {"slug": data["slug"], "label": data["label"], "type": data["type"]}
    if data["required"]:
        out["required"] = True
    if data["unique"] and f.type != "autonumber":
        out["unique"] = True
    if data["indexed"]:
        out["indexed"] = True
    if data["default"] is not None:
        out["default"] = data["default"]
    if data["default_formula"]:
        out["default_formula"] = data["default_formula"]
    options = _tidy_options(
        f.type, {k: v for k, v in field_public_options(f).items() if k != "result"}
    )
    if options:
        out["options"] = options
    if data["help_text"]:
        out["help_text"] = data["help_text"]
    return out


def _entity(schema: Any) -> dict[str, Any]:
    entity: Entity = Entity.objects.select_related("title_field").get(pk=schema.entity.pk)
    slugs = {f.pk: f.slug for f in schema.fields}
    data: dict[str, Any] = {
        "slug": entity.slug,
        "label": entity.label,
        "label_plural": entity.label_plural,
        "description": entity.description,
        "nav_group": entity.nav_group,
        "title_field": entity.title_field.slug if entity.title_field_id else None,
        "fields": [_field(f) for f in schema.fields],
    }
    if entity.validation_rules:
        data["validation_rules"] = [
            {k: v for k, v in rule.items() if v is not None} for rule in entity.validation_rules
        ]
    row = CardLayout.objects.filter(entity_id=entity.pk).first()
    if row is not None and isinstance(row.layout, dict) and row.layout.get("tabs"):
        data["layout"] = _layout(row.layout, slugs)
    views = [
        _view(v, slugs)
        for v in SavedView.objects.filter(entity_id=entity.pk, user__isnull=True).order_by(
            "position", "name"
        )
    ]
    if views:
        data["views"] = views
    return data


def _layout(layout: dict[str, Any], slugs: dict[int, str]) -> dict[str, Any]:
    def item(entry: dict[str, Any]) -> Any:
        slug = slugs[entry["field"]]
        return (
            {"field": slug, "visible_if": entry["visible_if"]} if entry.get("visible_if") else slug
        )

    return {
        "tabs": [
            {
                "label": tab.get("label") or "",
                "sections": [
                    {
                        "label": section.get("label") or "",
                        "columns": [
                            [item(e) for e in column if e.get("field") in slugs]
                            for column in section.get("columns") or []
                        ],
                    }
                    for section in tab.get("sections") or []
                ],
            }
            for tab in layout["tabs"]
        ]
    }


def _view(view: SavedView, slugs: dict[int, str]) -> dict[str, Any]:
    config = dict(view.config or {})
    out: dict[str, Any] = {}
    columns = [slugs[c] for c in config.get("columns") or [] if c in slugs]
    if columns:
        out["columns"] = columns
    for key in ("sort", "where", "search"):
        if config.get(key):
            out[key] = config[key]
    if config.get("filters"):
        out["filters"] = config["filters"]
    if config.get("page_size"):
        out["page_size"] = config["page_size"]
    if config.get("kanban_field") in slugs:
        out["kanban_field"] = slugs[config["kanban_field"]]
    return {"name": view.name, "config": out}


# -- roles -------------------------------------------------------------------------------------


def _roles() -> list[dict[str, Any]]:
    registry = get_registry()
    roles = []
    for role in role_list():
        if role.group.name == OWNER_ROLE:
            continue
        data = role_as_dict(role, registry)
        permissions = {}
        for slug, rights in sorted(data["permissions"].items()):
            out: dict[str, Any] = {op: True for op in OPERATIONS if rights.get(op)}
            if rights.get("fields"):
                out["fields"] = dict(sorted(rights["fields"].items()))
            if rights.get("rule"):
                out["rule"] = rights["rule"]
            permissions[slug] = out
        roles.append(
            {
                "name": data["name"],
                "label": data["label"],
                "description": data["description"],
                "permissions": permissions,
            }
        )
    return sorted(roles, key=lambda r: r["name"])


# -- reminders and rules -----------------------------------------------------------------------


def _known_keys(kind: str) -> dict[int, str]:
    """Object id -> the key a preset gave it (so an export keeps the preset's keys)."""
    keys: dict[int, str] = {}
    for installation in PresetInstallation.objects.order_by("installed_at", "name"):
        for key, record in ((installation.applied or {}).get(kind) or {}).items():
            keys.setdefault(record["id"], key)
    return keys


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    if not slug or not slug[0].isalpha():
        slug = f"n_{slug}" if slug else "notification"
    return slug[:63]


def _message(data: dict[str, Any], key: str, head: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {"key": key}
    for name in head:
        if data.get(name) is not None and data.get(name) != "":
            out[name] = data[name]
    if data.get("condition"):
        out["condition"] = data["condition"]
    out["recipients"] = data["recipients"]
    out["channels"] = data["channels"]
    if data.get("subject"):
        out["subject"] = data["subject"]
    out["template"] = data["template"]
    out["label"] = data["label"]
    if not data.get("active", True):
        out["active"] = False
    return out


def _notifications() -> dict[str, Any]:
    result: dict[str, Any] = {}
    for kind, model, as_dict, head in (
        (
            "reminders",
            Reminder,
            reminder_as_dict,
            ("entity", "field", "offset", "at_time", "repeat"),
        ),
        ("rules", NotificationRule, rule_as_dict, ("entity", "event", "field", "to_state")),
    ):
        known = _known_keys(kind)
        used: set[str] = set(known.values())
        emitted: set[str] = set()
        items = []
        rows = model.objects.select_related("entity", "field").filter(
            entity__deleted_at__isnull=True
        )
        for obj in sorted(rows, key=lambda o: (o.entity.position, o.entity.slug, o.pk)):
            key = known.get(obj.pk)
            if key is None or key in emitted:
                base = key or _slug(f"{obj.entity.slug}_{obj.label}")
                key, number = base, 2
                while key in used:
                    key, number = f"{base}_{number}", number + 1
                used.add(key)
            emitted.add(key)
            items.append(_message(as_dict(obj), key, head))
        result[kind] = sorted(items, key=lambda i: (i["entity"], i["key"]))
    return result
