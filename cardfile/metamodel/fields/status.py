"""The status field type: a choice whose states move along allowed transitions.

Options (data, not code): ``states`` — ``{"value", "label", "color", "group", "required"}``,
in board order; ``initial`` — the state a new record starts in; ``transitions`` —
``{"from", "to", "roles", "set", "label"}``. ``from`` may be ``"*"`` (any state); ``roles``
empty means anyone who may update the record; ``set`` maps field slugs to formulas evaluated
when the transition is made. The record service enforces them (`records.statuses`); here the
options are checked on their own (`check_options`) and against the entity's fields
(`check_in_entity`, called by the schema services where the entity is known).
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .base import FieldOptionsError, register
from .simple import ChoiceType

GROUPS = ("open", "in_progress", "done", "cancelled")
ANY_STATE = "*"
# Types whose value a transition's ``set`` may not write (derived, assigned, or not a column).
_NOT_SETTABLE = frozenset(
    {"child_table", "multi_link", "file", "image", "autonumber", "formula", "lookup", "rollup"}
)

_STATE_SCHEMA = {
    "oneOf": [
        {"type": "string", "minLength": 1},
        {
            "type": "object",
            "properties": {
                "value": {"type": "string", "minLength": 1},
                "label": {"type": "string"},
                "color": {"type": "string"},
                "group": {"enum": list(GROUPS)},
                "required": {"type": "array", "items": {"type": "string", "minLength": 1}},
            },
            "required": ["value"],
            "additionalProperties": False,
        },
    ]
}
_TRANSITION_SCHEMA = {
    "type": "object",
    "properties": {
        "from": {"type": "string", "minLength": 1},
        "to": {"type": "string", "minLength": 1},
        "roles": {"type": "array", "items": {"type": "string", "minLength": 1}},
        "set": {"type": "object", "additionalProperties": {"type": "string", "minLength": 1}},
        "label": {"type": "string"},
    },
    "required": ["from", "to"],
    "additionalProperties": False,
}


def state_label(field: Any, value: str | None) -> str:
    """A state's label (its value when the options no longer name it; "—" for none)."""
    if value is None:
        return "—"
    for state in field.options.get("states", []):
        if state["value"] == value:
            return str(state.get("label") or value)
    return value


@register
class StatusType(ChoiceType):
    """A choice with states, an initial state and allowed transitions between them."""

    name = "status"
    label = gettext_lazy("Status")
    formula_type = "choice"
    options_schema = {
        "type": "object",
        "properties": {
            "states": {"type": "array", "minItems": 1, "items": _STATE_SCHEMA},
            "initial": {"type": "string", "minLength": 1},
            "transitions": {"type": "array", "items": _TRANSITION_SCHEMA, "default": []},
        },
        "required": ["states"],
    }

    # -- options -------------------------------------------------------------------------------

    def items(self, field: Any) -> list[dict[str, Any]]:
        return list(field.options.get("states", []))

    def check_options(self, options: dict[str, Any]) -> dict[str, Any]:
        errors: dict[str, list[str]] = {}
        states = []
        for item in options["states"]:
            state = {"value": item} if isinstance(item, str) else dict(item)
            state.setdefault("label", state["value"])
            state.setdefault("color", "")
            state.setdefault("group", "open")
            state["required"] = list(dict.fromkeys(state.get("required") or []))
            states.append(state)
        values = [s["value"] for s in states]
        repeated = sorted({v for v in values if values.count(v) > 1})
        if repeated:
            errors["states"] = [
                _("Each state must appear once; repeated: %(values)s.")
                % {"values": ", ".join(repeated)}
            ]
        if ANY_STATE in values:
            errors["states"] = [_("%(any)s means any state; it cannot be a state.") % {"any": "*"}]
        known = ", ".join(values)
        initial = options.get("initial") or values[0]
        if initial not in values:
            errors["initial"] = [
                _("%(value)r is not one of the states: %(states)s.")
                % {"value": initial, "states": known}
            ]
        transitions = []
        for number, item in enumerate(options.get("transitions") or [], start=1):
            key = f"transitions[{number}]"
            for end in ("from", "to"):
                value = item[end]
                if value == ANY_STATE and end == "from":
                    continue
                if value not in values:
                    errors.setdefault(f"{key}.{end}", []).append(
                        _("%(value)r is not one of the states: %(states)s.")
                        % {"value": value, "states": known}
                    )
            if item["from"] == item["to"]:
                errors.setdefault(f"{key}.to", []).append(
                    _("A transition must lead to another state.")
                )
            transitions.append(
                {
                    "from": item["from"],
                    "to": item["to"],
                    "roles": list(dict.fromkeys(item.get("roles") or [])),
                    "set": dict(item.get("set") or {}),
                    "label": item.get("label", ""),
                }
            )
        if errors:
            raise FieldOptionsError(
                _("The states or transitions of the status are not consistent."), errors=errors
            )
        return {**options, "states": states, "initial": initial, "transitions": transitions}

    def check_in_entity(self, schema: Any, slug: str, options: dict[str, Any]) -> dict[str, Any]:
        """Errors (option path -> messages, and ``formula`` for the first bad formula) of the
        field slugs and formulas the options name, checked against the entity ``schema``."""
        from cardfile.formula_engine import FormulaError
        from cardfile.metamodel.formulas.rules import _fits
        from cardfile.metamodel.formulas.schema_view import field_formula_type
        from cardfile.metamodel.formulas.selectors import formula_check
        from cardfile.metamodel.schema.dynamic import get_registry

        errors: dict[str, list[str]] = {}
        formula: dict[str, Any] | None = None
        fields = {f.slug: f for f in schema.fields if f.slug != slug}

        def unknown(name: str) -> str:
            return _("%(entity)s has no field %(field)s; it has: %(fields)s.") % {
                "entity": schema.slug,
                "field": name,
                "fields": ", ".join(fields) or "-",
            }

        for number, state in enumerate(options["states"], start=1):
            for name in state["required"]:
                if name not in fields:
                    errors.setdefault(f"states[{number}].required", []).append(unknown(name))
        for number, transition in enumerate(options["transitions"], start=1):
            for name, expression in transition["set"].items():
                key = f"transitions[{number}].set.{name}"
                target = fields.get(name)
                if target is None:
                    errors.setdefault(key, []).append(unknown(name))
                    continue
                if target.type in _NOT_SETTABLE:
                    errors.setdefault(key, []).append(
                        _("A %(type)s field cannot be set by a transition.") % {"type": target.type}
                    )
                    continue
                try:
                    checked = formula_check(entity=schema, expression=expression)
                except FormulaError as error:
                    errors.setdefault(key, []).append(error.message)
                    formula = formula or error.as_dict()
                    continue
                expected = field_formula_type(get_registry(), target)
                if not _fits(expected, checked.type):
                    errors.setdefault(key, []).append(
                        _("The formula gives %(given)s, but %(field)s holds %(type)s.")
                        % {"given": checked.type, "field": name, "type": target.type}
                    )
        return {"errors": errors, "formula": formula}
