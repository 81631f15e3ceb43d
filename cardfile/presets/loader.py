"""Reading a preset folder: YAML parsed safely, every file checked against its JSON Schema, then
the references between files checked (an entity listed without a file, a link to an entity the
preset does not define, a layout naming an unknown field, a demo ``@ref:`` that resolves to
nothing). Every problem is collected and reported together, each with its file and path."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from django.utils.translation import gettext as _

from . import schema as formats
from .exceptions import PresetInvalid, PresetNotFound, PresetProblem

SHIPPED_DIR = Path(__file__).resolve().parent / "shipped"
MANIFEST_FILE = "preset.yaml"
ROLES_FILE = "roles.yaml"
NOTIFICATIONS_FILE = "notifications.yaml"
USERS_FILE = "demo/users.yaml"
LINKING_TYPES = ("link", "multi_link", "child_table")
_SHIPPED_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_DEMO_FILE = re.compile(r"^\d+-([a-z][a-z0-9_]*)\.ya?ml$")
# libyaml's safe loader when PyYAML has it (ten times faster on demo data), else PyYAML's own
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class EntityDef:
    """One ``entities/<slug>.yaml``."""

    file: str
    data: dict[str, Any]

    @property
    def slug(self) -> str:
        return self.data["slug"]

    @property
    def fields(self) -> list[dict[str, Any]]:
        return self.data.get("fields") or []

    def field(self, slug: str) -> dict[str, Any] | None:
        return next((f for f in self.fields if f["slug"] == slug), None)


@dataclass
class DemoFile:
    """One ``demo/<NN>-<entity>.yaml``."""

    file: str
    entity: str
    records: list[dict[str, Any]]


@dataclass
class Preset:
    """A preset read and checked: the parsed files, in install order."""

    root: Path
    manifest: dict[str, Any]
    entities: list[EntityDef] = field(default_factory=list)
    roles: list[dict[str, Any]] = field(default_factory=list)
    reminders: list[dict[str, Any]] = field(default_factory=list)
    rules: list[dict[str, Any]] = field(default_factory=list)
    translations: dict[str, dict[str, Any]] = field(default_factory=dict)
    demo_users: list[dict[str, Any]] = field(default_factory=list)
    demo_files: list[DemoFile] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.manifest["name"]

    @property
    def version(self) -> int:
        return self.manifest["version"]

    @property
    def title(self) -> str:
        return self.manifest.get("title", "")

    @property
    def description(self) -> str:
        return self.manifest.get("description", "")

    @property
    def locale(self) -> str:
        return self.manifest.get("locale", "en")

    @property
    def currency(self) -> str:
        return self.manifest.get("currency", "")

    def entity(self, slug: str) -> EntityDef | None:
        return next((e for e in self.entities if e.slug == slug), None)


def json_path(parts: Any) -> str:
    """``["fields", 3, "type"]`` -> ``fields[3].type``."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def resolve_source(source: str | Path) -> Path:
    """A shipped preset's folder (by name) or the folder given."""
    text = str(source)
    if _SHIPPED_NAME.match(text) and (SHIPPED_DIR / text / MANIFEST_FILE).is_file():
        return SHIPPED_DIR / text
    path = Path(text).expanduser()
    if (path / MANIFEST_FILE).is_file():
        return path.resolve()
    if path.is_file() and path.name == MANIFEST_FILE:
        return path.parent.resolve()
    raise PresetNotFound(
        _("There is no shipped preset %(source)s and no preset folder (with %(file)s) there.")
        % {"source": text, "file": MANIFEST_FILE},
        code="preset_not_found",
    )


class _Reader:
    """Collects problems while reading one preset folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.problems: list[PresetProblem] = []

    def add(self, file: str, path: str, message: str) -> None:
        self.problems.append(PresetProblem(file, path, message))

    def read(self, name: str, schema: dict[str, Any], *, required: bool = True) -> Any:
        """The parsed file, or None (with the problems noted) if it is missing or wrong."""
        path = self.root / name
        if not path.is_file():
            if required:
                self.add(name, "", _("The file is missing."))
            return None
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            self.add(name, "", _("Cannot read the file: %(error)s") % {"error": error})
            return None
        try:
            data = yaml.load(text, Loader=_SAFE_LOADER)  # noqa: S506  (a safe loader)
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = (
                _("line %(line)d, column %(column)d")
                % {"line": mark.line + 1, "column": mark.column + 1}
                if mark is not None
                else ""
            )
            problem = getattr(error, "problem", None) or str(error)
            self.add(name, where, _("Not valid YAML: %(problem)s") % {"problem": problem})
            return None
        if data is None:
            data = {}
        before = len(self.problems)
        validator = jsonschema.Draft202012Validator(schema)
        for error in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path)):
            for leaf in _leaves(error):
                self.add(name, json_path(leaf.absolute_path), leaf.message)
        return data if len(self.problems) == before else None


def _leaves(error: jsonschema.ValidationError) -> list[jsonschema.ValidationError]:
    """The most telling errors of a ``oneOf`` that failed: those of the branch that got
    furthest, rather than "is not valid under any of the given schemas"."""
    if error.validator in ("oneOf", "anyOf") and error.context:
        best = jsonschema.exceptions.best_match(error.context)
        return [best] if best is not None else [error]
    return [error]


def preset_read(source: str | Path) -> Preset:
    """Read and check the preset at ``source`` (a shipped preset's name or a folder)."""
    root = resolve_source(source)
    reader = _Reader(root)
    manifest = reader.read(MANIFEST_FILE, formats.MANIFEST)
    if manifest is None:
        raise PresetInvalid(reader.problems)
    preset = Preset(root=root, manifest=manifest)
    entity_schema = formats.entity_schema()
    listed = manifest["entities"]
    for number, slug in enumerate(listed):
        name = f"entities/{slug}.yaml"
        if not (root / name).is_file():
            reader.add(
                MANIFEST_FILE,
                f"entities[{number}]",
                _("Entity %(slug)s is listed but %(file)s is missing.")
                % {"slug": slug, "file": name},
            )
            continue
        data = reader.read(name, entity_schema)
        if data is None:
            continue
        if data["slug"] != slug:
            reader.add(
                name,
                "slug",
                _("The slug %(slug)s does not match the file name %(file)s.")
                % {"slug": data["slug"], "file": name},
            )
            continue
        preset.entities.append(EntityDef(name, data))
    entities_dir = root / "entities"
    if entities_dir.is_dir():
        for path in sorted(entities_dir.iterdir()):
            if path.suffix in (".yaml", ".yml") and path.stem not in listed:
                reader.add(
                    f"entities/{path.name}",
                    "",
                    _("This entity is not listed in %(file)s (entities).")
                    % {"file": MANIFEST_FILE},
                )
    roles = reader.read(ROLES_FILE, formats.ROLES, required=False)
    if roles is not None:
        preset.roles = roles.get("roles") or []
    notifications = reader.read(NOTIFICATIONS_FILE, formats.NOTIFICATIONS, required=False)
    if notifications is not None:
        preset.reminders = notifications.get("reminders") or []
        preset.rules = notifications.get("rules") or []
    translations_dir = root / "translations"
    if translations_dir.is_dir():
        for path in sorted(translations_dir.glob("*.yaml")):
            data = reader.read(f"translations/{path.name}", formats.TRANSLATION)
            if data is not None:
                preset.translations[path.stem] = data
    users = reader.read(USERS_FILE, formats.DEMO_USERS, required=False)
    if users is not None:
        preset.demo_users = users.get("users") or []
    demo_dir = root / "demo"
    if demo_dir.is_dir():
        for path in sorted(demo_dir.iterdir()):
            name = f"demo/{path.name}"
            if name == USERS_FILE or path.suffix not in (".yaml", ".yml"):
                continue
            if not _DEMO_FILE.match(path.name):
                reader.add(
                    name, "", _("Demo files are named <NN>-<entity>.yaml, e.g. 10-client.yaml.")
                )
                continue
            data = reader.read(name, formats.DEMO_RECORDS)
            if data is not None:
                preset.demo_files.append(DemoFile(name, data["entity"], data["records"]))
    if not reader.problems:
        # references are checked between files that read well; else they would only echo
        # the problems above (a broken file's entity looks missing everywhere)
        _check_references(preset, reader)
    if reader.problems:
        raise PresetInvalid(reader.problems)
    return preset


# -- references between files ------------------------------------------------------------------


def _check_references(preset: Preset, reader: _Reader) -> None:
    for entity in preset.entities:
        _check_entity(preset, entity, reader)
    for number, role in enumerate(preset.roles):
        _check_role(preset, role, f"roles[{number}]", reader)
    _check_unique_names(ROLES_FILE, "roles", "name", preset.roles, reader)
    for kind, items in (("reminders", preset.reminders), ("rules", preset.rules)):
        _check_unique_names(NOTIFICATIONS_FILE, kind, "key", items, reader)
        for number, item in enumerate(items):
            _check_notification(preset, item, f"{kind}[{number}]", reader)
    for locale, data in preset.translations.items():
        _check_translation(preset, f"translations/{locale}.yaml", data, reader)
    _check_demo(preset, reader)


def _check_unique_names(
    file: str, kind: str, key: str, items: list[dict[str, Any]], reader: _Reader
) -> None:
    seen: set[str] = set()
    for number, item in enumerate(items):
        if item[key] in seen:
            reader.add(
                file,
                f"{kind}[{number}].{key}",
                _("%(name)s appears twice.") % {"name": item[key]},
            )
        seen.add(item[key])


def _unknown_field(entity: EntityDef, slug: Any) -> str:
    return _("Entity %(entity)s has no field %(field)s.") % {"entity": entity.slug, "field": slug}


def _check_entity(preset: Preset, entity: EntityDef, reader: _Reader) -> None:
    file = entity.file
    slugs: set[str] = set()
    for number, f in enumerate(entity.fields):
        if f["slug"] in slugs:
            reader.add(
                file, f"fields[{number}].slug", _("%(slug)s appears twice.") % {"slug": f["slug"]}
            )
        slugs.add(f["slug"])
        if f["type"] in LINKING_TYPES:
            target = (f.get("options") or {}).get("target")
            if not isinstance(target, str) or preset.entity(target) is None:
                reader.add(
                    file,
                    f"fields[{number}].options.target",
                    _("%(target)r is not an entity of this preset.") % {"target": target},
                )
    title = entity.data.get("title_field")
    if title and title not in slugs:
        reader.add(file, "title_field", _unknown_field(entity, title))
    layout = entity.data.get("layout")
    if layout:
        for t, tab in enumerate(layout["tabs"]):
            for s, section in enumerate(tab.get("sections") or []):
                for c, column in enumerate(section["columns"]):
                    for i, item in enumerate(column):
                        slug = item if isinstance(item, str) else item["field"]
                        if slug not in slugs:
                            reader.add(
                                file,
                                f"layout.tabs[{t}].sections[{s}].columns[{c}][{i}]",
                                _unknown_field(entity, slug),
                            )
    names: set[str] = set()
    for number, view in enumerate(entity.data.get("views") or []):
        path = f"views[{number}]"
        if view["name"] in names:
            reader.add(file, f"{path}.name", _("%(name)s appears twice.") % {"name": view["name"]})
        names.add(view["name"])
        config = view.get("config") or {}
        for c, column in enumerate(config.get("columns") or []):
            if column not in slugs:
                reader.add(file, f"{path}.config.columns[{c}]", _unknown_field(entity, column))
        kanban = config.get("kanban_field")
        if kanban is not None and kanban not in slugs:
            reader.add(file, f"{path}.config.kanban_field", _unknown_field(entity, kanban))


def _check_role(preset: Preset, role: dict[str, Any], path: str, reader: _Reader) -> None:
    for slug, rights in (role.get("permissions") or {}).items():
        entity = preset.entity(slug)
        if entity is None:
            reader.add(
                ROLES_FILE,
                f"{path}.permissions.{slug}",
                _("%(slug)s is not an entity of this preset.") % {"slug": slug},
            )
            continue
        for field_slug in rights.get("fields") or {}:
            if entity.field(field_slug) is None:
                reader.add(
                    ROLES_FILE,
                    f"{path}.permissions.{slug}.fields.{field_slug}",
                    _unknown_field(entity, field_slug),
                )


def _check_notification(preset: Preset, item: dict[str, Any], path: str, reader: _Reader) -> None:
    entity = preset.entity(item["entity"])
    if entity is None:
        reader.add(
            NOTIFICATIONS_FILE,
            f"{path}.entity",
            _("%(slug)s is not an entity of this preset.") % {"slug": item["entity"]},
        )
        return
    slug = item.get("field")
    if slug and entity.field(slug) is None:
        reader.add(NOTIFICATIONS_FILE, f"{path}.field", _unknown_field(entity, slug))
    for role in (r["role"] for r in item.get("recipients") or [] if "role" in r):
        if role != "owner" and role not in {r["name"] for r in preset.roles}:
            reader.add(
                NOTIFICATIONS_FILE,
                f"{path}.recipients",
                _("%(role)s is not a role of this preset.") % {"role": role},
            )


def _check_translation(preset: Preset, file: str, data: dict[str, Any], reader: _Reader) -> None:
    for slug, labels in (data.get("entities") or {}).items():
        entity = preset.entity(slug)
        if entity is None:
            reader.add(
                file,
                f"entities.{slug}",
                _("%(slug)s is not an entity of this preset.") % {"slug": slug},
            )
            continue
        for field_slug in labels.get("fields") or {}:
            if entity.field(field_slug) is None:
                reader.add(
                    file, f"entities.{slug}.fields.{field_slug}", _unknown_field(entity, field_slug)
                )
    known_roles = {r["name"] for r in preset.roles}
    for name in data.get("roles") or {}:
        if name not in known_roles:
            reader.add(
                file, f"roles.{name}", _("%(role)s is not a role of this preset.") % {"role": name}
            )


def _check_demo(preset: Preset, reader: _Reader) -> None:
    usernames = {u["username"] for u in preset.demo_users}
    known_roles = {r["name"] for r in preset.roles} | {"owner"}
    for number, user in enumerate(preset.demo_users):
        for r, role in enumerate(user.get("roles") or []):
            if role not in known_roles:
                reader.add(
                    USERS_FILE,
                    f"users[{number}].roles[{r}]",
                    _("%(role)s is not a role of this preset.") % {"role": role},
                )
    refs: set[str] = set()
    for demo in preset.demo_files:
        entity = preset.entity(demo.entity)
        if entity is None:
            reader.add(
                demo.file,
                "entity",
                _("%(slug)s is not an entity of this preset.") % {"slug": demo.entity},
            )
            continue
        mine: set[str] = set()
        for number, record in enumerate(demo.records):
            _check_demo_record(
                preset, entity, record, demo.file, f"records[{number}]", refs, usernames, reader
            )
            ref = record.get("_ref")
            if ref is not None:
                if ref in refs or ref in mine:
                    reader.add(
                        demo.file,
                        f"records[{number}]._ref",
                        _("The name %(ref)s is used twice.") % {"ref": ref},
                    )
                mine.add(str(ref))
        refs |= mine


def _check_demo_record(
    preset: Preset,
    entity: EntityDef,
    record: dict[str, Any],
    file: str,
    path: str,
    refs: set[str],
    usernames: set[str],
    reader: _Reader,
) -> None:
    for key, value in record.items():
        if key == "_ref":
            continue
        f = entity.field(key)
        if f is None:
            reader.add(file, f"{path}.{key}", _unknown_field(entity, key))
            continue
        if f["type"] == "child_table" and isinstance(value, list):
            lines = preset.entity(f["options"]["target"])
            for number, line in enumerate(value):
                if isinstance(line, dict) and lines is not None:
                    _check_demo_record(
                        preset,
                        lines,
                        line,
                        file,
                        f"{path}.{key}[{number}]",
                        refs,
                        usernames,
                        reader,
                    )
            continue
        for item_path, item in _strings(value, f"{path}.{key}"):
            if item.startswith("@ref:") and item[5:] not in refs:
                reader.add(
                    file,
                    item_path,
                    _(
                        "%(value)s names no demo record of an earlier file (records are loaded "
                        "file by file, in name order)."
                    )
                    % {"value": item},
                )
            elif item.startswith("@user:") and item[6:] not in usernames:
                reader.add(
                    file,
                    item_path,
                    _("%(value)s names no user of %(file)s.") % {"value": item, "file": USERS_FILE},
                )


def _strings(value: Any, path: str) -> list[tuple[str, str]]:
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, list):
        return [pair for n, v in enumerate(value) for pair in _strings(v, f"{path}[{n}]")]
    return []
