"""Checking reminder and rule definitions as the API sends them: each key on its own, every
problem reported at once and named by its key (``offset.unit``, ``recipients[2].field``).

A definition that could not run is refused when it is saved: the condition is type-checked
against the entity, templates are compiled, recipient paths are walked through the schema,
channels must be registered.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils.translation import gettext as _

from cardfile.core.exceptions import Problems
from cardfile.core.templating import TemplateProblem, template_check
from cardfile.formula_engine import FormulaError
from cardfile.metamodel.formulas import check_condition, formula_check
from cardfile.metamodel.models import Field
from cardfile.metamodel.schema.dynamic import EntitySchema, SchemaRegistry

from .models import LABEL_MAX_LENGTH, SUBJECT_MAX_LENGTH, OffsetUnit, RepeatUnit
from .recipients import REACHES, SYSTEM_USERS

KNOWN_CHANNELS = ("email", "sms", "telegram", "in_app")
TEMPLATE_MAX_LENGTH = 20_000
# The largest offset or period per unit: about a hundred years.
LIMITS = {"minutes": 52_560_000, "hours": 876_000, "days": 36_500, "months": 1_200}
DATE_TYPES = ("date", "datetime")
_SEP = ", "


def channel_choices() -> list[str]:
    """The registered channels (the outbox's registry), else the four the platform has."""
    from cardfile.core.deliveries import channel_names

    return channel_names() or list(KNOWN_CHANNELS)


def one_of(values: Any) -> str:
    return _SEP.join(str(v) for v in values)


def clean_keys(data: Any, allowed: tuple[str, ...], problems: Problems) -> dict[str, Any]:
    if not isinstance(data, dict):
        problems.add("non_field_errors", _("Send a JSON object."))
        problems.raise_any()
    for key in data:
        if key not in allowed:
            problems.add(
                key, _("Unknown attribute; expected some of: %(keys)s.") % {"keys": one_of(allowed)}
            )
    return data


def clean_entity(registry: SchemaRegistry, value: Any, problems: Problems) -> EntitySchema | None:
    if not isinstance(value, str) or not value:
        problems.add("entity", _("Name the entity by its slug."))
        return None
    try:
        return registry.entity(value)
    except Exception:  # NotFound: said in the entity's words
        problems.add("entity", _("There is no entity %(entity)s.") % {"entity": value})
        return None


def clean_label(value: Any, default: str, problems: Problems) -> str:
    text = problems.text("label", value, LABEL_MAX_LENGTH)
    return (text or default)[:LABEL_MAX_LENGTH] if text is not None else default


def clean_date_field(schema: EntitySchema, value: Any, problems: Problems) -> Field | None:
    """The reminder's date or datetime field of ``schema``."""
    dates = [f.slug for f in schema.fields if f.type in DATE_TYPES]
    f = schema.by_slug.get(value) if isinstance(value, str) else None
    if f is None or f.type not in DATE_TYPES:
        problems.add(
            "field",
            _("%(value)r is not a date or datetime field of %(entity)s; it has: %(fields)s.")
            % {"value": value, "entity": schema.slug, "fields": one_of(dates) or "-"},
        )
        return None
    return f


def _whole(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def clean_offset(value: Any, problems: Problems) -> tuple[int, str]:
    """``{"amount": -1, "unit": "days"}`` -> (amount, unit); absent: the moment itself."""
    if value is None:
        return 0, OffsetUnit.DAYS
    if not isinstance(value, dict) or set(value) - {"amount", "unit"}:
        problems.add("offset", _('Expected {"amount": <whole number>, "unit": <unit>}.'))
        return 0, OffsetUnit.DAYS
    unit = value.get("unit", OffsetUnit.DAYS)
    amount = _whole(value.get("amount", 0))
    if unit not in OffsetUnit.values:
        problems.add(
            "offset.unit",
            _("%(value)r is not a unit; use one of: %(units)s.")
            % {"value": unit, "units": one_of(OffsetUnit.values)},
        )
        return 0, OffsetUnit.DAYS
    if amount is None or abs(amount) > LIMITS[unit]:
        problems.add(
            "offset.amount",
            _("Expected a whole number of %(unit)s between -%(n)d and %(n)d (negative: before).")
            % {"unit": unit, "n": LIMITS[unit]},
        )
        return 0, unit
    return amount, unit


def clean_repeat(value: Any, problems: Problems) -> tuple[int | None, str | None]:
    """``{"every": 6, "unit": "months"}`` -> (6, "months"); null: no repetition."""
    if value is None:
        return None, None
    if not isinstance(value, dict) or set(value) - {"every", "unit"}:
        problems.add("repeat", _('Expected {"every": <whole number>, "unit": "days" | "months"}.'))
        return None, None
    unit, every = value.get("unit"), _whole(value.get("every"))
    if unit not in RepeatUnit.values:
        problems.add(
            "repeat.unit",
            _("%(value)r is not a unit; use one of: %(units)s.")
            % {"value": unit, "units": one_of(RepeatUnit.values)},
        )
        return None, None
    if every is None or not 1 <= every <= LIMITS[unit]:
        problems.add(
            "repeat.every",
            _("Expected a whole number of %(unit)s from 1 to %(n)d.")
            % {"unit": unit, "n": LIMITS[unit]},
        )
        return None, None
    return every, unit


def clean_at_time(value: Any, problems: Problems) -> dt.time:
    if value is None:
        return dt.time(9, 0)
    try:
        moment = dt.time.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None:
        problems.add("at_time", _("Expected a time of day such as 09:00."))
        return dt.time(9, 0)
    return moment.replace(tzinfo=None, microsecond=0)


def clean_condition(schema: EntitySchema, value: Any, problems: Problems) -> str:
    """A boolean formula over the record, checked as validation rules are; blank: always."""
    if value is None:
        return ""
    if not isinstance(value, str):
        problems.add("condition", _("A condition is a formula (text), or empty for always."))
        return ""
    value = value.strip()
    if not value:
        return ""
    try:
        check_condition(formula_check(entity=schema, expression=value))
    except FormulaError as error:
        problems.add("condition", error.message)
        if problems.formula is None:
            problems.formula = {**error.as_dict(), "path": "condition"}
    return value


def _path_problem(
    registry: SchemaRegistry, schema: EntitySchema, path: str
) -> tuple[str | None, str | None]:
    """(the kind the path ends in, None) or (None, what is wrong with it)."""
    steps = path.split(".")
    for position, slug in enumerate(steps):
        last = position == len(steps) - 1
        if last and slug in SYSTEM_USERS:
            return "user", None
        f = schema.by_slug.get(slug)
        if f is None:
            return None, _("%(entity)s has no field %(field)s.") % {
                "entity": schema.slug,
                "field": slug,
            }
        if not last:
            if f.type != "link":
                return None, _(
                    "%(field)s of %(entity)s is a %(type)s field; only links lead further."
                ) % {"field": slug, "entity": schema.slug, "type": f.type}
            schema = registry.entity_by_id(f.options["target_id"])
            continue
        if f.type not in REACHES:
            usable = [g.slug for g in schema.fields if g.type in REACHES]
            return None, _(
                "%(field)s of %(entity)s is a %(type)s field; a recipient is an email, phone, "
                "text (Telegram chat id) or user field (%(entity)s has: %(fields)s)."
            ) % {
                "field": slug,
                "entity": schema.slug,
                "type": f.type,
                "fields": one_of(usable) or "-",
            }
        return f.type, None
    return None, _("Give a field path such as client.email.")


def clean_recipients(
    registry: SchemaRegistry,
    schema: EntitySchema | None,
    value: Any,
    channels: list[str],
    problems: Problems,
) -> list[dict[str, str]]:
    if not isinstance(value, list) or not value:
        problems.add(
            "recipients",
            _(
                'Expected a list of {"field": "client.email"}, {"role": "name"} or '
                '{"user": "name"}.'
            ),
        )
        return []
    cleaned: list[dict[str, str]] = []
    user_model = get_user_model()
    for number, spec in enumerate(value, start=1):
        key = f"recipients[{number}]"
        if (
            not isinstance(spec, dict)
            or len(spec) != 1
            or next(iter(spec))
            not in (
                "field",
                "role",
                "user",
            )
        ):
            problems.add(key, _('Expected one of {"field": ...}, {"role": ...}, {"user": ...}.'))
            continue
        ((kind, name),) = spec.items()
        if not isinstance(name, str) or not name.strip():
            problems.add(f"{key}.{kind}", _("Give a name."))
            continue
        name = name.strip()
        reaches: tuple[str, ...] = REACHES["user"]
        if kind == "field":
            if schema is None:
                continue
            end, problem = _path_problem(registry, schema, name)
            if problem:
                problems.add(f"{key}.field", problem)
                continue
            reaches = REACHES[end]
        elif kind == "role" and not Group.objects.filter(name=name).exists():
            problems.add(f"{key}.role", _("There is no role %(role)s.") % {"role": name})
            continue
        elif (
            kind == "user"
            and not user_model.objects.filter(
                **{user_model.USERNAME_FIELD: name}, is_active=True
            ).exists()
        ):
            problems.add(f"{key}.user", _("There is no active user %(user)s.") % {"user": name})
            continue
        if channels and not set(reaches) & set(channels):
            problems.add(
                key,
                _("%(who)s can be reached by %(reaches)s, but the channels are %(channels)s.")
                % {"who": name, "reaches": one_of(reaches), "channels": one_of(channels)},
            )
            continue
        if {kind: name} not in cleaned:
            cleaned.append({kind: name})
    return cleaned


def clean_channels(value: Any, problems: Problems) -> list[str]:
    known = channel_choices()
    if not isinstance(value, list) or not value:
        problems.add(
            "channels", _("Expected a list of channels: %(known)s.") % {"known": one_of(known)}
        )
        return []
    cleaned = []
    for item in value:
        if item not in known:
            problems.add(
                "channels",
                _("%(value)r is not a channel; use some of: %(known)s.")
                % {"value": item, "known": one_of(known)},
            )
        elif item not in cleaned:
            cleaned.append(item)
    return cleaned


def clean_template(key: str, value: Any, problems: Problems, *, required: bool) -> str:
    max_length = SUBJECT_MAX_LENGTH if key == "subject" else TEMPLATE_MAX_LENGTH
    text = problems.text(key, value, max_length)
    if text is None:
        return ""
    if not text:
        if required:
            problems.add(key, _("Write the message."))
        return ""
    try:
        template_check(text, field=key)
    except TemplateProblem as problem:
        problems.add(key, problem.message)
    return text
