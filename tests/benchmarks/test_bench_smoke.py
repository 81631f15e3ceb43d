"""A small run of `cardfile bench`: every scenario runs and reports numbers.

No timing is asserted here (speed targets are read from the command's table, on demand): the
test fails only if the command breaks, a scenario is missing, or a figure is not a number.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cardfile.benchmarks import SCENARIOS

DATABASE_URL = os.environ.get("DATABASE_URL", "")
pytestmark = pytest.mark.skipif(
    not DATABASE_URL.startswith(("postgres://", "postgresql://", "pgsql://")),
    reason="cardfile bench needs PostgreSQL (DATABASE_URL=postgres://...)",
)

# value and baseline: a number with a unit, or "-" for no baseline
_FIGURE = r"(?:[\d,]+(?:\.\d+)? (?:ms|s|rec/s|rows/s|eval/s|queries)|-)"
_ROW = re.compile(
    rf"^(?P<scenario>\w+)\s{{2,}}(?P<measure>.+?)\s{{2,}}(?P<value>{_FIGURE})\s+"
    rf"(?P<baseline>{_FIGURE})\s+(?P<ratio>\d+\.\d\d|-)\s+(?P<target>.+?)\s+(?P<ok>yes|NO|-)$"
)


def _table_rows(output: str) -> list[dict[str, str]]:
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("scenario "))
    rows = []
    for line in lines[start + 2 :]:
        match = _ROW.match(line)
        if match is None:
            break
        rows.append(match.groupdict())
    return rows


def test_bench_smoke_run_reports_every_scenario(tmp_path: Path) -> None:
    # given: a PostgreSQL server; the command makes and drops its own scratch database
    env = {**os.environ, "CARDFILE_VAR_DIR": str(tmp_path), "CARDFILE_TLS": "0"}
    command = [
        sys.executable,
        "-m",
        "cardfile.cli",
        "bench",
        "--rows",
        "10000",
        "--creates",
        "300",
        "--repeat",
        "5",
        "--only",  # all of them, whatever the command's default
        ",".join(SCENARIOS),
    ]

    # when
    result = subprocess.run(  # noqa: S603 - fixed argv
        command, env=env, capture_output=True, text=True, timeout=300, check=False
    )

    # then
    assert result.returncode == 0, result.stderr[-4000:]
    assert result.stdout.startswith("machine: "), result.stdout
    rows = _table_rows(result.stdout)
    assert {row["scenario"] for row in rows} == set(SCENARIOS), result.stdout
    for row in rows:
        assert row["value"] != "-", row
        assert row["value"].split()[0].replace(",", "").replace(".", "").isdigit(), row
    measured = {(row["scenario"], row["ratio"] != "-") for row in rows}
    assert measured == {(scenario, True) for scenario in SCENARIOS}, result.stdout
    assert "list" in {row["scenario"] for row in rows if row["target"] != "-"}
    formula = [row["measure"] for row in rows if row["scenario"] == "formula"]
    for measure in (
        "recompute 10,000 rows",
        "record_update meanwhile, p99",
        "update 1 line of 20, total right, median",
        "update 1 line of 20, total right, SQL queries",
        "Python evaluator, 10-node formula",
        "compile to SQL, 100-node formula",
    ):
        assert any(m.startswith(measure) for m in formula), (measure, result.stdout)
    # the technician's page was checked against the rule by hand and its plans were printed
    permissions = [row["measure"] for row in rows if row["scenario"] == "permissions"]
    for measure in (
        "technician vs owner, page of 50 of 10,000, median",
        "the same, its SQL alone through psycopg, median",
        "page 100 (offset 4,950), median",
        "page 1 with ?count=true, median",
        "GET page 1 through the API, median",
        "SQL queries per page",
    ):
        assert any(m.startswith(measure) for m in permissions), (measure, result.stdout)
    assert "plan of the technician's page 1 (" in result.stdout, result.stdout
    assert "indexes of the repair table: " in result.stdout, result.stdout
    # the reminder scan: its SQL and its plans, which use the date index
    reminders = [row["measure"] for row in rows if row["scenario"] == "reminders"]
    for measure in (
        "scan SQL, ",
        "yearly repeat (",
        "scan query built and read by the scan's code vs its SQL alone, median",
        "whole scan (decide, render, write deliveries) vs its query, median",
    ):
        assert any(m.startswith(measure) for m in reminders), (measure, result.stdout)
    plans = [line for line in result.stdout.splitlines() if "plan of the reminder scan" in line]
    assert len(plans) == 2, result.stdout
    assert all("Index Scan using cf_e" in line for line in plans), result.stdout


def test_bench_refuses_other_databases(tmp_path: Path) -> None:
    # given: the embedded default (SQLite)
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"DATABASE_URL", "REDIS_URL"} and not name.startswith("CARDFILE_")
    }
    env["CARDFILE_VAR_DIR"] = str(tmp_path)

    # when
    result = subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "-m", "cardfile.cli", "bench", "--rows", "10"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    # then
    assert result.returncode == 2
    assert "needs PostgreSQL" in result.stderr
    assert not list(tmp_path.glob("*.sqlite3")), "no database may be made"
