"""What a message template sees of a record: its values as people read them.

``record.<slug>`` is the field's value formatted by its type (money with its currency, dates and
numbers in the installation's language), ``record.client`` a linked record in the same shape
(read when the template first touches it; it prints as its title), ``record.lines`` the live
lines of a child table, ``record.id`` the id; next to it ``entity`` (the entity's label) and
``url`` (the record's card). Records are read as the system (reminders and rules go to people
who may not be users at all), and nothing but fields is reachable: no method of a model, no
manager, no record that is not the record, one it links to or one of its lines.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import models
from django.utils.translation import gettext as _

from cardfile.metamodel.fields import get_field_type
from cardfile.metamodel.models import Field
from cardfile.metamodel.records.selectors import line_ordering
from cardfile.metamodel.schema.dynamic import EntitySchema, SchemaRegistry

# Links are followed this deep (record.client.company.city); deeper ones print as titles.
MAX_DEPTH = 3
_FILE_TYPES = frozenset({"file", "image"})
_SYSTEM_MOMENTS = ("created_at", "updated_at")


def record_url(entity: str, record_id: int) -> str:
    """The absolute address of a record's card (``CARDFILE_BASE_URL`` + ``/r/<entity>/<id>/``)."""
    base = str(getattr(settings, "CARDFILE_BASE_URL", "http://localhost:8000")).rstrip("/")
    return f"{base}/r/{entity}/{record_id}/"


class UserView:
    """A user as a template sees one: prints as the name; ``username``, ``name``, ``email``."""

    def __init__(self, user: Any) -> None:
        self.username = user.get_username()
        self.name = user.get_full_name() or self.username
        self.email = user.email or ""

    def __str__(self) -> str:
        return self.name


class RecordView:
    """One record for a template: its fields by slug, as attributes or items.

    Not a dict, so a field named ``items`` or ``keys`` is the field and not a dict method;
    iterating gives the slugs. Values are formatted on first use and kept.
    """

    def __init__(
        self,
        registry: SchemaRegistry,
        schema: EntitySchema,
        obj: models.Model,
        *,
        locale: str | None = None,
        depth: int = 0,
    ) -> None:
        self.__dict__["_cf"] = {
            "registry": registry,
            "schema": schema,
            "obj": obj,
            "locale": locale,
            "depth": depth,
            "values": {},
        }

    # -- the mapping -------------------------------------------------------------------------

    def _state(self) -> dict[str, Any]:
        return self.__dict__["_cf"]

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(_("A record in a template cannot be changed."))

    def __getitem__(self, name: str) -> Any:
        state = self._state()
        values = state["values"]
        if name not in values:
            values[name] = self._value(name)
        return values[name]

    def __contains__(self, name: object) -> bool:
        return name == "id" or name in self._state()["schema"].by_slug

    def __iter__(self) -> Iterator[str]:
        yield "id"
        yield from self._state()["schema"].by_slug

    def __len__(self) -> int:
        return 1 + len(self._state()["schema"].by_slug)

    def __str__(self) -> str:
        return record_title(self._state()["schema"], self._state()["obj"], self._state()["locale"])

    def __repr__(self) -> str:
        return f"<record {self._state()['schema'].slug} #{self._state()['obj'].pk}>"

    # -- values ------------------------------------------------------------------------------

    def _value(self, name: str) -> Any:
        state = self._state()
        schema: EntitySchema = state["schema"]
        obj = state["obj"]
        if name == "id":
            return obj.pk
        if name in _SYSTEM_MOMENTS:
            moment = getattr(obj, name)
            return get_field_type("datetime").format(None, moment, locale=state["locale"])
        f = schema.by_slug.get(name)
        if f is None:
            raise KeyError(name)
        return self._field_value(f)

    def _field_value(self, f: Field) -> Any:
        state = self._state()
        registry: SchemaRegistry = state["registry"]
        obj = state["obj"]
        locale, depth = state["locale"], state["depth"]
        if f.type == "child_table":
            child = registry.entity_by_id(f.options["target_id"])
            lines = (
                getattr(obj, f"rev_f{f.pk}")
                .filter(deleted_at__isnull=True)
                .order_by(*line_ordering(child))
            )
            return [RecordView(registry, child, line, locale=locale, depth=depth) for line in lines]
        if f.type == "multi_link":
            target = registry.entity_by_id(f.options["target_id"])
            linked = getattr(obj, f.attname).filter(deleted_at__isnull=True)
            return [self._linked(target, row) for row in linked]
        ftype = get_field_type(f.type)
        value = ftype.get_value(f, obj)
        if value is None:
            return ""
        if f.type == "link":
            target = registry.entity_by_id(f.options["target_id"])
            row = target.model._base_manager.filter(pk=value, deleted_at__isnull=True).first()
            return "" if row is None else self._linked(target, row)
        if f.type == "user":
            user = get_user_model().objects.filter(pk=value).first()
            return "" if user is None else UserView(user)
        if f.type in _FILE_TYPES:
            files = value if isinstance(value, list) else [value]
            return ", ".join(str(item.get("name", "")) for item in files if isinstance(item, dict))
        return ftype.format(f, value, locale=locale)

    def _linked(self, target: EntitySchema, row: models.Model) -> Any:
        state = self._state()
        if state["depth"] + 1 >= MAX_DEPTH:
            return record_title(target, row, state["locale"])
        return RecordView(
            state["registry"], target, row, locale=state["locale"], depth=state["depth"] + 1
        )


def record_title(schema: EntitySchema, obj: models.Model, locale: str | None = None) -> str:
    """The title field's text, or "Client #12" for a record without one."""
    title_id = schema.entity.title_field_id
    f = next((f for f in schema.fields if f.pk == title_id), None) if title_id else None
    if f is not None and f.type not in ("link", "multi_link", "child_table", "user"):
        ftype = get_field_type(f.type)
        value = ftype.get_value(f, obj)
        if value is not None:
            text = ftype.format(f, value, locale=locale)
            if text:
                return text
    return _("%(entity)s #%(id)s") % {"entity": schema.entity.label, "id": obj.pk}


def template_context(
    registry: SchemaRegistry,
    schema: EntitySchema,
    obj: models.Model,
    *,
    locale: str | None = None,
) -> dict[str, Any]:
    """The variables a reminder or rule template is rendered with."""
    locale = locale or settings.LANGUAGE_CODE
    return {
        "record": RecordView(registry, schema, obj, locale=locale),
        "entity": schema.entity.label,
        "url": record_url(schema.slug, obj.pk),
    }
