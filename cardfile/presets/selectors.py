"""Reading presets: the shipped ones, and what is installed here."""

from __future__ import annotations

from typing import Any

import yaml

from .loader import MANIFEST_FILE, SHIPPED_DIR
from .models import PresetInstallation


def installed_presets() -> list[PresetInstallation]:
    """The presets installed here, by name."""
    return list(PresetInstallation.objects.order_by("name"))


def preset_list() -> list[dict[str, Any]]:
    """The shipped presets (name, version, title, description, folder) with the version
    installed here (``installed_version``, None if not installed), by name. A shipped folder
    whose manifest cannot be read is listed with what could be read, so it shows up rather
    than vanish."""
    installed = {p.name: p.version for p in installed_presets()}
    found = []
    if not SHIPPED_DIR.is_dir():
        return found
    for folder in sorted(SHIPPED_DIR.iterdir()):
        manifest_path = folder / MANIFEST_FILE
        if not manifest_path.is_file():
            continue
        try:
            manifest = yaml.safe_load(manifest_path.read_text(encoding="utf-8")) or {}
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            manifest = {}
        if not isinstance(manifest, dict):
            manifest = {}
        name = manifest.get("name") or folder.name
        found.append(
            {
                "name": name,
                "version": manifest.get("version"),
                "title": manifest.get("title") or name,
                "description": manifest.get("description") or "",
                "locale": manifest.get("locale") or "",
                "currency": manifest.get("currency") or "",
                "path": str(folder),
                "installed_version": installed.get(name),
            }
        )
    return found


def shipped_preset(name: str) -> dict[str, Any] | None:
    """The shipped preset called ``name`` as `preset_list` describes it, or None."""
    return next((p for p in preset_list() if p["name"] == name), None)
