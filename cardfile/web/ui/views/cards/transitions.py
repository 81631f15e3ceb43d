"""The card's transition buttons: one per move of a status the user may make now, labelled
with the transition's label (else the target state's) and coloured like the target state.
Each posts the move (`views.record_transition`) through `record_update` on the card's
version, as the card's save does."""

from __future__ import annotations

from typing import Any

from cardfile.metamodel.access import access_for
from cardfile.metamodel.fields import get_field_type
from cardfile.metamodel.records.statuses import allowed_moves, status_fields
from cardfile.metamodel.schema.dynamic import EntitySchema
from cardfile.web.ui.display import choice_badge


def card_transitions(schema: EntitySchema, obj: Any, user: Any) -> list[dict[str, Any]]:
    """For each status field of ``obj`` the user sees, its label and the buttons of the moves
    they may make from its current state (fields without a move are left out). Call it only
    for a user who may update the record: the moves are those of the current state's value."""
    access = access_for(user)
    hidden = frozenset() if access.unrestricted else access.hidden(schema)
    rows = []
    for f in status_fields(schema):
        if f.pk in hidden:
            continue
        current = get_field_type(f.type).get_value(f, obj)
        buttons = []
        for move in allowed_moves(schema, f, current, user):
            badge = choice_badge(move)
            buttons.append(
                {
                    "to": move["value"],
                    "text": move["transition_label"] or badge.label,
                    "state": badge.label,
                    "style": badge.style,
                    "dark": badge.dark,
                }
            )
        if buttons:
            rows.append({"field": f.slug, "label": f.label, "buttons": buttons})
    return rows
