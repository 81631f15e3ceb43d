"""The conflict panel: what differs between the values a user saved on a stale version and
the record as someone else has saved it since."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from cardfile.metamodel.schema.dynamic import EntitySchema
from cardfile.web.ui.display import Titles, value_text
from cardfile.web.ui.forms import FILE_TYPES, same_input


def conflict_rows(
    titles: Titles, schema: EntitySchema, data: dict[str, Any], current: dict[str, Any]
) -> list[dict[str, str]]:
    """Label, mine and theirs of each field whose value differs."""
    rows = []
    for slug, mine in data.items():
        f = schema.by_slug.get(slug)
        if f is None or slug not in current:
            continue
        theirs = current[slug]
        if f.type == "child_table":
            child = titles.registry.entity_by_id(f.options["target_id"])
            if _lines_differ(child, mine, theirs):
                rows.append(
                    {
                        "label": f.label,
                        "mine": _("%(n)s lines") % {"n": len(mine)},
                        "theirs": _("%(n)s lines") % {"n": len(theirs or [])},
                    }
                )
            continue
        if f.type in FILE_TYPES or same_input(f, mine, theirs):
            continue
        rows.append(
            {
                "label": f.label,
                "mine": value_text(titles, f, mine) or "—",
                "theirs": value_text(titles, f, theirs) or "—",
            }
        )
    return rows


def _lines_differ(
    child: EntitySchema, mine: list[dict[str, Any]], theirs: list[dict[str, Any]] | None
) -> bool:
    theirs = theirs or []
    if [line.get("id") for line in mine] != [line.get("id") for line in theirs]:
        return True
    return any(
        not same_input(child.by_slug[key], value, stored.get(key))
        for line, stored in zip(mine, theirs, strict=True)
        for key, value in line.items()
        if key in child.by_slug and child.by_slug[key].type not in FILE_TYPES
    )
