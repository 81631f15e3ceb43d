"""Choice colours: a choice's colour reaches CSS only when it is a hex colour or one of a fixed
set of names, whichever screen shows it (list badges, board columns, card inputs)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from cardfile.metamodel.models import Field

_HEX_COLOUR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
# Bootstrap's colour variables, and whether white text reads on them
_NAMED_COLOURS = {
    "red": True,
    "orange": False,
    "yellow": False,
    "green": True,
    "teal": True,
    "cyan": False,
    "blue": True,
    "indigo": True,
    "purple": True,
    "pink": True,
    "gray": True,
    "grey": True,
}


@dataclass
class Badge:
    """A choice as a coloured badge."""

    label: str
    colour: str = ""  # a CSS colour built from a checked colour only ("" for none)
    dark: bool = False

    @property
    def style(self) -> str:
        """The badge's CSS custom property setting (``style="..."``), or ""."""
        return f"--cf-badge: {self.colour}" if self.colour else ""


def choice_colour(raw: Any) -> tuple[str, bool] | None:
    """``raw`` as a CSS colour and whether it is dark (white text reads on it); None when it
    is no hex colour nor a known name, so nothing else ever reaches a style attribute."""
    colour = str(raw or "").strip().lower()
    if _HEX_COLOUR.match(colour):
        digits = colour[1:]
        if len(digits) == 3:
            digits = "".join(c * 2 for c in digits)
        r, g, b = (int(digits[i : i + 2], 16) for i in (0, 2, 4))
        return f"#{digits}", (0.299 * r + 0.587 * g + 0.114 * b) < 150
    if colour in _NAMED_COLOURS:
        name = "gray" if colour == "grey" else colour
        return f"var(--bs-{name})", _NAMED_COLOURS[colour]
    return None


def choice_badge(choice: dict[str, Any]) -> Badge:
    """A choice's badge; its colour is used only when `choice_colour` accepts it."""
    label = str(choice.get("label") or choice["value"])
    checked = choice_colour(choice.get("color"))
    if checked is None:
        return Badge(label)
    return Badge(label, *checked)


def choices_of(f: Field) -> dict[str, dict[str, Any]]:
    """A choice field's choices (a status field's states) by value, in their order (plain
    strings read as their own label)."""
    found = {}
    for item in f.options.get("states" if f.type == "status" else "choices", []):
        choice = {"value": item, "label": item} if isinstance(item, str) else dict(item)
        found[choice["value"]] = choice
    return found
