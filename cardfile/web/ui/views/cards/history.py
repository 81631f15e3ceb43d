"""A record's history on its card: who changed what and when, values shown as on the card."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.dateparse import parse_datetime
from django.utils.translation import get_language
from django.views.decorators.http import require_GET

from cardfile.metamodel.access import access_for
from cardfile.metamodel.fields import get_field_type
from cardfile.metamodel.models import Field, RecordHistory
from cardfile.metamodel.records import record_history
from cardfile.metamodel.schema.dynamic import EntitySchema
from cardfile.web.ui.display import Titles, raw_text, screen_entity, value_text

from .common import card_view


@require_GET
@card_view
def record_history_view(request: HttpRequest, entity: str, record_id: int) -> HttpResponse:
    registry, schema = screen_entity(entity)
    entries = record_history(entity, record_id, user=request.user)
    titles = Titles(registry, access_for(request.user))
    shown = [_history_entry(schema, titles, entry) for entry in reversed(entries)]
    return render(request, "ui/_card_history.html", {"entries": shown})


def _history_value(f: Field | None, titles: Titles, value: Any) -> str:
    if value is None or value == []:
        return "—"
    if f is None:
        return raw_text(value)
    return value_text(titles, f, value)


def _line_changes(
    child: EntitySchema | None, titles: Titles, changes: dict[str, Any]
) -> list[dict[str, str]]:
    shown = []
    for key, change in changes.items():
        if not isinstance(change, dict):
            continue
        f = child.by_slug.get(key) if child is not None else None
        shown.append(
            {
                "label": f.label if f is not None else key,
                "before": _history_value(f, titles, change.get("before")),
                "after": _history_value(f, titles, change.get("after")),
            }
        )
    return shown


def _history_entry(schema: EntitySchema, titles: Titles, entry: dict[str, Any]) -> dict[str, Any]:
    changes = []
    for slug, change in entry["changes"].items():
        f = schema.by_slug.get(slug)
        label = f.label if f is not None else slug
        if "before" in change or "after" in change:
            changes.append(
                {
                    "label": label,
                    "before": _history_value(f, titles, change.get("before")),
                    "after": _history_value(f, titles, change.get("after")),
                }
            )
            continue
        child = (
            titles.registry.entity_by_id(f.options["target_id"])
            if f is not None and f.type == "child_table"
            else None
        )
        lines = {
            "added": [_line_text(child, titles, v) for v in change.get("added", [])],
            "removed": [_line_text(child, titles, v) for v in change.get("removed", [])],
            "changed": [
                {
                    "id": line.get("id"),
                    "changes": _line_changes(child, titles, line.get("changes", {})),
                }
                for line in change.get("changed", [])
            ],
        }
        changes.append({"label": label, "lines": lines})
    moment = parse_datetime(entry["at"])
    try:
        action_label = RecordHistory.Action(entry["action"]).label
    except ValueError:
        action_label = entry["action"]
    return {
        **entry,
        "changes": changes,
        "at_text": get_field_type("datetime").format(None, moment, locale=get_language()),
        "action_label": action_label,
    }


def _line_text(child: EntitySchema | None, titles: Titles, values: dict[str, Any]) -> str:
    parts = []
    for key, value in values.items():
        if key == "id" or value in (None, "", []):
            continue
        f = child.by_slug.get(key) if child is not None else None
        parts.append(f"{f.label if f else key}: {_history_value(f, titles, value)}")
    return "; ".join(parts)
