"""Measurements, their one results table, and what the machine was."""

from __future__ import annotations

import os
import platform
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Unit = Literal["ms", "s", "rec/s", "rows/s", "eval/s", "queries"]
# Units in which more is better; a ratio is always "times slower than the baseline".
_RATES = {"rec/s", "rows/s", "eval/s"}


@dataclass
class Measurement:
    """One line of the results table."""

    scenario: str
    measure: str
    value: float
    unit: Unit
    baseline: float | None = None
    max_ratio: float | None = None
    max_value: float | None = None  # in ``unit``

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or not self.value or not self.baseline:
            return None
        if self.unit in _RATES:
            return self.baseline / self.value
        return self.value / self.baseline

    @property
    def target(self) -> str:
        if self.max_ratio is not None:
            return f"ratio <= {self.max_ratio:g}"
        if self.max_value is not None:
            return f"< {self.max_value:g} {self.unit}"
        return "-"

    @property
    def ok(self) -> bool | None:
        if self.max_ratio is not None:
            return self.ratio is not None and self.ratio <= self.max_ratio
        if self.max_value is not None:
            return self.value < self.max_value
        return None


def percentile(samples: Sequence[float], fraction: float) -> float:
    """The sample at ``fraction`` (0.5 for p50) by the nearest-rank method."""
    ordered = sorted(samples)
    rank = max(1, round(fraction * len(ordered) + 0.5 - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


def median(samples: Sequence[float]) -> float:
    return statistics.median(samples)


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit in _RATES:
        return f"{value:,.0f} {unit}"
    if unit == "queries":
        return f"{value:.0f} {unit}"
    return f"{value:,.2f} {unit}" if value < 100 else f"{value:,.0f} {unit}"


def format_table(rows: Sequence[Measurement]) -> str:
    header = ("scenario", "measure", "value", "baseline", "ratio", "target", "ok?")
    lines = [header]
    for row in rows:
        ratio = row.ratio
        ok = row.ok
        lines.append(
            (
                row.scenario,
                row.measure,
                _number(row.value, row.unit),
                _number(row.baseline, row.unit),
                "-" if ratio is None else f"{ratio:.2f}",
                row.target,
                "-" if ok is None else ("yes" if ok else "NO"),
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    right = {2, 3, 4}

    def render(line: Sequence[str]) -> str:
        cells = [
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(line)
        ]
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([render(lines[0]), rule, *(render(line) for line in lines[1:])])


def _memory_gib() -> float | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    except (ValueError, OSError, AttributeError):
        return None


def machine_info(server_version: str) -> str:
    import django

    memory = _memory_gib()
    return (
        f"machine: {os.cpu_count()} cores, "
        f"{'?' if memory is None else f'{memory:.1f}'} GiB memory, {platform.machine()}; "
        f"PostgreSQL {server_version}; Python {platform.python_version()}, "
        f"Django {django.get_version()}"
    )
