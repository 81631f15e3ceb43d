"""Errors of the preset package: a preset that cannot be read or installed."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from cardfile.core.exceptions import CardfileError


@dataclass(frozen=True)
class PresetProblem:
    """One problem of a preset: the file (relative to the preset folder), the path inside it
    (``fields[3].type``; blank for the whole file) and what is wrong."""

    file: str
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.path}" if self.path else self.file
        return f"{where}: {self.message}"


class PresetError(CardfileError):
    """Base of the preset errors."""

    code = "preset_error"


class PresetNotFound(PresetError):
    """No shipped preset of that name and no folder at that path."""

    code = "preset_not_found"


class PresetInvalid(PresetError):
    """A preset that cannot be read or installed; ``errors`` lists every problem found."""

    code = "preset_invalid"

    def __init__(self, errors: list[PresetProblem]) -> None:
        self.errors = list(errors)
        first = str(self.errors[0]) if self.errors else _("The preset is not valid.")
        more = len(self.errors) - 1
        message = (
            first
            if more <= 0
            else _("%(first)s (and %(n)d more problems)")
            % {
                "first": first,
                "n": more,
            }
        )
        super().__init__(message)

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.errors) or self.message


class PresetVersionRefused(PresetError):
    """Installing an older version than the one installed."""

    code = "preset_version_refused"
