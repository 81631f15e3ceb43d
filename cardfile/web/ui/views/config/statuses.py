"""The status options in the field form: an editor of rows for the states (value, label,
colour, group, required fields) and for the transitions (from, to, roles, ``set`` formulas,
button label), read back into the options' JSON shape. The service checks what is sent and
its errors come back next to the editor, each naming its row (``transitions[2].to``)."""

from __future__ import annotations

from typing import Any

from django.http import QueryDict
from django.utils.translation import gettext_lazy

from cardfile.metamodel.fields.status import ANY_STATE, GROUPS
from cardfile.metamodel.schema.dynamic import EntitySchema

STATUS_KINDS = ("states", "transitions")
GROUP_LABELS = {
    "open": gettext_lazy("Open"),
    "in_progress": gettext_lazy("In progress"),
    "done": gettext_lazy("Done"),
    "cancelled": gettext_lazy("Cancelled"),
}


def status_kind(name: str, type_name: str) -> str | None:
    """The editor kind of a status option: rows of states or transitions, the initial state
    as a text input offering the states."""
    if type_name != "status":
        return None
    if name in STATUS_KINDS:
        return name
    return "text" if name == "initial" else None


def _text_list(values: Any) -> str:
    return ", ".join(str(v) for v in values or [])


def status_input_value(kind: str, value: Any) -> list[dict[str, Any]]:
    """Stored states or transitions -> the rows the editor shows."""
    rows = []
    for item in value or []:
        if kind == "states":
            state = {"value": item} if isinstance(item, str) else dict(item)
            state["required_text"] = _text_list(state.get("required"))
            state.setdefault("group", "open")
            rows.append(state)
        elif isinstance(item, dict):
            rows.append(
                {
                    **item,
                    "roles_text": _text_list(item.get("roles")),
                    "set_text": "\n".join(
                        f"{slug} = {formula}" for slug, formula in (item.get("set") or {}).items()
                    ),
                }
            )
    return rows


def status_editor_context(schema: EntitySchema, values: dict[str, Any]) -> dict[str, Any]:
    """What the rows offer: state values for from/to, groups, and the entity's field slugs."""
    states = [
        s if isinstance(s, str) else s.get("value", "") for s in values.get("states") or [] if s
    ]
    return {
        "state_values": [ANY_STATE, *states],
        "groups": [(group, str(GROUP_LABELS[group])) for group in GROUPS],
        "field_slugs": [f.slug for f in schema.fields],
    }


def _split(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]


def _set_from_text(text: str) -> dict[str, str]:
    """``slug = formula`` per line; a line without ``=`` keeps its text as the slug and an
    empty formula, which the options' check then names."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        slug, sep, formula = line.partition("=")
        found[slug.strip()] = formula.strip() if sep else ""
    return found


def status_options_from_post(kind: str, post: QueryDict) -> list[dict[str, Any]]:
    """The rows of the editor ``kind`` as the options' JSON; empty rows are left out."""
    if kind == "states":
        rows = zip(
            post.getlist("state_value"),
            post.getlist("state_label"),
            post.getlist("state_color"),
            post.getlist("state_group"),
            post.getlist("state_required"),
            strict=False,
        )
        states = []
        for value, label, color, group, required in rows:
            if not value.strip():
                continue
            state: dict[str, Any] = {"value": value.strip(), "group": group or "open"}
            if label.strip():
                state["label"] = label.strip()
            if color.strip():
                state["color"] = color.strip()
            if _split(required):
                state["required"] = _split(required)
            states.append(state)
        return states
    rows = zip(
        post.getlist("transition_from"),
        post.getlist("transition_to"),
        post.getlist("transition_roles"),
        post.getlist("transition_label"),
        post.getlist("transition_set"),
        strict=False,
    )
    transitions = []
    for source, target, roles, label, actions in rows:
        if not source.strip() and not target.strip():
            continue
        transition: dict[str, Any] = {"from": source.strip(), "to": target.strip()}
        if _split(roles):
            transition["roles"] = _split(roles)
        if label.strip():
            transition["label"] = label.strip()
        if _set_from_text(actions):
            transition["set"] = _set_from_text(actions)
        transitions.append(transition)
    return transitions


def status_error_key(name: str, key: str) -> bool:
    """Whether the error ``key`` belongs under the option ``name`` (``options.states[2]...``
    from the entity check, ``options.states.1.group`` from the JSON Schema)."""
    return key == f"options.{name}" or key.startswith((f"options.{name}.", f"options.{name}["))
