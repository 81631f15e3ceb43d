"""Cells of a list row: each value as text by the shared rule (`cardfile.web.ui.display`), with
what a table adds on top: choices as colour badges, links to the linked records' cards, yes/no
as icons, numbers aligned to the end."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cardfile.metamodel.access import Access
from cardfile.metamodel.fields import get_field_type
from cardfile.metamodel.models import Field
from cardfile.metamodel.records.filtering import expand_fields
from cardfile.metamodel.schema.dynamic import EntitySchema, SchemaRegistry
from cardfile.web.ui.display import (
    LEFT_TO_RIGHT_TYPES,
    Badge,
    Titles,
    choice_badge,
    choices_of,
    linked_ids,
    stored_text,
)

END_ALIGNED = frozenset({"integer", "decimal", "percent", "money", "duration"})


@dataclass
class Cell:
    text: str = ""
    kind: str = "text"  # text | badges | link | links | boolean | long
    href: str = ""
    end: bool = False
    badges: list[Badge] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)  # (text, href)
    value: Any = None
    ltr: bool = False  # written left to right in every language (phones, e-mail addresses)


@dataclass
class Row:
    obj: Any
    href: str
    cells: list[Cell]

    @property
    def id(self) -> int:
        return self.obj.pk


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
) -> list[Row]:
    """Rows of cells; other records' titles come with a fixed number of queries (links were
    expanded with the page; multi-links: one query per column; users: one query)."""
    titles = Titles(registry, access)
    _load_titles(titles, schema, objs, columns)
    return [
        Row(obj, titles.card_url(schema, obj.pk), [_cell(titles, schema, f, obj) for f in columns])
        for obj in objs
    ]


def _load_titles(
    titles: Titles, schema: EntitySchema, objs: list[Any], columns: list[Field]
) -> None:
    """The titles and names the cells show, loaded before the cells ask for them."""
    users: set[Any] = set()
    for f in columns:
        if f.type == "user":
            users.update(getattr(obj, f"{f.attname}_id") for obj in objs)
        elif f.type == "multi_link":
            target = titles.registry.entity_by_id(f.options["target_id"])
            titles.load(target, [i for obj in objs for i in linked_ids(titles, schema, f, obj)])
        elif f.type == "link":
            target = titles.registry.entity_by_id(f.options["target_id"])
            expanded = titles.access.can("read", target)  # see `link_columns`
            for obj in objs:
                pk = getattr(obj, f"{f.attname}_id")
                if pk is not None:
                    # expanded with the page within the row rules: None where not readable
                    titles.remember(target, pk, getattr(obj, f.attname) if expanded else None)
    titles.load_users(users - {None})


def _cell(titles: Titles, schema: EntitySchema, f: Field, obj: Any) -> Cell:
    ftype = get_field_type(f.type)
    if f.type == "multi_link":
        target = titles.registry.entity_by_id(f.options["target_id"])
        ids = linked_ids(titles, schema, f, obj)
        return Cell(
            kind="links",
            links=[
                (
                    titles.of(target, pk, bare=True),
                    titles.card_url(target, pk) if titles.readable(target, pk) else "",
                )
                for pk in ids
            ],
        )
    value = ftype.get_value(f, obj)
    if value is None:
        return Cell(end=f.type in END_ALIGNED)
    if f.type in ("choice", "multi_choice", "status"):
        choices = choices_of(f)
        values = list(value) if f.type == "multi_choice" else [value]
        return Cell(
            kind="badges",
            badges=[choice_badge(choices.get(v, {"value": v, "label": v})) for v in values],
        )
    text = stored_text(titles, schema, f, obj, bare=True)
    if f.type == "link":
        target = titles.registry.entity_by_id(f.options["target_id"])
        if not titles.readable(target, value):
            return Cell(text=text)
        return Cell(kind="link", text=text, href=titles.card_url(target, value))
    if f.type == "boolean":
        return Cell(kind="boolean", value=bool(value), text=text)
    end = f.type in END_ALIGNED
    if f.type in ("formula", "lookup", "rollup"):
        end = ftype.storage(f)[0].name in END_ALIGNED
    kind = "long" if f.type in ("long_text", "json") else "text"
    return Cell(kind=kind, text=text, end=end, ltr=f.type in LEFT_TO_RIGHT_TYPES)
