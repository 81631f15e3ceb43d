"""Status fields in the record service: the initial state, allowed transitions, fields required
on entering a state, ``set`` actions, and the STATUS_CHANGED event.

`status_clean` runs inside `cleaning.Cleaner.clean` for every row of a write (create, update,
bulk create, imports), after the given values are cleaned and before the required and database
checks, so its refusals are reported with the row's other problems and its ``set`` values are
written, checked and kept in history like any given value. `status_events` queues the events of
an update. `allowed_transitions` tells the UI and the API what a user may move a record to;
`allowed_moves` adds each move's transition label (the card's buttons).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from cardfile.formula_engine import FormulaError
from cardfile.metamodel import events
from cardfile.metamodel.fields import FieldValueError, get_field_type
from cardfile.metamodel.fields.status import ANY_STATE, state_label
from cardfile.metamodel.models import Field
from cardfile.metamodel.schema.dynamic import EntitySchema

if TYPE_CHECKING:
    from .cleaning import Cleaner, RowPlan
    from .writing import WriteContext

STATUS = "status"


def status_fields(schema: EntitySchema) -> list[Field]:
    return [f for f in schema.fields if f.type == STATUS]


def state_of(f: Field, value: str | None) -> dict[str, Any] | None:
    return next((s for s in f.options.get("states", []) if s["value"] == value), None)


def _public(state: dict[str, Any]) -> dict[str, Any]:
    return {key: state.get(key, "") for key in ("value", "label", "color", "group")}


def _quoted(f: Field, value: str | None) -> str:
    return f"\u201c{state_label(f, value)}\u201d"  # “New”


# -- who may move where ------------------------------------------------------------------------


def role_names(user: Any) -> frozenset[str]:
    """The names of the user's roles (their auth groups). Kept on the user's cached `Access`,
    which a change of memberships replaces."""
    from cardfile.metamodel.access import access_for

    if user is None or not getattr(user, "is_authenticated", False):
        return frozenset()
    access = access_for(user)
    cached = access.__dict__.get("_cf_role_names")
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True))
        access.__dict__["_cf_role_names"] = cached
    return cached


def _leading(f: Field, current: str | None, target: str) -> list[dict[str, Any]]:
    """The transitions from ``current`` to ``target``, those naming ``current`` first. From
    no state (records older than the field) the initial state is always reachable."""
    found = [
        t
        for t in f.options.get("transitions", [])
        if t["to"] == target and t["from"] in (current, ANY_STATE)
    ]
    found.sort(key=lambda t: t["from"] == ANY_STATE)
    if current is None and target == f.options.get("initial") and not found:
        found.append({"from": ANY_STATE, "to": target, "roles": [], "set": {}, "label": ""})
    return found


def _permitted(transition: dict[str, Any], roles: frozenset[str], owner: bool) -> bool:
    return owner or not transition["roles"] or bool(roles & set(transition["roles"]))


def _next_states(
    f: Field, current: str | None, roles: frozenset[str], owner: bool
) -> list[dict[str, Any]]:
    return [
        state
        for state in f.options.get("states", [])
        if state["value"] != current
        and any(_permitted(t, roles, owner) for t in _leading(f, current, state["value"]))
    ]


def allowed_transitions(
    schema: EntitySchema, field: Field | str, record_or_state: Any, user: Any
) -> list[dict[str, Any]]:
    """The states (``{"value", "label", "color", "group"}``, in the field's order) ``user``
    may move a record of ``schema`` to from its current state (a record, or a state value).
    Owners may make every transition of the graph; others those open to one of their roles.
    Nothing for a user who may not update the record (or whose status is read-only to them)."""
    return [
        {key: move[key] for key in ("value", "label", "color", "group")}
        for move in allowed_moves(schema, field, record_or_state, user)
    ]


def allowed_moves(
    schema: EntitySchema, field: Field | str, record_or_state: Any, user: Any
) -> list[dict[str, Any]]:
    """`allowed_transitions`, each state with the ``transition_label`` of the move to it (the
    label of the transition the service would take from the current state, or "")."""
    from cardfile.metamodel.access import access_for

    f = schema.by_slug[field] if isinstance(field, str) else field
    access = access_for(user)
    if not access.can("update", schema) or f.pk in access.entity(schema).read_only:
        return []
    if isinstance(record_or_state, str) or record_or_state is None:
        current = record_or_state
    else:
        current = get_field_type(f.type).get_value(f, record_or_state)
        rows = schema.model._base_manager.filter(pk=record_or_state.pk)
        if not access.unrestricted and not access.visible(schema, rows, "update").exists():
            return []
    roles, owner = role_names(user), access.unrestricted
    moves = []
    for state in _next_states(f, current, roles, owner):
        # the same transition `_on_update` chooses: the first permitted, those naming
        # the current state first
        chosen = next(
            t for t in _leading(f, current, state["value"]) if _permitted(t, roles, owner)
        )
        moves.append({**_public(state), "transition_label": chosen.get("label") or ""})
    return moves


def _allowed_text(states: list[dict[str, Any]]) -> str:
    if not states:
        return _("Allowed next states: none.")
    return _("Allowed next states: %(states)s.") % {
        "states": ", ".join(str(s.get("label") or s["value"]) for s in states)
    }


# -- the cleaner's hook ------------------------------------------------------------------------


def status_clean(cleaner: Cleaner, row: RowPlan) -> None:
    """Check and complete the status fields of one cleaned row (see the module's doc)."""
    for f in status_fields(row.schema):
        if row.prefix + f.slug in cleaner.errors:
            continue
        if row.creating:
            entering = _on_create(cleaner, row, f)
        elif f.pk in row.values:
            entering = _on_update(cleaner, row, f)
        else:
            continue
        if entering is not None:
            _check_entering(cleaner, row, f, entering)


def _owner(cleaner: Cleaner) -> bool:
    # the cleaner keeps no `Access` for owners, superusers and the system itself
    return cleaner.access is None


def _on_create(cleaner: Cleaner, row: RowPlan, f: Field) -> str | None:
    initial = f.options.get("initial")
    value = row.values.get(f.pk)
    if value is None:
        row.values[f.pk] = initial
        return initial
    if value != initial and f.slug in row.data and not _owner(cleaner):
        cleaner.add(
            row,
            f.slug,
            _(
                "A new %(entity)s starts in %(initial)s; only owners may create records in "
                "another state."
            )
            % {"entity": row.schema.entity.label, "initial": _quoted(f, initial)},
            f,
        )
        return None
    return value


def _on_update(cleaner: Cleaner, row: RowPlan, f: Field) -> str | None:
    current, target = row.before.get(f.pk), row.values[f.pk]
    owner = _owner(cleaner)
    roles = frozenset() if owner else role_names(cleaner.user)
    allowed = _allowed_text(_next_states(f, current, roles, owner))
    if target is None:
        cleaner.add(
            row,
            f.slug,
            _("The status cannot be emptied; it is %(current)s. %(allowed)s")
            % {"current": _quoted(f, current), "allowed": allowed},
            f,
        )
        return None
    leading = _leading(f, current, target)
    chosen = next((t for t in leading if _permitted(t, roles, owner)), None)
    if chosen is None:
        move = {"from": _quoted(f, current), "to": _quoted(f, target)}
        if leading:
            needed = sorted({role for t in leading for role in t["roles"]})
            message = ngettext(
                "Moving from %(from)s to %(to)s is reserved for the role %(roles)s.",
                "Moving from %(from)s to %(to)s is reserved for the roles %(roles)s.",
                len(needed),
            ) % {**move, "roles": ", ".join(needed)}
        else:
            message = _("Cannot move from %(from)s to %(to)s.") % move
        cleaner.add(row, f.slug, f"{message} {allowed}", f)
        return None
    if chosen["set"]:
        _apply_set(cleaner, row, f, chosen)
    return target


def _apply_set(cleaner: Cleaner, row: RowPlan, f: Field, transition: dict[str, Any]) -> None:
    """Evaluate the transition's ``set`` formulas on the draft record and write the results
    into the same write (so they are validated, stored and in history with the move)."""
    from cardfile.metamodel.access import access_for
    from cardfile.metamodel.formulas.draft import Draft, DraftRow
    from cardfile.metamodel.formulas.selectors import (
        compile_context,
        formula_check,
        formula_value_json,
    )

    from .cleaning import same_value

    system = access_for(None)  # the owner configured the action: it reads as the system
    branch = getattr(row.obj, "branch_id", None)
    draft = Draft(
        registry=cleaner.registry,
        access=system,
        context=compile_context(user=cleaner.user, branch=branch),
    )
    record = DraftRow(draft, row.schema, plan=row, obj=row.obj)
    for slug, expression in transition["set"].items():
        target = row.schema.by_slug.get(slug)
        if target is None:  # renamed or removed since the options were saved
            continue
        ftype = get_field_type(target.type)
        try:
            checked = formula_check(entity=row.schema, expression=expression)
            result = record.evaluate(checked)
            value = ftype.to_internal(target, formula_value_json(checked.type, result))
        except (FormulaError, FieldValueError) as error:
            cleaner.add(
                row,
                target.slug,
                _("The transition to %(state)s sets %(field)s, but %(problem)s")
                % {
                    "state": _quoted(f, transition["to"]),
                    "field": target.slug,
                    "problem": error.message,
                },
                target,
            )
            continue
        old = ftype.get_value(target, row.obj) if row.obj is not None else None
        if row.obj is not None and target.pk not in row.before:
            if same_value(target, old, value):
                row.values.pop(target.pk, None)
                continue
            row.before[target.pk] = old
        row.values[target.pk] = value


def _value_now(cleaner: Cleaner, row: RowPlan, f: Field) -> Any:
    """``f``'s value in the record as this write leaves it."""
    from .cleaning import multi_link_ids

    if f.pk in row.values:
        return row.values[f.pk]
    if f.type == "child_table":
        plan = row.lines.get(f.pk)
        if plan is not None:
            return plan.keep
        if row.obj is None:
            return []
        child = cleaner.registry.entity_by_id(f.options["target_id"])
        stored = child.objects().filter(**{f"{f.attname}_id": row.obj.pk})
        return list(stored.values_list("pk", flat=True)[:1])
    if row.obj is None:
        return None
    if f.type == "multi_link":
        return multi_link_ids(cleaner.registry, f, [row.obj.pk])[row.obj.pk]
    ftype = get_field_type(f.type)
    return ftype.get_value(f, row.obj) if ftype.has_column else None


def _check_entering(cleaner: Cleaner, row: RowPlan, f: Field, value: str) -> None:
    state = state_of(f, value)
    if state is None:
        return
    for slug in state.get("required", []):
        needed = row.schema.by_slug.get(slug)
        if needed is None or row.prefix + slug in cleaner.errors:
            continue
        current = _value_now(cleaner, row, needed)
        if get_field_type(needed.type).is_blank(current):
            cleaner.add(
                row,
                slug,
                _("%(field)s is required in the state %(state)s.")
                % {"field": needed.label, "state": _quoted(f, value)},
                needed,
            )


# -- events ------------------------------------------------------------------------------------


def status_events(ctx: WriteContext, row: RowPlan, version: int) -> None:
    """Queue STATUS_CHANGED (published after commit) for each status the update moved."""
    for f in status_fields(row.schema):
        if f.pk not in row.values or f.pk not in row.before:
            continue
        ctx.published.append(
            (
                events.STATUS_CHANGED,
                {
                    "entity": row.schema.slug,
                    "record_id": row.obj.pk,
                    "user_id": ctx.user_id,
                    "version": version,
                    "field": f.slug,
                    "from_state": row.before[f.pk],
                    "to_state": row.values[f.pk],
                },
            )
        )
