"""Titles of records and names of users as one user may read them, loaded in batches."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from cardfile.metamodel.access import Access
from cardfile.metamodel.fields import get_field_type
from cardfile.metamodel.models import Field
from cardfile.metamodel.schema.dynamic import EntitySchema, SchemaRegistry


class Titles:
    """Titles of records and names of users, as one user may read them.

    A record's title is its entity's title field formatted for the user's language. A record
    without one (none set, hidden from the user, or empty), or that the user may not read,
    reads as "Client #12"; with ``bare``, where the entity is named already (a list column
    under its header), as "#12". Users read as their names, active or not.

    Titles are loaded in batches (one query per entity and batch) and kept, so a screen loads
    what it shows first (`load`, `remember`, `load_users`) and then asks (`of`, `user`).
    """

    def __init__(self, registry: SchemaRegistry, access: Access, locale: str | None = None) -> None:
        self.registry = registry
        self.access = access
        self.locale = locale or get_language()
        # (entity id, record id) -> the title field's text ("" for none); None: not readable
        self._known: dict[tuple[int, int], str | None] = {}
        self._user_names: dict[int, str | None] = {}  # None: no such user
        self._active: dict[int, str] | None = None
        self._card_prefixes: dict[str, str] = {}

    # -- records -------------------------------------------------------------------------------

    def title_field(self, schema: EntitySchema) -> Field | None:
        """The entity's title field, if the user may read it."""
        title_id = schema.entity.title_field_id
        if title_id is None or title_id in self.access.hidden(schema):
            return None
        return next((f for f in schema.fields if f.pk == title_id), None)

    def fallback(self, schema: EntitySchema, pk: Any, *, bare: bool = False) -> str:
        """What a record without a title the user may read shows: "Client #12" ("#12")."""
        if bare:
            return f"#{pk}"
        return _("%(entity)s #%(id)s") % {"entity": schema.entity.label, "id": pk}

    def title(self, schema: EntitySchema, obj: Any, *, bare: bool = False) -> str:
        """The title of ``obj``, a record of ``schema`` the user may read."""
        return self._text(schema, obj) or self.fallback(schema, obj.pk, bare=bare)

    def remember(self, schema: EntitySchema, pk: int, obj: Any | None) -> None:
        """Keep what record ``pk`` loaded by other means (a link expanded with a page) shows:
        ``obj`` is the record, or None where the user may not read it."""
        self._known[(schema.entity.pk, pk)] = None if obj is None else self._text(schema, obj)

    def load(self, schema: EntitySchema, ids: Iterable[Any]) -> None:
        """Load the titles of these records of ``schema`` (one query for those not known)."""
        known = {pk for (entity, pk) in self._known if entity == schema.entity.pk}
        wanted = {int(i) for i in ids if str(i).isdigit()} - known
        if not wanted:
            return
        for pk in wanted:  # until found among the rows the user may read
            self._known[(schema.entity.pk, pk)] = None
        if not self.access.can("read", schema):
            return
        rows = self.access.visible(schema, schema.model._base_manager.filter(pk__in=wanted))
        for obj in rows:
            self.remember(schema, obj.pk, obj)

    def readable(self, schema: EntitySchema, pk: Any) -> bool:
        """Whether the user may read this record (loading it if need be)."""
        if not str(pk).isdigit():
            return False
        key = (schema.entity.pk, int(pk))
        if key not in self._known:
            self.load(schema, [pk])
        return self._known[key] is not None

    def of(self, schema: EntitySchema, pk: Any, *, bare: bool = False) -> str:
        """The title of the record of ``schema`` with id ``pk`` (loading it if need be);
        what is no id is shown as it is."""
        if pk in (None, ""):
            return ""
        if not str(pk).isdigit():
            return str(pk)
        key = (schema.entity.pk, int(pk))
        if key not in self._known:
            self.load(schema, [pk])
        return self._known[key] or self.fallback(schema, int(pk), bare=bare)

    def card_url(self, schema: EntitySchema, pk: int) -> str:
        """The URL of a record's card."""
        if schema.slug not in self._card_prefixes:
            url = reverse("ui:record_card", args=[schema.slug, 0])
            self._card_prefixes[schema.slug] = url[: -len("0/")]
        return f"{self._card_prefixes[schema.slug]}{pk}/"

    def _text(self, schema: EntitySchema, obj: Any) -> str:
        f = self.title_field(schema)
        if f is None:
            return ""
        ftype = get_field_type(f.type)
        return ftype.format(f, ftype.get_value(f, obj), locale=self.locale)

    # -- users ---------------------------------------------------------------------------------

    def load_users(self, ids: Iterable[Any]) -> None:
        """Load the names of these users (one query for those not known)."""
        wanted = {int(i) for i in ids if str(i).isdigit()} - set(self._user_names)
        if not wanted:
            return
        for pk in wanted:
            self._user_names[pk] = None
        for user in get_user_model().objects.filter(pk__in=wanted):
            self._user_names[user.pk] = user.get_username()

    def user(self, pk: Any) -> str:
        """A user's name ("#id" for a user that is gone)."""
        if pk in (None, ""):
            return ""
        if not str(pk).isdigit():
            return str(pk)
        self.load_users([pk])
        return self._user_names[int(pk)] or f"#{pk}"

    def active_users(self) -> dict[int, str]:
        """The users one may choose (the active ones), by name."""
        if self._active is None:
            model = get_user_model()
            users = model.objects.filter(is_active=True).order_by(model.USERNAME_FIELD)
            self._active = {u.pk: u.get_username() for u in users}
            self._user_names.update(self._active)
        return self._active
