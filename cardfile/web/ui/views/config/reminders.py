"""Reminders (owners and those who configure the entity): a list, and a form whose entity
decides the rest — the date field, the recipients offered, the template's variables — which
htmx reloads when the entity or the field changes. Notification rules are `notify_rules`.

The offset is typed as a positive amount with "before" or "after"; the API's signed amount is
made from the two. Every check is the service's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from cardfile.metamodel.notify.models import OffsetUnit, Reminder, RepeatUnit
from cardfile.metamodel.notify.selectors import reminder_as_dict, reminder_get, reminder_list
from cardfile.metamodel.notify.services import reminder_create, reminder_delete, reminder_update
from cardfile.metamodel.schema.dynamic import EntitySchema

from .common import FormErrors, config_view
from .notify_forms import (
    MESSAGE_KEYS,
    NotifyForm,
    channel_names,
    entity_choice,
    message_context,
    message_data,
    message_values,
    whole,
)

DATE_TYPES = ("date", "datetime")
BEFORE, AFTER = "before", "after"


def offset_text(amount: int, unit: str, field_label: str) -> str:
    """ "1 day before Due", "3 hours after Pick-up", "at Pick-up"."""
    if not amount:
        return _("at %(field)s") % {"field": field_label}
    n = abs(amount)
    amounts = {
        OffsetUnit.MINUTES: ngettext("%(n)d minute", "%(n)d minutes", n),
        OffsetUnit.HOURS: ngettext("%(n)d hour", "%(n)d hours", n),
        OffsetUnit.DAYS: ngettext("%(n)d day", "%(n)d days", n),
        OffsetUnit.MONTHS: ngettext("%(n)d month", "%(n)d months", n),
    }
    text = amounts.get(unit, f"%(n)d {unit}") % {"n": n}
    if amount < 0:
        return _("%(amount)s before %(field)s") % {"amount": text, "field": field_label}
    return _("%(amount)s after %(field)s") % {"amount": text, "field": field_label}


def repeat_text(reminder: Reminder) -> str:
    if not reminder.repeat_every or not reminder.repeat_unit:
        return ""
    if reminder.repeat_unit == RepeatUnit.MONTHS:
        text = ngettext("every month", "every %(n)d months", reminder.repeat_every)
    else:
        text = ngettext("every day", "every %(n)d days", reminder.repeat_every)
    return text % {"n": reminder.repeat_every}


@config_view
def reminder_index(request: HttpRequest) -> HttpResponse:
    reminders = channel_names(reminder_list(user=request.user))
    for reminder in reminders:
        reminder.offset_label = offset_text(
            reminder.offset_amount, reminder.offset_unit, reminder.field.label
        )
        reminder.repeat_label = repeat_text(reminder)
    return render(
        request, "ui/config/reminders.html", {"reminders": reminders, "section": "reminders"}
    )


# -- the form -----------------------------------------------------------------------------------


def _values_from_post(request: HttpRequest) -> dict[str, Any]:
    post = request.POST
    return {
        **message_values(request),
        "entity": post.get("entity", ""),
        "field": post.get("field", ""),
        # absent (the entity chosen before had no date field): the new form's defaults
        "offset_amount": post.get("offset_amount", "1").strip(),
        "offset_unit": post.get("offset_unit", OffsetUnit.DAYS),
        "offset_direction": post.get("offset_direction", BEFORE),
        "at_time": post.get("at_time", "09:00").strip(),
        "repeat_every": post.get("repeat_every", "").strip(),
        "repeat_unit": post.get("repeat_unit", RepeatUnit.MONTHS),
    }


def _values_from_reminder(reminder: Reminder) -> dict[str, Any]:
    data = reminder_as_dict(reminder)
    amount = data["offset"]["amount"]
    repeat = data["repeat"] or {}
    return {
        **{key: data[key] for key in MESSAGE_KEYS},
        "entity": data["entity"],
        "field": data["field"],
        "offset_amount": str(abs(amount)),
        "offset_unit": data["offset"]["unit"],
        "offset_direction": BEFORE if amount < 0 else AFTER,
        "at_time": data["at_time"],
        "repeat_every": str(repeat.get("every", "")),
        "repeat_unit": repeat.get("unit", RepeatUnit.MONTHS),
    }


def _date_field(schema: EntitySchema | None, slug: str) -> Any:
    if schema is None:
        return None
    return next((f for f in schema.fields if f.slug == slug and f.type in DATE_TYPES), None)


def _data(values: dict[str, Any], schema: EntitySchema | None) -> dict[str, Any]:
    """The API's shape of the form's values."""
    amount = whole(values["offset_amount"] or "0")
    if isinstance(amount, int):
        amount = -abs(amount) if values["offset_direction"] == BEFORE else abs(amount)
    chosen = _date_field(schema, values["field"])
    repeat = None
    if values["repeat_every"]:
        repeat = {"every": whole(values["repeat_every"]), "unit": values["repeat_unit"]}
    return {
        **message_data(values),
        "entity": values["entity"],
        "field": values["field"] or None,
        "offset": {"amount": amount, "unit": values["offset_unit"]},
        # the time of day counts for a date field only
        "at_time": (values["at_time"] or None) if chosen and chosen.type == "date" else None,
        "repeat": repeat,
    }


def _under(errors: FormErrors, key: str) -> list[str]:
    """The messages of ``key`` and of its parts (``offset.amount``, ``offset.unit``)."""
    return [m for k, found in errors.items() if k == key or k.startswith(f"{key}.") for m in found]


def _context(request: HttpRequest, values: dict[str, Any], errors: FormErrors) -> dict[str, Any]:
    entities, schema = entity_choice(request, values.get("entity"))
    if schema is not None:
        values["entity"] = schema.slug
    date_fields = [f for f in schema.fields if f.type in DATE_TYPES] if schema else []
    if date_fields and not _date_field(schema, values.get("field", "")):
        values["field"] = date_fields[0].slug
    chosen = _date_field(schema, values.get("field", ""))
    return {
        "offset_errors": _under(errors, "offset"),
        "repeat_errors": _under(errors, "repeat"),
        "values": values,
        "errors": errors,
        "entities": entities,
        "date_fields": date_fields,
        "chosen": chosen,
        "offset_units": OffsetUnit.choices,
        "repeat_units": RepeatUnit.choices,
        "section": "reminders",
        **message_context(request, schema, values, errors),
    }


KNOWN_KEYS = {
    *MESSAGE_KEYS,
    *("entity", "field", "offset", "offset.amount", "offset.unit", "at_time"),
    *("repeat", "repeat.every", "repeat.unit"),
}
FORM = NotifyForm(
    name="reminder",
    template="ui/config/reminder_form.html",
    part_template="ui/config/_reminder_part.html",
    list_url="ui:config-reminders",
    section="reminders",
    context=_context,
    known_keys=frozenset(KNOWN_KEYS),
)


@require_POST
@config_view
def reminder_part(request: HttpRequest) -> HttpResponse:
    """The part of the form that follows the entity and the field (htmx)."""
    return FORM.part(request, _values_from_post(request))


def _saved(reminder: Reminder) -> str:
    return _("Reminder %(label)s saved.") % {"label": reminder.label}


def _writer(
    request: HttpRequest, values: dict[str, Any], reminder_id: int | None = None
) -> Callable[[], Reminder]:
    """What saving the form does: create, or update ``reminder_id``."""
    _entities, schema = entity_choice(request, values["entity"])
    data = _data(values, schema)
    if reminder_id is None:
        return lambda: reminder_create(data=data, user=request.user)
    return lambda: reminder_update(reminder_id=reminder_id, data=data, user=request.user)


@config_view
def reminder_new(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        values = {
            "active": True,
            "offset_amount": "1",
            "offset_unit": OffsetUnit.DAYS,
            "offset_direction": BEFORE,
            "at_time": "09:00",
            "repeat_unit": RepeatUnit.MONTHS,
            "recipients": [],
            "channels": [],
        }
        return FORM.render(request, values)
    values = _values_from_post(request)
    return FORM.save(request, values, None, _writer(request, values), _saved)


@config_view
def reminder_edit(request: HttpRequest, reminder_id: int) -> HttpResponse:
    reminder = reminder_get(reminder_id=reminder_id, user=request.user)
    if request.method != "POST":
        return FORM.render(request, _values_from_reminder(reminder), reminder)
    values = _values_from_post(request)
    return FORM.save(request, values, reminder, _writer(request, values, reminder_id), _saved)


@config_view
def reminder_remove(request: HttpRequest, reminder_id: int) -> HttpResponse:
    reminder = reminder_get(reminder_id=reminder_id, user=request.user)
    return FORM.remove(
        request,
        reminder,
        kind=_("reminder"),
        delete=lambda: reminder_delete(reminder_id=reminder_id, user=request.user),
        done=_("Reminder %(label)s deleted.") % {"label": reminder.label},
    )


urlpatterns = [
    path("reminders/", reminder_index, name="config-reminders"),
    path("reminders/new/", reminder_new, name="config-reminder-new"),
    path("reminders/part/", reminder_part, name="config-reminder-part"),
    path("reminders/<int:reminder_id>/", reminder_edit, name="config-reminder"),
    path("reminders/<int:reminder_id>/delete/", reminder_remove, name="config-reminder-delete"),
]
