"""The one interface every message channel implements, and how secret settings are masked."""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from typing import Any, ClassVar

from django.utils.translation import gettext as _

from cardfile.connectors.models import ChannelConfig
from cardfile.core.deliveries import DeliveryFailed
from cardfile.core.models import Delivery

MASK = "••••"


class Channel(ABC):
    """A way out for messages. Register a subclass with
    ``@channel_register("name")`` (`cardfile.core.deliveries`).

    ``settings_schema`` is the JSON Schema of its settings; ``secret_settings`` names the
    settings the API shows only masked — dotted paths, ``"headers.*"`` for every value of an
    object. ``required`` in the schema applies once the channel is switched on.
    """

    name: ClassVar[str]
    label: ClassVar[Any]
    settings_schema: ClassVar[dict[str, Any]] = {"type": "object", "properties": {}}
    secret_settings: ClassVar[tuple[str, ...]] = ()
    enabled_by_default: ClassVar[bool] = True
    # Where the channel is listed among the others (lower first).
    position: ClassVar[int] = 100
    # What a message's address is, for the message that says it is missing.
    address_label: ClassVar[Any] = ""

    def clean_address(self, address: str, user_id: int | None) -> str:
        """The address in its normal form; `DeliveryFailed` if the message cannot go out."""
        address = (address or "").strip()
        if not address:
            raise DeliveryFailed(
                _("There is no %(what)s to send the %(channel)s message to.")
                % {"what": self.address_label, "channel": self.label},
                retry=False,
            )
        return self.normal_address(address)

    def normal_address(self, address: str) -> str:
        """A present address in its normal form, or `DeliveryFailed(retry=False)`."""
        return address

    def configuration(self) -> tuple[bool, dict[str, Any]]:
        """Whether the channel is on, and its settings (the defaults without a row)."""
        row = ChannelConfig.objects.filter(name=self.name).first()
        if row is None:
            return self.enabled_by_default, {}
        return row.enabled, dict(row.settings or {})

    def check_settings(self, settings: dict[str, Any]) -> dict[str, list[str]]:
        """Checks JSON Schema cannot express, by setting name (the schema passed already)."""
        return {}

    @abstractmethod
    def send(self, delivery: Delivery, settings: dict[str, Any]) -> None:
        """Deliver ``delivery`` with ``settings``; `DeliveryFailed` says why not, and
        whether a later attempt may succeed."""


# -- secrets -------------------------------------------------------------------------------------


def _secret_slots(settings: dict[str, Any], paths: tuple[str, ...]) -> list[tuple[dict, str]]:
    """(the dict holding a secret, its key) for every secret present in ``settings``."""
    slots = []
    for path in paths:
        *parents, last = path.split(".")
        holder: Any = settings
        for part in parents:
            holder = holder.get(part) if isinstance(holder, dict) else None
        if not isinstance(holder, dict):
            continue
        keys = list(holder) if last == "*" else [last] if last in holder else []
        slots.extend((holder, key) for key in keys)
    return slots


def settings_masked(channel: Channel, settings: dict[str, Any]) -> dict[str, Any]:
    """``settings`` with every secret that is set shown as ``MASK``."""
    shown = copy.deepcopy(settings)
    for holder, key in _secret_slots(shown, channel.secret_settings):
        if holder[key] not in (None, ""):
            holder[key] = MASK
    return shown


def settings_merged(
    channel: Channel, current: dict[str, Any], patch: dict[str, Any]
) -> dict[str, Any]:
    """``patch`` applied to ``current`` as a JSON merge patch (RFC 7396: objects merge, null
    removes a key); a secret given as ``MASK`` keeps its current value."""
    merged = _merge(copy.deepcopy(current), patch)
    for holder, key in _secret_slots(merged, channel.secret_settings):
        if holder[key] == MASK:
            path = _path_to(merged, holder, key)
            old = _lookup(current, path)
            if old is None:
                del holder[key]  # nothing to keep: the mask is not a value
            else:
                holder[key] = old
    return merged


def _merge(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = target if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge(result.get(key), value)
    return result


def _path_to(root: dict[str, Any], holder: dict[str, Any], key: str) -> list[str]:
    if root is holder:
        return [key]
    for name, value in root.items():
        if isinstance(value, dict):
            found = _path_to(value, holder, key)
            if found:
                return [name, *found]
    return []


def _lookup(settings: dict[str, Any], path: list[str]) -> Any:
    value: Any = settings
    for part in path:
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value
