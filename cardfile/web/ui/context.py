"""What every UI page needs: the menu of entities the user may read, grouped as the owner
arranged them, the text direction, what the user may configure, the bell's unread count and the
name in the top bar (the company's)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.http import HttpRequest
from django.utils.translation import get_language_bidi

from cardfile.connectors.selectors import unread_count
from cardfile.core.selectors import installation_get
from cardfile.metamodel.access import access_for
from cardfile.metamodel.schema.dynamic import EntitySchema, get_registry


@dataclass
class MenuGroup:
    label: str
    entities: list[EntitySchema] = field(default_factory=list)


class Menu:
    """Worked out on first use, so pages that never show the menu pay nothing."""

    def __init__(self, user: Any) -> None:
        self.user = user

    @cached_property
    def groups(self) -> list[MenuGroup]:
        if not self.user.is_authenticated:
            return []
        access = access_for(self.user)
        groups: dict[str, MenuGroup] = {}
        for schema in get_registry().entities():
            if schema.parent_field is not None or not access.can("read", schema):
                continue
            label = schema.entity.nav_group
            groups.setdefault(label, MenuGroup(label)).entities.append(schema)
        return list(groups.values())

    @cached_property
    def can_configure(self) -> bool:
        if not self.user.is_authenticated:
            return False
        access = access_for(self.user)
        return access.is_owner or any(
            access.can_configure(schema) for schema in get_registry().entities()
        )

    @cached_property
    def is_owner(self) -> bool:
        return self.user.is_authenticated and access_for(self.user).is_owner


class Bell:
    """The unread notifications of the top bar: one COUNT query, on first use only."""

    def __init__(self, user: Any) -> None:
        self.user = user

    @cached_property
    def unread(self) -> int:
        return unread_count(self.user) if self.user.is_authenticated else 0


class Brand:
    """The name in the top bar: the company's once it has one, else Cardfile. UI pages get the
    installation the middleware read already; other pages read it on first use."""

    def __init__(self, request: HttpRequest) -> None:
        self.request = request

    @cached_property
    def name(self) -> str:
        installation = getattr(self.request, "installation", None)
        return str(installation if installation is not None else installation_get())


def ui(request: HttpRequest) -> dict[str, Any]:
    return {
        "menu": Menu(request.user),
        "bell": Bell(request.user),
        "brand": Brand(request),
        "rtl": get_language_bidi(),
    }
