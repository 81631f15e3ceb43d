"""The due-reminder scan: which records are due, decided in SQL, each told exactly once.

For each active reminder, in a transaction of its own:

1. lock the reminder's row (``SELECT ... FOR UPDATE``; on SQLite the write lock taken at BEGIN),
   so two schedulers running at once take turns and the second sees what the first decided;
2. ask the database for the records whose due moment falls in ``(scanned_until - lookback,
   now]``: a range of the (indexed) date column per period, the condition compiled into the
   WHERE, records in the trash left out, records already in the sent-log for that window left
   out (``NOT EXISTS``); only the id and the date come back;
3. write the sent-log rows and the deliveries in that same transaction, move
   ``scanned_until`` to ``now``, commit. The deliveries are sent after the commit.

A scan that dies anywhere before the commit leaves nothing behind and the next one does the
work; the unique sent-log row is the last guard against a second decision. The lookback takes
in records written (or committed) just after an earlier scan passed their moment.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import operator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, Min, OuterRef, Q, QuerySet
from django.utils import timezone

from cardfile.core.deliveries import Message, deliveries_create, deliveries_send_due
from cardfile.core.exceptions import NotFound
from cardfile.core.templating import TemplateProblem
from cardfile.metamodel.formulas import check_condition, formula_check, formula_expression
from cardfile.metamodel.models import Field
from cardfile.metamodel.schema.dynamic import (
    EntitySchema,
    get_registry,
    pinned_schema,
)

from .definitions import DATE_TYPES
from .models import Reminder, ReminderSent
from .recipients import record_messages
from .timing import Timing

logger = logging.getLogger(__name__)

DEFAULT_LOOKBACK_SECONDS = 86_400


@dataclass
class ScanResult:
    """What one scan did: reminders looked at, record × due moments decided, deliveries
    created, reminders whose scan failed (tried again next time) and notes for the log."""

    reminders: int = 0
    due: int = 0
    deliveries: int = 0
    failed: int = 0
    notes: list[str] = field(default_factory=list)
    delivery_ids: list[int] = field(default_factory=list)


@dataclass
class DueQuery:
    """The scan's question to the database for one reminder, and how to read its answer."""

    queryset: QuerySet  # values_list(id, date value)
    timing: Timing
    periods: list[int]
    lo: dt.datetime
    hi: dt.datetime

    def due_at(self, value: Any) -> dt.datetime | None:
        return self.timing.due_in(value, self.lo, self.hi, self.periods)

    def due(self) -> dict[int, dt.datetime]:
        """Record id -> its due moment (UTC), for the rows the database found."""
        found = {}
        for pk, value in self.queryset:
            moment = self.due_at(value)
            if moment is not None:
                found[pk] = moment.astimezone(dt.UTC)
        return found


def lookback() -> dt.timedelta:
    seconds = getattr(settings, "CARDFILE_REMINDER_LOOKBACK_SECONDS", DEFAULT_LOOKBACK_SECONDS)
    return dt.timedelta(seconds=int(seconds))


def reminder_field(reminder: Reminder, schema: EntitySchema) -> Field | None:
    """The reminder's date field as the running schema has it (None: trashed or retyped)."""
    f = next((f for f in schema.fields if f.pk == reminder.field_id), None)
    return f if f is not None and f.type in DATE_TYPES else None


def due_query(
    reminder: Reminder,
    schema: EntitySchema,
    f: Field,
    *,
    lo: dt.datetime,
    hi: dt.datetime,
    now: dt.datetime | None = None,
) -> DueQuery | None:
    """The records of ``schema`` due for ``reminder`` in ``(lo, hi]`` and not told yet, as a
    query of (id, value); None when no value can be due."""
    timing = Timing.of(reminder, f.type)
    earliest = None
    if timing.repeats:  # the periods reach back to the column's least value (an index read)
        earliest = schema.objects().aggregate(least=Min(f.attname))["least"]
        if earliest is None:
            return None
    found = timing.ranges(lo, hi, earliest)
    if not found:
        return None
    column, low = f.attname, "gte" if f.type == "date" else "gt"
    ranges = [Q(**{f"{column}__{low}": start, f"{column}__lte": end}) for _k, (start, end) in found]
    queryset = schema.objects().filter(functools.reduce(operator.or_, ranges))
    if reminder.condition:
        checked = check_condition(formula_check(entity=schema, expression=reminder.condition))
        condition = formula_expression(entity=schema, formula=checked, now=now or hi)
        queryset = queryset.alias(_cf_when=condition).filter(_cf_when=True)
    told = ReminderSent.objects.filter(
        reminder_id=reminder.pk, record_id=OuterRef("pk"), due_at__gt=lo, due_at__lte=hi
    )
    queryset = queryset.filter(~Exists(told)).order_by().values_list("pk", column)
    periods = [k for k, _range in found]
    return DueQuery(queryset=queryset, timing=timing, periods=periods, lo=lo, hi=hi)


def _scan_one(reminder_id: int, now: dt.datetime, result: ScanResult) -> None:
    """One reminder, inside the caller's transaction (see the module's steps)."""
    reminder = Reminder.objects.select_for_update().filter(pk=reminder_id, active=True).first()
    if reminder is None:
        return  # deleted or switched off meanwhile
    result.reminders += 1
    registry = get_registry()
    try:
        schema = registry.entity_by_id(reminder.entity_id)
    except NotFound:
        return
    f = reminder_field(reminder, schema)
    if f is None:
        result.notes.append(f"reminder {reminder.pk}: its field is gone or no longer a date")
        return
    lo = reminder.scanned_until - lookback()
    query = due_query(reminder, schema, f, lo=lo, hi=now, now=now) if now > lo else None
    due = {} if query is None else query.due()
    if due:
        # Loaded only now, to write the messages: the decision above read ids and dates.
        objs = schema.objects().in_bulk(list(due))
        sent: list[ReminderSent] = []
        messages: list[Message] = []
        for pk, due_at in sorted(due.items()):
            obj = objs.get(pk)
            if obj is None:
                continue
            try:
                resolved = record_messages(
                    registry,
                    schema,
                    reminder,
                    obj,
                    key_prefix=f"reminder:{reminder.pk}:{pk}:{due_at.strftime('%Y%m%dT%H%M%SZ')}",
                    source="reminder",
                )
            except TemplateProblem as problem:
                # not in the sent-log: a later scan sends it if the template is fixed within
                # the lookback
                result.notes.append(f"reminder {reminder.pk}, record {pk}: {problem.message}")
                continue
            notes = (f"reminder {reminder.pk}, record {pk}: {s}" for s in resolved.skipped)
            result.notes.extend(notes)
            sent.append(ReminderSent(reminder=reminder, record_id=pk, due_at=due_at, sent_at=now))
            messages.extend(resolved.messages)
        # No ignore_conflicts: a row already there means another scan decided it; the
        # IntegrityError undoes this reminder's whole transaction and nothing goes twice.
        ReminderSent.objects.bulk_create(sent)
        created = deliveries_create(messages=messages)
        result.due += len(sent)
        result.deliveries += len(created)
        result.delivery_ids.extend(created)
    if now > reminder.scanned_until:
        reminder.scanned_until = now
        reminder.save(update_fields=["scanned_until"])


def reminders_scan(*, now: dt.datetime | None = None) -> ScanResult:
    """Scan every active reminder once (see the module); one failing reminder is logged and
    counted, and does not stop the others."""
    now = now or timezone.now()
    result = ScanResult()
    ids = list(
        Reminder.objects.filter(active=True, entity__deleted_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for reminder_id in ids:
        one = ScanResult()
        try:
            # the schema version read once per reminder, not by every formula on the way
            with pinned_schema(), transaction.atomic():
                _scan_one(reminder_id, now, one)
        except Exception:
            logger.exception("The scan of reminder %s failed; it runs again next time", reminder_id)
            result.failed += 1
            continue
        result.reminders += one.reminders
        result.due += one.due
        result.deliveries += one.deliveries
        result.notes.extend(one.notes)
        result.delivery_ids.extend(one.delivery_ids)
    for note in result.notes:
        logger.info("reminders: %s", note)
    return result


@dataclass
class RunResult:
    scan: ScanResult
    sent: int  # deliveries attempted by the periodic send (retries and leftovers)


def reminders_run(*, now: dt.datetime | None = None) -> RunResult:
    """What the periodic task does: scan, then send every delivery that is due."""
    scan = reminders_scan(now=now)
    sent = deliveries_send_due(now=now)
    return RunResult(scan=scan, sent=sent)
