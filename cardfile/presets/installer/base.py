"""What every install phase shares: the steps taken, the record of applied values, the mapping
from the preset's slugs to the objects here, and the wrapping of service errors into
`PresetInvalid` with the preset file and path."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from cardfile.core.exceptions import CardfileError, InvalidInput
from cardfile.metamodel.models import Entity, Field
from cardfile.metamodel.records.exceptions import RecordValidationError

from ..exceptions import PresetInvalid, PresetProblem
from ..loader import Preset

# What `applied` holds, by kind of object; each entry is {"id", "src", "db"}: the object's id
# here, the preset's values as last applied and the values as they were stored then.
KINDS = ("entities", "fields", "layouts", "views", "roles", "reminders", "rules")
MISSING = object()


@dataclass
class Step:
    """One thing the installer did (or, in a dry run, would do)."""

    action: str  # create, update, keep (the owner's value stays), skip, load
    target: str  # "entity order", "field order.imei", "role technician"
    detail: str = ""

    def __str__(self) -> str:
        labels = {
            "create": _("create"),
            "update": _("update"),
            "keep": _("keep"),
            "skip": _("skip"),
            "load": _("load"),
        }
        text = f"{labels.get(self.action, self.action)} {self.target}"
        return f"{text}: {self.detail}" if self.detail else text


@dataclass
class InstallResult:
    """What an install did: the steps, and how many demo records it loaded."""

    name: str
    version: int
    previous_version: int | None
    steps: list[Step] = field(default_factory=list)
    demo_records: int = 0
    dry_run: bool = False
    title: str = ""


class InstallContext:
    """State of one install run."""

    def __init__(
        self,
        preset: Preset,
        *,
        applied: dict[str, Any] | None,
        locale: str,
        currency: str,
        user: Any,
        progress: Callable[[int, int, str], None] | None,
        total: int,
    ) -> None:
        self.preset = preset
        self.old = copy.deepcopy(applied or {})
        self.applied: dict[str, dict[str, Any]] = {k: dict(self.old.get(k) or {}) for k in KINDS}
        self.locale = locale
        self.currency = currency
        self.user = user
        self.progress = progress
        self.total = max(total, 1)
        self.done = 0
        self.steps: list[Step] = []
        self.translation: dict[str, Any] = (
            preset.translations.get(locale, {}) if locale != preset.locale else {}
        )
        # preset slug -> Entity id here (absent: the owner deleted it, or it could not be made)
        self.entity_ids: dict[str, int] = {}
        # entities made by this run: their fields take the preset's positions
        self.fresh: set[str] = set()
        # (entity slug, field slug) of the preset -> Field id here
        self.field_ids: dict[tuple[str, str], int] = {}

    # -- progress and steps ------------------------------------------------------------------

    def step(self, action: str, target: str, detail: str = "") -> None:
        self.steps.append(Step(action, target, detail))

    def tick(self, message: str) -> None:
        self.done = min(self.done + 1, self.total)
        if self.progress is not None:
            self.progress(self.done, self.total, message)

    # -- the record of applied values --------------------------------------------------------

    def previous(self, kind: str, key: str) -> dict[str, Any] | None:
        return (self.old.get(kind) or {}).get(key)

    def remember(self, kind: str, key: str, object_id: int, src: Any, db: Any) -> None:
        self.applied[kind][key] = {"id": object_id, "src": src, "db": db}

    # -- names here of the preset's objects --------------------------------------------------

    def entity_slug(self, slug: str) -> str | None:
        """The current slug of the preset's entity ``slug`` (the owner may have renamed it)."""
        entity_id = self.entity_ids.get(slug)
        if entity_id is None:
            return None
        return Entity.objects.filter(pk=entity_id).values_list("slug", flat=True).first()

    def field_slug(self, entity: str, slug: str) -> str:
        """The current slug of the preset's field (the preset's own if not made here)."""
        field_id = self.field_ids.get((entity, slug))
        if field_id is None:
            return slug
        return Field.objects.filter(pk=field_id).values_list("slug", flat=True).first() or slug

    def field_slugs(self, entity: str) -> dict[str, str]:
        """Preset field slug -> current slug, for one entity of the preset."""
        ids = {s: pk for (e, s), pk in self.field_ids.items() if e == entity}
        current = dict(Field.objects.filter(pk__in=ids.values()).values_list("pk", "slug"))
        return {s: current.get(pk, s) for s, pk in ids.items()}

    # -- translations ------------------------------------------------------------------------

    def entity_labels(self, slug: str) -> dict[str, Any]:
        return (self.translation.get("entities") or {}).get(slug) or {}

    def field_labels(self, entity: str, slug: str) -> dict[str, Any]:
        return (self.entity_labels(entity).get("fields") or {}).get(slug) or {}


# -- errors ------------------------------------------------------------------------------------

_INDEX = re.compile(r"\[(\d+)\]")


def zero_based(key: str) -> str:
    """The services count list items from 1 (``rows[3]``); preset paths count from 0."""
    return _INDEX.sub(lambda m: f"[{int(m.group(1)) - 1}]", key)


def join_path(path: str, key: str) -> str:
    if not key or key in ("non_field_errors", "__all__"):
        return path
    if not path:
        return key
    return f"{path}{key}" if key.startswith("[") else f"{path}.{key}"


def problems_of(
    error: CardfileError,
    file: str,
    path: str,
    *,
    one_based: bool,
    rename: Callable[[str], str] | None = None,
) -> list[PresetProblem]:
    errors = getattr(error, "errors", None)
    if isinstance(errors, dict) and errors:
        found = []
        for key, messages in errors.items():
            key = zero_based(key) if one_based else key
            key = rename(key) if rename is not None else key
            for message in messages if isinstance(messages, list) else [messages]:
                found.append(PresetProblem(file, join_path(path, key), str(message)))
        return found
    return [PresetProblem(file, path, error.message)]


@contextmanager
def at(
    file: str,
    path: str,
    *,
    one_based: bool = True,
    rename: Callable[[str], str] | None = None,
) -> Iterator[None]:
    """Report a refusal by a metamodel service as a problem of the preset at file and path
    (the service's error keys appended to ``path``, through ``rename`` if given)."""
    try:
        yield
    except PresetInvalid:
        raise
    except (RecordValidationError, InvalidInput) as error:
        raise PresetInvalid(
            problems_of(error, file, path, one_based=one_based, rename=rename)
        ) from error
    except CardfileError as error:
        raise PresetInvalid([PresetProblem(file, path, error.message)]) from error


def three_way(
    new: dict[str, Any], previous: dict[str, Any] | None, current: dict[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """The changes to make and the keys kept: an attribute changes where the preset's value
    moved since it was last applied and the value here is still the one applied then."""
    if previous is None:
        return {}, []
    src, db = previous.get("src") or {}, previous.get("db") or {}
    changes: dict[str, Any] = {}
    kept: list[str] = []
    for key, value in new.items():
        before = src.get(key, MISSING)
        if before == value:
            continue
        if key in db and current.get(key, MISSING) != db[key]:
            kept.append(key)
            continue
        if current.get(key, MISSING) == value:
            continue
        changes[key] = value
    return changes, kept


def carried(previous: dict[str, Any] | None, after: dict[str, Any], changed: Any) -> dict[str, Any]:
    """The stored values to remember after an upgrade: those the installer just set, and for
    the rest what it had set before, so a value the owner changed still reads as the owner's
    next time (the owner's value is never taken for the preset's)."""
    if previous is None:
        return dict(after)
    db = dict(previous.get("db") or {})
    for key, value in after.items():
        if key in changed or key not in db:
            db[key] = value
    return db
