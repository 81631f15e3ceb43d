"""The ``cardfile preset list|install|export`` commands (wired in `cardfile.cli`)."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from django.utils.translation import gettext as _

from .exceptions import PresetError, PresetInvalid
from .selectors import installed_presets, preset_list
from .services import InstallResult, preset_export, preset_install


def run(
    options: argparse.Namespace, *, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Run ``options.action``; 0 on success, 2 for a preset that cannot be read or installed
    (each problem on its own line of stderr)."""
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        if options.action == "list":
            return _list(out)
        if options.action == "install":
            return _install(options, out)
        if options.action == "export":
            return _export(options, out)
    except PresetInvalid as error:
        for problem in error.errors:
            print(str(problem), file=err)
        return 2
    except PresetError as error:
        print(error.message, file=err)
        return 2
    print(_("Unknown preset command %(action)s.") % {"action": options.action}, file=err)
    return 2


def _list(out: TextIO) -> int:
    shipped = preset_list()
    if not shipped:
        print(_("No presets are shipped."), file=out)
    for preset in shipped:
        installed = preset["installed_version"]
        state = (
            _("installed: version %(v)s") % {"v": installed}
            if installed is not None
            else _("not installed")
        )
        print(
            f"{preset['name']:<16} v{preset['version']}  {preset['title']}  ({state})",
            file=out,
        )
        if preset["description"]:
            print(f"{'':<16} {preset['description']}", file=out)
    shipped_names = {p["name"] for p in shipped}
    others = [p for p in installed_presets() if p.name not in shipped_names]
    for installation in others:
        print(
            f"{installation.name:<16} v{installation.version}  {installation.title}  ("
            + _("installed from a folder")
            + ")",
            file=out,
        )
    return 0


def _print_result(result: InstallResult, out: TextIO) -> None:
    if result.previous_version == result.version and not result.steps:
        print(
            _("%(name)s version %(v)d is installed already; nothing to do.")
            % {"name": result.name, "v": result.version},
            file=out,
        )
        return
    if result.dry_run:
        print(
            _("Plan for %(name)s version %(v)d (dry run: nothing was changed):")
            % {"name": result.name, "v": result.version},
            file=out,
        )
    for step in result.steps:
        print(f"  {step}", file=out)
    if result.dry_run:
        return
    if result.previous_version is None:
        message = _("Installed %(name)s version %(v)d (%(n)d steps).")
    elif result.previous_version < result.version:
        message = _("Upgraded %(name)s from version %(old)d to %(v)d (%(n)d steps).")
    else:
        message = _("%(name)s version %(v)d: %(n)d steps.")
    print(
        message
        % {
            "name": result.name,
            "v": result.version,
            "old": result.previous_version or 0,
            "n": len(result.steps),
        },
        file=out,
    )
    if result.demo_records:
        print(_("Loaded %(n)d demo records.") % {"n": result.demo_records}, file=out)


def _install(options: argparse.Namespace, out: TextIO) -> int:
    result = preset_install(
        source=options.source,
        demo_data=bool(getattr(options, "demo_data", False)),
        dry_run=bool(getattr(options, "dry_run", False)),
        locale=getattr(options, "locale", None),
        currency=getattr(options, "currency", None),
    )
    _print_result(result, out)
    return 0


def _export(options: argparse.Namespace, out: TextIO) -> int:
    written = preset_export(
        directory=options.directory,
        name=getattr(options, "name", "export") or "export",
        title=getattr(options, "title", "") or "",
        version=getattr(options, "version", 1) or 1,
    )
    print(
        _("Wrote %(n)d files to %(dir)s.") % {"n": len(written), "dir": options.directory},
        file=out,
    )
    return 0
