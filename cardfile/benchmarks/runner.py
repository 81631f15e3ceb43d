"""Run the benchmarks: scratch database, schema and rows, the scenarios, one results table."""

from __future__ import annotations

import argparse
import signal
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

from . import SCENARIOS

EXIT_NOT_POSTGRES = 2


def parse_only(text: str) -> list[str]:
    """``list,schema`` -> the scenarios, in the order they run."""
    wanted = {part.strip() for part in text.split(",") if part.strip()}
    unknown = wanted - set(SCENARIOS)
    if unknown or not wanted:
        raise argparse.ArgumentTypeError(f"choose among {', '.join(SCENARIOS)} (got {text!r})")
    return [name for name in SCENARIOS if name in wanted]


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _terminate(signum: int, frame: Any) -> None:
    # SystemExit unwinds through `scratch_database`, which drops the database.
    raise SystemExit(128 + signum)


def run(*, rows: int, creates: int, repeat: int, only: list[str]) -> int:
    """Run the chosen scenarios; print the machine and the results table.

    A missed target shows as ``NO`` in the table, not in the exit code: timings vary with the
    machine, and the smoke run in the test suite must not fail on them."""
    import django
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    if engine != "django.db.backends.postgresql":
        _say(
            "cardfile bench needs PostgreSQL: set DATABASE_URL=postgres://user@host:port/name "
            f"(the current database engine is {engine}). The benchmarks run in a scratch "
            "database created on that server and dropped afterwards."
        )
        return EXIT_NOT_POSTGRES

    from django.db import connections

    from .database import plain_params, scratch_database, scratch_name

    database = connections["default"].settings_dict  # the dict of settings.DATABASES
    name = scratch_name(database["NAME"])
    params = connections["default"].get_connection_params()
    # Every connection Django opens from here on goes to the scratch database.
    database["NAME"] = name
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "localhost"]
    # WhiteNoise warns once per process when static files were never collected; no page here
    # serves static files.
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        with scratch_database(params, name):
            django.setup()
            return _run_in_scratch(
                rows=rows,
                creates=creates,
                repeat=repeat,
                only=only,
                plain=plain_params(params, dbname=name),
            )
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run_in_scratch(
    *, rows: int, creates: int, repeat: int, only: list[str], plain: dict[str, Any]
) -> int:
    from django.core.management import call_command
    from django.db import connection

    from . import (
        create_bench,
        formula_bench,
        list_bench,
        permissions_bench,
        reminders_bench,
        schema_bench,
    )
    from .context import BenchContext
    from .dataset import FIELDS, build_schema, load_rows
    from .report import format_table, machine_info

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server_version = cursor.fetchone()[0]
    print(machine_info(server_version), flush=True)
    _say(f"Scratch database {connection.settings_dict['NAME']}: migrating ...")
    call_command("migrate", interactive=False, verbosity=0)
    user = build_schema()
    if {"list", "schema"} & set(only):
        _say(f"Loading {rows:,} rows ...")
        dataset = load_rows(user, rows)
        print(
            f"data: {rows:,} rows of {len(FIELDS)} fields loaded and analyzed in "
            f"{dataset.load_seconds:.1f} s ({rows / dataset.load_seconds:,.0f} rows/s)",
            flush=True,
        )
    else:
        dataset = load_rows(user, 0)
    ctx = BenchContext(
        repeat=repeat, creates=creates, dataset=dataset, plain_params=plain, rows=rows
    )
    scenarios: dict[str, Callable[[BenchContext], list[Any]]] = {
        "list": list_bench.run,
        "create": create_bench.run,
        "schema": schema_bench.run,
        "formula": formula_bench.run,
        "permissions": permissions_bench.run,
        "reminders": reminders_bench.run,
    }
    results = []
    for scenario in only:
        _say(f"Running {scenario} ...")
        started = time.perf_counter()
        results.extend(scenarios[scenario](ctx))
        _say(f"  {scenario} took {time.perf_counter() - started:.1f} s")
    print()
    print(format_table(results), flush=True)
    print(
        "ratio = times slower than the baseline measured in this run "
        "(value / baseline for times, baseline / value for rates)."
    )
    return 0
