"""Reminders: definitions checked when saved, and the scan that tells each record once.

Time is moved with time-machine; deliveries are asserted as outbox rows (the channels
themselves are tested against real servers in tests/connectors).
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from cardfile.core.exceptions import PermissionDenied
from cardfile.core.models import AuditLog, Delivery
from cardfile.metamodel.models import Field, Reminder, ReminderSent
from cardfile.metamodel.notify import scan as scan_module
from cardfile.metamodel.notify.scan import due_query, reminders_scan
from cardfile.metamodel.notify.services import (
    NotifyValidationError,
    reminder_create,
    reminder_delete,
    reminder_update,
)
from cardfile.metamodel.notify.timing import Timing, add_months
from cardfile.metamodel.records import record_delete, record_update
from cardfile.metamodel.schema.dynamic import get_registry
from tests.builders import grant
from tests.notify_builders import build_reminder_schema, new_client, new_order, reminder_data

pytestmark = [pytest.mark.embedded]

UTC = dt.UTC


def at(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=UTC)


@pytest.fixture
def shop(schema_db, owner):
    return build_reminder_schema(owner)


def _create(owner, when: dt.datetime, **overrides: Any) -> Reminder:
    with time_machine.travel(when, tick=False):
        return reminder_create(data=reminder_data(**overrides), user=owner)


def _scan(when: dt.datetime):
    with time_machine.travel(when, tick=False):
        return reminders_scan()


def _errors(owner, **overrides: Any) -> NotifyValidationError:
    with pytest.raises(NotifyValidationError) as caught:
        reminder_create(data=reminder_data(**overrides), user=owner)
    return caught.value


def _deliveries(**filters: Any) -> list[Delivery]:
    return list(Delivery.objects.filter(source="reminder", **filters).order_by("id"))


# -- definitions -------------------------------------------------------------------------------


def test_a_reminder_is_saved_audited_and_indexes_its_date_field(shop, owner):
    # given
    assert not Field.objects.get(entity__slug="order", slug="due").indexed

    # when
    reminder = reminder_create(data=reminder_data(label="Day before"), user=owner)

    # then
    assert (reminder.offset_amount, reminder.offset_unit) == (-1, "days")
    assert reminder.at_time == dt.time(9, 0)
    assert reminder.label == "Day before"
    assert reminder.recipients == [{"field": "client.email"}]
    due = Field.objects.get(entity__slug="order", slug="due")
    assert due.indexed
    table = get_registry().entity("order").entity.table_name
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    assert any(c["index"] and c["columns"][:1] == [due.column] for c in constraints.values())
    entry = AuditLog.objects.get(object_type="reminder", object_id=str(reminder.pk))
    assert entry.action == "create"
    assert entry.after["field"] == "due"


def test_every_problem_of_a_definition_is_named_by_its_key(shop, owner):
    error = _errors(
        owner,
        field="number",
        offset={"amount": 1.5, "unit": "weeks"},
        repeat={"every": 0, "unit": "months"},
        recipients=[{"field": "lines.item"}, {"role": "ghosts"}, {"user": "nobody"}],
        channels=["email", "pigeon"],
        subject="{{ record.number ",
        template="Hello\n{% for line in record.lines %}\n{{ line.item }}",
        at_time="25:00",
        surprise=True,
    )
    errors = error.errors
    assert "date or datetime field of order" in errors["field"][0]
    assert "due, pickup_at" in errors["field"][0]
    assert "weeks" in errors["offset.unit"][0]
    assert "repeat.every" in errors
    assert "child_table" in errors["recipients[1].field"][0]
    assert "ghosts" in errors["recipients[2].role"][0]
    assert "nobody" in errors["recipients[3].user"][0]
    assert "pigeon" in errors["channels"][0]
    assert errors["template"][0].startswith("Line 3")
    assert errors["subject"][0].startswith("Line 1")
    assert "at_time" in errors
    assert "surprise" in errors


def test_a_wrong_condition_is_refused_with_its_position(shop, owner):
    error = _errors(owner, condition='client.name = "Ann" AND totl > 3')
    assert "totl" in error.errors["condition"][0]
    assert error.formula["path"] == "condition"
    assert "^" in error.formula["caret"]

    error = _errors(owner, condition="client.name")
    assert "TRUE or FALSE" in error.errors["condition"][0]


def test_recipient_paths_are_walked_and_must_reach_a_channel(shop, owner):
    assert (
        "no field"
        in _errors(owner, recipients=[{"field": "client.mail"}]).errors["recipients[1].field"][0]
    )
    assert (
        "only links lead further"
        in _errors(owner, recipients=[{"field": "number.email"}]).errors["recipients[1].field"][0]
    )
    # a phone reaches SMS, not email
    message = _errors(owner, recipients=[{"field": "client.phone"}]).errors["recipients[1]"][0]
    assert "sms" in message
    assert "email" in message
    # accepted: a link's email, the record's user field, a system user, a role, a user
    grant(owner, "order", role="manager")
    reminder = reminder_create(
        data=reminder_data(
            recipients=[
                {"field": "client.email"},
                {"field": "technician"},
                {"field": "created_by"},
                {"role": "manager"},
                {"user": "owner"},
                {"field": "client.telegram"},
            ],
            channels=["email", "in_app", "telegram"],
        ),
        user=owner,
    )
    assert len(reminder.recipients) == 6


def test_only_owners_and_configurers_manage_reminders(shop, owner, clerk):
    grant(clerk, "order", ops=("read", "update"))
    with pytest.raises(PermissionDenied):
        reminder_create(data=reminder_data(), user=clerk)
    grant(clerk, "order", ops=("read", "configure"), role="configurer")
    reminder = reminder_create(data=reminder_data(), user=clerk)
    assert reminder.entity.slug == "order"


def test_update_merges_and_delete_removes(shop, owner):
    reminder = reminder_create(data=reminder_data(), user=owner)
    updated = reminder_update(
        reminder_id=reminder.pk,
        data={"offset": {"amount": 2, "unit": "hours"}, "active": False},
        user=owner,
    )
    assert (updated.offset_amount, updated.offset_unit, updated.active) == (2, "hours", False)
    assert updated.template == reminder.template
    with pytest.raises(NotifyValidationError) as caught:
        reminder_update(reminder_id=reminder.pk, data={"field": "pickup"}, user=owner)
    assert "field" in caught.value.errors
    reminder_delete(reminder_id=reminder.pk, user=owner)
    assert not Reminder.objects.filter(pk=reminder.pk).exists()
    actions = AuditLog.objects.filter(object_type="reminder").values_list("action", flat=True)
    assert sorted(actions) == ["create", "delete", "update"]


# -- the scan ----------------------------------------------------------------------------------


def test_a_reminder_goes_at_its_moment_not_before_and_once(shop, owner):
    # given: due on 10 March, reminded the day before at 09:00 (UTC here)
    order = new_order(due="2031-03-10")
    _create(owner, at(2031, 3, 1, 12))

    # when / then: not before its moment
    assert _scan(at(2031, 3, 9, 8, 59)).due == 0
    assert _deliveries() == []

    # when: just after it
    result = _scan(at(2031, 3, 9, 9, 1))

    # then: one email to the client, with the record's values
    assert (result.due, result.deliveries, result.failed) == (1, 1, 0)
    [delivery] = _deliveries()
    assert delivery.channel == "email"
    assert delivery.address == "ann@example.com"
    assert delivery.record_id == order.pk
    assert delivery.entity == "order"
    assert delivery.subject.startswith("Order RO-")
    assert "Hello Ann, order RO-" in delivery.body
    assert "is due Mar 10, 2031." in delivery.body
    [sent] = ReminderSent.objects.all()
    assert sent.record_id == order.pk
    assert sent.due_at == at(2031, 3, 9, 9)

    # when: scanned again, twice
    assert _scan(at(2031, 3, 9, 9, 2)).due == 0
    assert _scan(at(2031, 3, 9, 9, 3)).due == 0

    # then
    assert len(_deliveries()) == 1


def test_the_scan_reads_ids_and_dates_only_and_leaves_out_the_trash(shop, owner):
    reminder = _create(owner, at(2031, 3, 1))
    kept = new_order(due="2031-03-10")
    trashed = new_order(client=new_client("Bob"), due="2031-03-10")
    new_order(client=new_client("Cid"), due="2031-03-12")
    record_delete(entity="order", record_id=trashed.pk)

    schema = get_registry().entity("order")
    f = schema.by_slug["due"]
    query = due_query(reminder, schema, f, lo=at(2031, 3, 9), hi=at(2031, 3, 9, 10))

    sql = str(query.queryset.query)
    assert "NOT EXISTS" in sql.upper()
    assert list(query.queryset) == [(kept.pk, dt.date(2031, 3, 10))]


def test_a_reminder_whose_condition_became_false_is_not_sent(shop, owner):
    # given
    _create(owner, at(2031, 3, 1), condition='state <> "issued"')
    waiting = new_order(due="2031-03-10")
    issued = new_order(client=new_client("Bob"), due="2031-03-10")
    record_update(entity="order", record_id=issued.pk, data={"state": "issued", "version": 1})

    # when
    result = _scan(at(2031, 3, 9, 9, 30))

    # then
    assert result.due == 1
    assert [d.record_id for d in _deliveries()] == [waiting.pk]


def test_a_repeated_reminder_goes_again_next_period_and_once_in_each(shop, owner):
    # given: six months after the due date, then every six months
    order = new_order(due="2030-01-31")
    _create(
        owner,
        at(2030, 6, 1),
        offset={"amount": 6, "unit": "months"},
        repeat={"every": 6, "unit": "months"},
    )

    # when / then: 31 July 2030 at 09:00
    assert _scan(at(2030, 7, 31, 8)).due == 0
    assert _scan(at(2030, 7, 31, 9, 30)).due == 1
    assert _scan(at(2030, 8, 1, 9)).due == 0
    # six months later: the 31st of January again (counted from the date, no drift)
    assert _scan(at(2031, 1, 30, 12)).due == 0
    assert _scan(at(2031, 1, 31, 9, 1)).due == 1
    assert _scan(at(2031, 1, 31, 10)).due == 0

    dues = sorted(ReminderSent.objects.values_list("due_at", flat=True))
    assert dues == [at(2030, 7, 31, 9), at(2031, 1, 31, 9)]
    assert {d.record_id for d in _deliveries()} == {order.pk}
    assert len(_deliveries()) == 2


def test_a_datetime_field_with_an_offset_in_hours(shop, owner):
    order = new_order(pickup_at="2031-03-10T15:30:00+00:00")
    _create(owner, at(2031, 3, 1), field="pickup_at", offset={"amount": -2, "unit": "hours"})

    assert _scan(at(2031, 3, 10, 13, 29)).due == 0
    assert _scan(at(2031, 3, 10, 13, 31)).due == 1
    [sent] = ReminderSent.objects.all()
    assert (sent.record_id, sent.due_at) == (order.pk, at(2031, 3, 10, 13, 30))


def test_an_offset_after_the_date_in_months_ends_the_month(shop, owner):
    # given: a month after 31 January is the last day of February
    order = new_order(due="2031-01-31")
    _create(owner, at(2031, 1, 1), offset={"amount": 1, "unit": "months"}, at_time="10:15")

    assert _scan(at(2031, 2, 28, 10, 14)).due == 0
    assert _scan(at(2031, 2, 28, 10, 16)).due == 1
    assert ReminderSent.objects.get().due_at == at(2031, 2, 28, 10, 15)
    assert _deliveries()[0].record_id == order.pk


def test_a_date_is_reminded_at_the_time_of_day_of_the_installation(shop, owner, settings):
    # given: Berlin is UTC+1 in winter
    settings.TIME_ZONE = "Europe/Berlin"
    new_order(due="2031-03-10")
    _create(owner, at(2031, 3, 1))

    # then: 09:00 in Berlin is 08:00 UTC
    assert _scan(at(2031, 3, 9, 7, 59)).due == 0
    assert _scan(at(2031, 3, 9, 8, 1)).due == 1
    assert ReminderSent.objects.get().due_at == at(2031, 3, 9, 8)


def test_a_record_written_late_is_caught_by_the_lookback_but_not_older_ones(shop, owner):
    # given: scanned up to the 9th at 12:00
    _create(owner, at(2031, 3, 1))
    _scan(at(2031, 3, 9, 12))

    # when: orders appear afterwards, one due a few hours ago and one due days ago
    recent = new_order(due="2031-03-10")  # due 9 March 09:00
    new_order(client=new_client("Bob"), due="2031-03-05")  # due 4 March 09:00
    result = _scan(at(2031, 3, 9, 12, 1))

    # then
    assert result.due == 1
    assert [d.record_id for d in _deliveries()] == [recent.pk]


def test_recipients_per_channel_with_in_app_for_users(shop, owner, clerk):
    # given: the technician gets it in the app, the client by email and Telegram
    client = new_client("Ann", telegram="123456")
    new_order(client=client, due="2031-03-10", technician=clerk.pk)
    grant(owner, "order", role="manager")
    _create(
        owner,
        at(2031, 3, 1),
        recipients=[
            {"field": "client.email"},
            {"field": "client.telegram"},
            {"field": "technician"},
        ],
        channels=["email", "telegram", "in_app"],
    )

    # when
    _scan(at(2031, 3, 9, 9, 30))

    # then
    sent = {(d.channel, d.address, d.user_id) for d in _deliveries()}
    assert sent == {
        ("email", "ann@example.com", None),
        ("telegram", "123456", None),
        ("in_app", "", clerk.pk),
        ("email", "", clerk.pk),  # the clerk has no email: logged as skipped
    }
    skipped = _deliveries(channel="email", user_id=clerk.pk)[0]
    assert skipped.status == "skipped"


def test_a_scan_that_dies_midway_leaves_nothing_and_the_next_sends_once(shop, owner, monkeypatch):
    # given
    order = new_order(due="2031-03-10")
    reminder = _create(owner, at(2031, 3, 1))
    scanned_until = reminder.scanned_until

    def dies(*, messages):
        assert ReminderSent.objects.filter(reminder=reminder).count() == 1  # already written
        raise RuntimeError("the worker was killed")

    # when: the scan dies after writing the sent-log, before the deliveries
    monkeypatch.setattr(scan_module, "deliveries_create", dies)
    result = _scan(at(2031, 3, 9, 9, 30))

    # then: nothing was kept
    assert (result.due, result.failed) == (0, 1)
    assert ReminderSent.objects.count() == 0
    assert _deliveries() == []
    reminder.refresh_from_db()
    assert reminder.scanned_until == scanned_until

    # when: the next scan runs normally
    monkeypatch.undo()
    assert _scan(at(2031, 3, 9, 9, 31)).due == 1
    assert _scan(at(2031, 3, 9, 9, 32)).due == 0

    # then
    assert [d.record_id for d in _deliveries()] == [order.pk]


def test_an_inactive_reminder_is_not_scanned_and_starts_afresh_when_switched_on(shop, owner):
    new_order(due="2031-03-10")
    reminder = _create(owner, at(2031, 3, 1), active=False)
    assert _scan(at(2031, 3, 9, 9, 30)).reminders == 0
    with time_machine.travel(at(2031, 3, 20), tick=False):
        reminder_update(reminder_id=reminder.pk, data={"active": True}, user=owner)
    # the moment passed while it was off, beyond the lookback: no flood of old reminders
    assert _scan(at(2031, 3, 20, 0, 1)).due == 0


# -- two schedulers at once --------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_schedulers_at_once_deliver_once(transactional_db, django_user_model, monkeypatch):
    # PostgreSQL: the reminder's row lock; SQLite: the write lock taken at BEGIN (IMMEDIATE)
    # given: twenty due orders
    owner = django_user_model.objects.create_superuser(username="boss", password=None)
    build_reminder_schema(owner)
    for n in range(20):
        new_order(client=new_client(f"Client{n}"), due="2031-03-10")
    _create(owner, at(2031, 3, 1))
    # the first scan to lock the reminder holds it a while, so the second has to wait
    original = scan_module.deliveries_create

    def slow(*, messages):
        created = original(messages=messages)
        threading.Event().wait(0.5)
        return created

    monkeypatch.setattr(scan_module, "deliveries_create", slow)
    barrier = threading.Barrier(2)
    results: dict[str, Any] = {}

    def run(name: str) -> None:
        try:
            barrier.wait()
            results[name] = reminders_scan(now=at(2031, 3, 9, 9, 30))
        except Exception as error:  # noqa: BLE001 - the test inspects it
            results[name] = error
        finally:
            connection.close()

    # when
    threads = [threading.Thread(target=run, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    # then: both finished without a conflict, one of them did the work
    assert all(not isinstance(r, Exception) for r in results.values()), results
    assert sorted(r.due for r in results.values()) == [0, 20]
    assert sum(r.failed for r in results.values()) == 0
    assert ReminderSent.objects.count() == 20
    assert Delivery.objects.filter(source="reminder").count() == 20
    assert Delivery.objects.filter(source="reminder").values("record_id").distinct().count() == 20


# -- timing ------------------------------------------------------------------------------------


def test_add_months_keeps_the_day_or_ends_the_month():
    assert add_months(dt.date(2031, 1, 31), 1) == dt.date(2031, 2, 28)
    assert add_months(dt.date(2032, 1, 31), 1) == dt.date(2032, 2, 29)
    assert add_months(dt.date(2031, 3, 31), -1) == dt.date(2031, 2, 28)
    assert add_months(dt.date(2031, 11, 15), 3) == dt.date(2032, 2, 15)
    assert add_months(dt.datetime(2031, 8, 31, 10, 30), 6) == dt.datetime(2032, 2, 29, 10, 30)
    relativedelta = pytest.importorskip("dateutil.relativedelta").relativedelta
    for months in range(-30, 31):
        for day in (dt.date(2031, 1, 31), dt.date(2032, 2, 29), dt.datetime(2030, 12, 15, 8)):
            assert add_months(day, months) == day + relativedelta(months=months)


def test_the_day_range_of_a_window_is_exact_at_month_ends():
    timing = Timing("date", 1, "months", dt.time(9), tz=dt.UTC)
    # due on 28 February 2031 at 09:00: 28, 29, 30 and 31 January
    found = timing.value_range(at(2031, 2, 28, 8), at(2031, 2, 28, 10))
    assert found == (dt.date(2031, 1, 28), dt.date(2031, 1, 31))
    assert timing.value_range(at(2031, 2, 28, 10), at(2031, 2, 28, 11)) is None


def test_repetition_periods_reach_back_to_the_least_value():
    timing = Timing("date", 0, "days", dt.time(9), 6, "months", tz=dt.UTC)
    periods = timing.periods(at(2031, 3, 1), at(2031, 3, 2), earliest=dt.date(2029, 1, 1))
    assert periods[0] == 0
    assert 4 in periods  # 2029-03-01 + 24 months
    assert max(periods) <= 5
    daily = Timing("date", 0, "days", dt.time(9), 1, "days", tz=dt.UTC)
    assert len(daily.periods(at(2031, 3, 1), at(2031, 3, 2), earliest=dt.date(1950, 1, 1))) == 241


def test_a_due_moment_out_of_the_calendar_is_none():
    timing = Timing("date", 1, "months", dt.time(9), tz=dt.UTC)
    assert timing.due(dt.date(9999, 12, 15)) is None
    assert timing.due(dt.date(2031, 1, 15)) == timezone.make_aware(
        dt.datetime(2031, 2, 15, 9), dt.UTC
    )


# -- running it --------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)  # the periodic send runs outside any transaction
def test_the_command_scans_once_and_says_what_it_did(shop, owner):
    from io import StringIO

    from django.core.management import call_command

    new_order(due="2031-03-10")
    _create(owner, at(2031, 3, 1))
    out = StringIO()
    with time_machine.travel(at(2031, 3, 9, 9, 30), tick=False):
        call_command("reminders_run", stdout=out)
    text = out.getvalue()
    assert "Scanned 1 reminders: 1 due, 1 deliveries created" in text
    # sent when the scan's transaction committed (eager here), to the file backend's outbox
    assert "Deliveries created now: 1 sent." in text


def test_the_cli_offers_reminders_run_and_bench_reminders():
    from cardfile import cli

    parser = cli._parser()
    assert parser.parse_args(["reminders", "run"]).handler is cli._reminders_run
    options = parser.parse_args(["bench", "reminders"])
    assert options.scenarios == ["reminders"]
    assert parser.parse_args(["bench"]).scenarios is None


def test_the_scheduler_thread_runs_the_scan_until_stopped(monkeypatch, settings):
    from cardfile.metamodel.notify import scheduler

    runs = threading.Semaphore(0)

    def counted():
        runs.release()
        raise RuntimeError("a failing run must not stop the thread")

    monkeypatch.setattr(scan_module, "reminders_run", counted)
    thread = scheduler.scheduler_start(interval=0.01)
    try:
        assert scheduler.scheduler_start() is thread  # one per process
        assert all(runs.acquire(timeout=5) for _ in range(3))  # it goes on after failures
    finally:
        scheduler.scheduler_stop()
    assert not thread.is_alive()


def test_the_scheduler_starts_only_when_serve_asks_in_thread_mode(monkeypatch, settings):
    from cardfile.metamodel.notify import scheduler

    started = []
    monkeypatch.setattr(scheduler, "scheduler_start", lambda **kw: started.append(kw) or "t")
    monkeypatch.delenv(scheduler.ENVIRONMENT_FLAG, raising=False)
    settings.CARDFILE_TASK_MODE = "thread"
    assert scheduler.scheduler_start_if_asked() is None
    monkeypatch.setenv(scheduler.ENVIRONMENT_FLAG, "1")
    settings.CARDFILE_TASK_MODE = "celery"  # beat does the work
    assert scheduler.scheduler_start_if_asked() is None
    settings.CARDFILE_TASK_MODE = "thread"
    assert scheduler.scheduler_start_if_asked() == "t"
    assert started == [{}]
