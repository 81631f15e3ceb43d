"""The public entry points of the preset package: read, install (or upgrade) and export."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from .exceptions import (
    PresetError,
    PresetInvalid,
    PresetNotFound,
    PresetProblem,
    PresetVersionRefused,
)
from .installer import InstallResult, Step, install
from .loader import Preset, preset_read

__all__ = [
    "InstallResult",
    "Preset",
    "PresetError",
    "PresetInvalid",
    "PresetNotFound",
    "PresetProblem",
    "PresetVersionRefused",
    "Step",
    "preset_export",
    "preset_install",
    "preset_load",
]


def preset_load(source: str | Path) -> Preset:
    """The preset at ``source`` (a shipped preset's name or a folder), parsed and checked;
    `PresetInvalid` lists every problem with its file and path."""
    return preset_read(source)


def preset_install(
    *,
    source: str | Path,
    demo_data: bool = False,
    dry_run: bool = False,
    locale: str | None = None,
    currency: str | None = None,
    user: Any = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> InstallResult:
    """Install (or upgrade to) the preset at ``source`` in one transaction.

    Installing the installed version again changes nothing; a newer version adds what is new
    and changes only what the owner has not changed; an older one is refused
    (`PresetVersionRefused`). ``dry_run`` returns the plan and keeps nothing. ``progress``
    is called with (done, total, message) as the install goes."""
    preset = preset_read(source)
    return install(
        preset,
        demo_data=demo_data,
        dry_run=dry_run,
        locale=locale,
        currency=currency,
        user=user,
        progress=progress,
    )


def preset_export(
    *, directory: str | Path, name: str = "export", title: str = "", version: int = 1
) -> list[Path]:
    """Write the running configuration (not records) to ``directory`` in the preset format;
    the same configuration always gives the same files. Returns the files written."""
    from .exporter import export

    return export(directory=Path(directory), name=name, title=title, version=version)
