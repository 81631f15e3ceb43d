"""Titles of records and values shown as text on a card (read-only fields, history, conflicts),
as the user may read them."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.utils.translation import get_language

from cardfile.core.exceptions import CardfileError
from cardfile.metamodel.access import Access
from cardfile.metamodel.fields import get_field_type
from cardfile.metamodel.fields.computed import COMPUTED_TYPES
from cardfile.metamodel.models import Field
from cardfile.metamodel.schema.dynamic import EntitySchema, SchemaRegistry


class Titles:
    """Titles of records as the user may read them (one query per entity and batch)."""

    def __init__(self, registry: SchemaRegistry, access: Access) -> None:
        self.registry = registry
        self.access = access
        self._known: dict[tuple[int, int], str] = {}
        self._users: dict[int, str] | None = None

    def title_field(self, schema: EntitySchema) -> Field | None:
        title_id = schema.entity.title_field_id
        if title_id is None or title_id in self.access.hidden(schema):
            return None
        return next((f for f in schema.fields if f.pk == title_id), None)

    def title(self, schema: EntitySchema, obj: Any) -> str:
        f = self.title_field(schema)
        if f is not None:
            text = get_field_type(f.type).format(
                f, get_field_type(f.type).get_value(f, obj), locale=get_language()
            )
            if text:
                return text
        return f"{schema.entity.label} #{obj.pk}"

    def load(self, schema: EntitySchema, ids: Iterable[Any]) -> None:
        wanted = {int(i) for i in ids if str(i).isdigit()}
        wanted -= {pk for (entity, pk) in self._known if entity == schema.entity.pk}
        if not wanted:
            return
        rows = self.access.visible(schema, schema.model._base_manager.filter(pk__in=wanted))
        for pk in wanted:  # what the user may not read shows as its id only
            self._known[(schema.entity.pk, pk)] = f"#{pk}"
        for obj in rows:
            self._known[(schema.entity.pk, obj.pk)] = self.title(schema, obj)

    def of(self, schema: EntitySchema, pk: Any) -> str:
        if pk in (None, ""):
            return ""
        key = (schema.entity.pk, int(pk)) if str(pk).isdigit() else None
        if key is not None and key not in self._known:
            self.load(schema, [pk])
        return self._known.get(key, f"#{pk}") if key else str(pk)

    def users(self) -> dict[int, str]:
        if self._users is None:
            model = get_user_model()
            self._users = {
                u.pk: u.get_username()
                for u in model.objects.filter(is_active=True).order_by(model.USERNAME_FIELD)
            }
        return self._users

    def user(self, pk: Any) -> str:
        if str(pk).isdigit():
            pk = int(pk)
        return self.users().get(pk) or f"#{pk}"


def value_text(titles: Titles, f: Field, value: Any) -> str:
    """A value in the API's shape (``record_to_dict``, history, a form's ``data``) as text for
    the user's language: linked records by title, users by name; what does not read as a value
    of the field is shown as it is."""
    registry = titles.registry
    if f.type == "link":
        return titles.of(registry.entity_by_id(f.options["target_id"]), value)
    if f.type == "multi_link":
        target = registry.entity_by_id(f.options["target_id"])
        return ", ".join(titles.of(target, pk) for pk in value or [])
    if f.type == "user":
        return titles.user(value)
    ftype = get_field_type(f.type)
    try:
        internal = ftype.to_internal(f, value) if f.type not in COMPUTED_TYPES else None
    except CardfileError:
        internal = None
    if internal is None:
        return raw_text(value)
    return ftype.format(f, internal, locale=get_language())


def raw_text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
