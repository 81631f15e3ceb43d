"""Notification rules (owners and those who configure the entity): a message when a record is
created, changed (any field, or one field) or moves to another state (of a status field;
into any state or one). The form's entity, event and status field decide what else it offers,
and htmx reloads that part when they change. Every check is the service's."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cardfile.metamodel.notify.models import NotificationRule, RuleEvent
from cardfile.metamodel.notify.selectors import rule_as_dict, rule_get, rule_list
from cardfile.metamodel.notify.services import rule_create, rule_delete, rule_update
from cardfile.metamodel.schema.dynamic import EntitySchema

from .common import FormErrors, config_view
from .notify_forms import (
    MESSAGE_KEYS,
    NotifyForm,
    channel_names,
    entity_choice,
    message_context,
    message_values,
)

KNOWN_KEYS = {"entity", "event", "field", "to_state", "recipients", *MESSAGE_KEYS}
# A changed field that fires a rule: any but the lines (their changes have their own events).
UNWATCHED_TYPES = ("child_table",)


def states_of(f: Any) -> list[tuple[str, str]]:
    """A status field's states as ``(value, label)``."""
    states = []
    for state in (f.options or {}).get("states", []) if f is not None else []:
        if isinstance(state, dict):
            states.append((str(state.get("value")), str(state.get("label") or state.get("value"))))
        else:
            states.append((str(state), str(state)))
    return states


def _trigger_text(rule: NotificationRule) -> str:
    field_label = rule.field.label if rule.field_id else ""
    if rule.event == RuleEvent.UPDATED:
        if field_label:
            return _("%(field)s changed") % {"field": field_label}
        return str(RuleEvent.UPDATED.label)
    if rule.event == RuleEvent.STATUS_CHANGED:
        labels = dict(states_of(rule.field))
        if rule.to_state:
            return _("%(field)s becomes %(state)s") % {
                "field": field_label,
                "state": labels.get(rule.to_state, rule.to_state),
            }
        return _("%(field)s changes") % {"field": field_label}
    return str(RuleEvent(rule.event).label) if rule.event in RuleEvent.values else rule.event


@config_view
def rule_index(request: HttpRequest) -> HttpResponse:
    rules = channel_names(rule_list(user=request.user))
    for rule in rules:
        rule.trigger_label = _trigger_text(rule)
    return render(
        request, "ui/config/notification_rules.html", {"rules": rules, "section": "rules"}
    )


# -- the form -----------------------------------------------------------------------------------


def _values_from_post(request: HttpRequest) -> dict[str, Any]:
    post = request.POST
    return {
        **message_values(request),
        "entity": post.get("entity", ""),
        "event": post.get("event", RuleEvent.CREATED),
        "field": post.get("field", ""),
        "to_state": post.get("to_state", ""),
    }


def _values_from_rule(rule: NotificationRule) -> dict[str, Any]:
    data = rule_as_dict(rule)
    return {
        **{key: data[key] for key in MESSAGE_KEYS},
        "entity": data["entity"],
        "event": data["event"],
        "field": data["field"] or "",
        "to_state": data["to_state"] or "",
    }


def _data(values: dict[str, Any]) -> dict[str, Any]:
    """The API's shape: a field only for the events that take one, a state only for status."""
    event = values["event"]
    takes_field = event in (RuleEvent.UPDATED, RuleEvent.STATUS_CHANGED)
    return {
        **{key: values[key] for key in MESSAGE_KEYS},
        "entity": values["entity"],
        "event": event,
        "field": (values["field"] or None) if takes_field else None,
        "to_state": values["to_state"] if event == RuleEvent.STATUS_CHANGED else "",
    }


def _context(request: HttpRequest, values: dict[str, Any], errors: FormErrors) -> dict[str, Any]:
    entities, schema = entity_choice(request, values.get("entity"))
    if schema is not None:
        values["entity"] = schema.slug
    fields: list[Any] = []
    status_fields: list[Any] = []
    if schema is not None:
        fields = [f for f in schema.fields if f.type not in UNWATCHED_TYPES]
        status_fields = [f for f in schema.fields if f.type == "status"]
    status = None
    if values.get("event") == RuleEvent.STATUS_CHANGED:
        status = _status_field(schema, values.get("field", "")) or (
            status_fields[0] if status_fields else None
        )
        values["field"] = status.slug if status is not None else ""
    return {
        "values": values,
        "errors": errors,
        "entities": entities,
        "events": RuleEvent.choices,
        "fields": fields,
        "status_fields": status_fields,
        "states": states_of(status),
        "section": "rules",
        **message_context(request, schema, values, errors),
    }


def _status_field(schema: EntitySchema | None, slug: str) -> Any:
    if schema is None or not slug:
        return None
    return next((f for f in schema.fields if f.slug == slug and f.type == "status"), None)


FORM = NotifyForm(
    name="rule",
    template="ui/config/notification_rule_form.html",
    part_template="ui/config/_rule_part.html",
    list_url="ui:config-rules",
    section="rules",
    context=_context,
    known_keys=frozenset(KNOWN_KEYS),
)


@require_POST
@config_view
def rule_part(request: HttpRequest) -> HttpResponse:
    """The part of the form that follows the entity, the event and the status field (htmx)."""
    return FORM.part(request, _values_from_post(request))


def _saved(rule: NotificationRule) -> str:
    return _("Notification rule %(label)s saved.") % {"label": rule.label}


@config_view
def rule_new(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        values = {"active": True, "event": RuleEvent.CREATED, "recipients": [], "channels": []}
        return FORM.render(request, values)
    values = _values_from_post(request)
    return FORM.save(
        request, values, None, lambda: rule_create(data=_data(values), user=request.user), _saved
    )


@config_view
def rule_edit(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = rule_get(rule_id=rule_id, user=request.user)
    if request.method != "POST":
        return FORM.render(request, _values_from_rule(rule), rule)
    values = _values_from_post(request)
    return FORM.save(
        request,
        values,
        rule,
        lambda: rule_update(rule_id=rule_id, data=_data(values), user=request.user),
        _saved,
    )


@config_view
def rule_remove(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = rule_get(rule_id=rule_id, user=request.user)
    return FORM.remove(
        request,
        rule,
        kind=_("notification rule"),
        delete=lambda: rule_delete(rule_id=rule_id, user=request.user),
        done=_("Notification rule %(label)s deleted.") % {"label": rule.label},
    )


urlpatterns = [
    path("notification-rules/", rule_index, name="config-rules"),
    path("notification-rules/new/", rule_new, name="config-rule-new"),
    path("notification-rules/part/", rule_part, name="config-rule-part"),
    path("notification-rules/<int:rule_id>/", rule_edit, name="config-rule"),
    path("notification-rules/<int:rule_id>/delete/", rule_remove, name="config-rule-delete"),
]
