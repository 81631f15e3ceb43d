"""Autonumber: a number given by the record service on create, from a pattern.

``RO-{YYYY}-{00000}`` gives RO-2026-00001, RO-2026-00002, ... and restarts each year, because
the counter is kept per *period* (the pattern with the date parts filled in). Tokens: ``{YYYY}``
``{YY}`` ``{MM}`` ``{DD}`` and exactly one counter ``{0...0}`` whose width is its zeros.
"""

from __future__ import annotations

import re
from datetime import date

from django.db import models, transaction
from django.db.models import F
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .base import TEXT_OPERATORS, FieldOptionsError, FieldType, register

_TOKEN = re.compile(r"\{([^{}]*)\}")
_DATE_TOKENS = {"YYYY": "%Y", "YY": "%y", "MM": "%m", "DD": "%d"}


@register
class AutonumberType(FieldType):
    name = "autonumber"
    label = gettext_lazy("Autonumber")
    formula_type = "text"
    filter_operators = TEXT_OPERATORS
    writable = False
    options_schema = {
        "type": "object",
        "properties": {"pattern": {"type": "string", "minLength": 1, "default": "{00000}"}},
    }

    def check_options(self, options):
        tokens = _TOKEN.findall(options["pattern"])
        counters = [t for t in tokens if t and set(t) == {"0"}]
        unknown = [t for t in tokens if t not in _DATE_TOKENS and t not in counters]
        if len(counters) != 1 or unknown:
            raise FieldOptionsError(
                _(
                    "The pattern needs exactly one counter such as {00000} and may use "
                    "{YYYY}, {YY}, {MM}, {DD}; got %(pattern)r."
                )
                % {"pattern": options["pattern"]},
                errors={"pattern": [_("Invalid pattern.")]},
            )
        return options

    def db_field(self, field):
        return models.TextField(**self.column_kwargs(field))

    def value_schema(self, field):
        return {"type": "string", "readOnly": True}

    def period(self, field, day: date) -> str:
        """The pattern with its date parts filled in: one counter runs per period."""
        return _TOKEN.sub(
            lambda m: day.strftime(_DATE_TOKENS[m.group(1)]) if m.group(1) in _DATE_TOKENS else "#",
            field.options["pattern"],
        )

    def next_value(self, field, day: date) -> str:
        return self.next_values(field, day, 1)[0]

    def next_values(self, field, day: date, count: int) -> list[str]:
        """Take the next ``count`` numbers in one counter update. The counter row stays locked
        until the caller's transaction ends, so concurrent inserts get distinct numbers and a
        rolled-back insert leaves no gap."""
        from cardfile.metamodel.models import AutonumberCounter

        if count <= 0:
            return []
        period = self.period(field, day)
        with transaction.atomic():
            AutonumberCounter.objects.get_or_create(field_id=field.pk, period=period)
            counter = AutonumberCounter.objects.filter(field_id=field.pk, period=period)
            counter.update(last=F("last") + count)
            last = counter.values_list("last", flat=True).get()
        return [self._render(field, day, number) for number in range(last - count + 1, last + 1)]

    def _render(self, field, day: date, number: int) -> str:
        return _TOKEN.sub(
            lambda m: (
                day.strftime(_DATE_TOKENS[m.group(1)])
                if m.group(1) in _DATE_TOKENS
                else str(number).zfill(len(m.group(1)))
            ),
            field.options["pattern"],
        )
