"""Cells of a list row: each value formatted by its field type for the user's language,
choices as colour badges, links as the linked records' titles (within the user's rights)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.utils.translation import get_language

from cardfile.metamodel.access import Access
from cardfile.metamodel.fields import get_field_type
from cardfile.metamodel.models import Field
from cardfile.metamodel.records.filtering import expand_fields
from cardfile.metamodel.schema.dynamic import EntitySchema, SchemaRegistry

from .common import card_urls

END_ALIGNED = frozenset({"integer", "decimal", "percent", "money", "duration"})
_HEX_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
_NAMED_COLORS = {
    "red": True,
    "orange": False,
    "yellow": False,
    "green": True,
    "teal": True,
    "cyan": False,
    "blue": True,
    "indigo": True,
    "purple": True,
    "pink": True,
    "gray": True,
    "grey": True,
}


@dataclass
class Badge:
    label: str
    style: str = ""  # a CSS custom property setting, built from checked colours only
    dark: bool = False


@dataclass
class Cell:
    text: str = ""
    kind: str = "text"  # text | badges | link | links | boolean | long
    href: str = ""
    end: bool = False
    badges: list[Badge] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)  # (text, href)
    value: Any = None


@dataclass
class Row:
    obj: Any
    href: str
    cells: list[Cell]

    @property
    def id(self) -> int:
        return self.obj.pk


def choice_badge(choice: dict[str, Any]) -> Badge:
    """A choice's badge; its colour is used only when it is a hex colour or a known name."""
    color = str(choice.get("color") or "").strip().lower()
    label = str(choice.get("label") or choice["value"])
    if _HEX_COLOR.match(color):
        digits = color[1:]
        if len(digits) == 3:
            digits = "".join(c * 2 for c in digits)
        r, g, b = (int(digits[i : i + 2], 16) for i in (0, 2, 4))
        dark = (0.299 * r + 0.587 * g + 0.114 * b) < 150
        return Badge(label, f"--cf-badge: #{digits}", dark)
    if color in _NAMED_COLORS:
        name = "gray" if color == "grey" else color
        return Badge(label, f"--cf-badge: var(--bs-{name})", _NAMED_COLORS[color])
    return Badge(label)


def choices_of(f: Field) -> dict[str, dict[str, Any]]:
    """A choice field's choices by value (plain strings read as their own label)."""
    found = {}
    for item in f.options.get("choices", []):
        choice = {"value": item, "label": item} if isinstance(item, str) else dict(item)
        found[choice["value"]] = choice
    return found


class TitleReader:
    """Titles of linked records as the user may read them: each entity's title field
    formatted, or ``#id`` where there is none (or it is hidden from the user)."""

    def __init__(self, registry: SchemaRegistry, access: Access, locale: str | None) -> None:
        self.registry = registry
        self.access = access
        self.locale = locale
        self._prefixes: dict[str, str] = {}

    def card_prefix(self, schema: EntitySchema) -> str:
        """Where the cards of ``schema``'s records are: ``<prefix><id>/``."""
        if schema.slug not in self._prefixes:
            self._prefixes[schema.slug] = card_urls(schema.slug)[0]
        return self._prefixes[schema.slug]

    def title_field(self, schema: EntitySchema) -> Field | None:
        title_id = schema.entity.title_field_id
        if title_id is None or title_id in self.access.hidden(schema):
            return None
        return next((f for f in schema.fields if f.pk == title_id), None)

    def title(self, schema: EntitySchema, obj: Any) -> str:
        f = self.title_field(schema)
        if f is not None:
            ftype = get_field_type(f.type)
            text = ftype.format(f, ftype.get_value(f, obj), locale=self.locale)
            if text:
                return text
        return f"#{obj.pk}"

    def titles(self, schema: EntitySchema, ids: Iterable[int]) -> dict[int, str]:
        """Titles of the records of ``schema`` with these ids that the user may read (one
        query)."""
        ids = set(ids)
        if not ids or not self.access.can("read", schema):
            return {}
        f = self.title_field(schema)
        rows = self.access.visible(schema, schema.model._base_manager.filter(pk__in=ids))
        if f is None:
            return {pk: f"#{pk}" for pk in rows.values_list("pk", flat=True)}
        return {obj.pk: self.title(schema, obj) for obj in rows}


def link_columns(
    registry: SchemaRegistry, schema: EntitySchema, columns: list[Field], access: Access
) -> list[Field]:
    """The link columns whose records the user may read: loaded with the page (``expand``)."""
    slugs = [
        f.slug
        for f in columns
        if f.type == "link" and access.can("read", registry.entity_by_id(f.options["target_id"]))
    ]
    return expand_fields(schema, ",".join(slugs), access) if slugs else []


def build_rows(
    registry: SchemaRegistry,
    schema: EntitySchema,
    objs: list[Any],
    columns: list[Field],
    access: Access,
    card_prefix: str,
) -> list[Row]:
    """Rows of formatted cells; other records' titles come with a fixed number of queries
    (links were expanded with the page; multi-links and users: one query per column)."""
    locale = get_language()
    reader = TitleReader(registry, access, locale)
    extra: dict[int, dict[int, str]] = {}
    for f in columns:
        if f.type == "multi_link":
            target = registry.entity_by_id(f.options["target_id"])
            ids = {i for obj in objs for i in obj.__dict__.get("_cf_links", {}).get(f.pk, [])}
            extra[f.pk] = reader.titles(target, ids)
        elif f.type == "user":
            ids = {getattr(obj, f"{f.attname}_id") for obj in objs} - {None}
            users = get_user_model().objects.filter(pk__in=ids)
            extra[f.pk] = {u.pk: u.get_username() for u in users}
    rows = []
    for obj in objs:
        cells = [_cell(registry, f, obj, reader, extra.get(f.pk, {}), locale) for f in columns]
        rows.append(Row(obj, f"{card_prefix}{obj.pk}/", cells))
    return rows


def _cell(
    registry: SchemaRegistry,
    f: Field,
    obj: Any,
    reader: TitleReader,
    extra: dict[int, str],
    locale: str | None,
) -> Cell:
    ftype = get_field_type(f.type)
    if f.type == "multi_link":
        target = registry.entity_by_id(f.options["target_id"])
        prefix = reader.card_prefix(target)
        ids = obj.__dict__.get("_cf_links", {}).get(f.pk, [])
        return Cell(
            kind="links",
            links=[(extra.get(i, f"#{i}"), f"{prefix}{i}/" if i in extra else "") for i in ids],
        )
    value = ftype.get_value(f, obj)
    if value is None:
        return Cell(end=f.type in END_ALIGNED)
    if f.type in ("choice", "multi_choice"):
        choices = choices_of(f)
        values = [value] if f.type == "choice" else list(value)
        return Cell(
            kind="badges",
            badges=[choice_badge(choices.get(v, {"value": v, "label": v})) for v in values],
        )
    if f.type == "link":
        target = registry.entity_by_id(f.options["target_id"])
        if not reader.access.can("read", target):
            return Cell(text=f"#{value}")
        linked = getattr(obj, f.attname)  # expanded with the page, within the row rules
        if linked is None:
            return Cell(text=f"#{value}")
        prefix = reader.card_prefix(target)
        return Cell(kind="link", text=reader.title(target, linked), href=f"{prefix}{value}/")
    if f.type == "user":
        return Cell(text=extra.get(value, f"#{value}"))
    if f.type == "boolean":
        return Cell(kind="boolean", value=bool(value), text=ftype.format(f, value, locale=locale))
    end = f.type in END_ALIGNED
    if f.type in ("formula", "lookup", "rollup"):
        end = ftype.storage(f)[0].name in END_ALIGNED
    kind = "long" if f.type in ("long_text", "json") else "text"
    return Cell(kind=kind, text=ftype.format(f, value, locale=locale), end=end)
