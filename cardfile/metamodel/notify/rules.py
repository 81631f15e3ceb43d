"""Notification rules fired by record events: created, changed, status changed.

The handlers run after the writing transaction committed (`events.publish_on_commit`), in the
process that wrote. For each active rule of the entity and event — a changed-field rule only
when its field is among the changed ones, a status rule only for its field and target state —
the condition is asked of the database for that one record, the messages are made and handed
to the outbox in one transaction; they are sent after it commits. Keys carry the record's
version, so an event delivered twice sends once. A failing rule is logged and touches neither
the write nor the other rules.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.db.models import Q

from cardfile.core.deliveries import deliveries_create
from cardfile.core.exceptions import NotFound
from cardfile.metamodel import events
from cardfile.metamodel.formulas import check_condition, formula_check, formula_expression
from cardfile.metamodel.schema.dynamic import EntitySchema, SchemaRegistry, get_registry

from .models import NotificationRule, RuleEvent
from .recipients import record_messages

logger = logging.getLogger(__name__)

STATUS_CHANGED = getattr(events, "STATUS_CHANGED", "status_changed")
EVENTS = {
    events.RECORD_CREATED: RuleEvent.CREATED,
    events.RECORD_UPDATED: RuleEvent.UPDATED,
    STATUS_CHANGED: RuleEvent.STATUS_CHANGED,
}


def _matching(schema: EntitySchema, kind: str, payload: dict[str, Any]) -> list[NotificationRule]:
    rules = NotificationRule.objects.filter(
        entity_id=schema.entity.pk, event=kind, active=True
    ).order_by("pk")
    by_pk = {f.pk: f for f in schema.fields}
    if kind == RuleEvent.UPDATED:
        changed = set(payload.get("fields") or ())
        watched = [pk for pk, f in by_pk.items() if f.slug in changed]
        rules = rules.filter(Q(field__isnull=True) | Q(field_id__in=watched))
    elif kind == RuleEvent.STATUS_CHANGED:
        f = schema.by_slug.get(payload.get("field") or "")
        if f is None:
            return []
        rules = rules.filter(field_id=f.pk).filter(
            Q(to_state="") | Q(to_state=payload.get("to_state") or "")
        )
    return list(rules)


def _holds(schema: EntitySchema, rule: NotificationRule, record_id: int) -> bool:
    """Whether the record is live and the rule's condition is TRUE for it (in SQL)."""
    queryset = schema.objects().filter(pk=record_id)
    if rule.condition:
        checked = check_condition(formula_check(entity=schema, expression=rule.condition))
        condition = formula_expression(entity=schema, formula=checked)
        queryset = queryset.alias(_cf_when=condition).filter(_cf_when=True)
    return queryset.exists()


def _fire(
    registry: SchemaRegistry,
    schema: EntitySchema,
    rule: NotificationRule,
    record_id: int,
    version: Any,
) -> int:
    """Make and hand over one rule's messages for one record; the deliveries created."""
    with transaction.atomic():
        if not _holds(schema, rule, record_id):
            return 0
        obj = schema.objects().get(pk=record_id)
        version = version if version is not None else obj.version
        resolved = record_messages(
            registry,
            schema,
            rule,
            obj,
            key_prefix=f"rule:{rule.pk}:{record_id}:v{version}",
            source="rule",
        )
        for reason in resolved.skipped:
            logger.info("rule %s, record %s: %s", rule.pk, record_id, reason)
        return len(deliveries_create(messages=resolved.messages))


def on_record_event(*, event: str, entity: str, record_id: int, **payload: Any) -> int:
    """The handler of record events: fire the matching rules; the deliveries created."""
    kind = EVENTS.get(event)
    if kind is None:
        return 0
    registry = get_registry()
    try:
        schema = registry.entity(entity)
    except NotFound:
        return 0
    created = 0
    for rule in _matching(schema, kind, payload):
        try:
            created += _fire(registry, schema, rule, record_id, payload.get("version"))
        except Exception:
            logger.exception("Notification rule %s failed for %s #%s", rule.pk, entity, record_id)
    return created


def connect() -> None:
    """Subscribe the rules to the record events (`MetamodelConfig.ready`)."""
    for name in EVENTS:
        events.subscribe(name, on_record_event)
