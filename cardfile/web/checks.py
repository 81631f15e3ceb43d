"""System checks of the web side: the UI's front-end packages must be installed."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Warning, register


@register()
def vendor_assets_installed(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    missing = [
        f"{name} ({settings.ASSETS_DIR / path})"
        for name, path in settings.VENDOR_ASSETS.items()
        if not (settings.ASSETS_DIR / path).is_dir()
    ]
    if not missing:
        return []
    return [
        Warning(
            "The web UI's front-end packages are missing: " + ", ".join(missing) + ".",
            hint="Run `make assets` (npm ci), or point CARDFILE_ASSETS_DIR at node_modules.",
            id="cardfile.W001",
        )
    ]
