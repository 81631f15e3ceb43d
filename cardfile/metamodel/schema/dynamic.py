"""Django models generated from the metamodel, cached per schema token.

Every committed schema change writes a new random token to ``SchemaState``; each process keeps
the registries it built keyed by token, so a process sees another's change on its next request
(one cheap query) and never uses models from a transaction that rolled back. Generated models
live in their own ``django.apps.registry.Apps`` ("dyn"), never in Django's global registry:
migrations, admin autodiscovery and system checks do not see them, and a rebuilt schema
replaces the old classes instead of piling up next to them. Models are never pickled.
"""

from __future__ import annotations

import contextvars
import threading
import uuid
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field as dc_field

from django.apps.registry import Apps
from django.contrib.auth import get_user_model
from django.db import models
from django.db.migrations.state import AppConfigStub
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cardfile.core.exceptions import NotFound
from cardfile.core.models import Branch
from cardfile.metamodel.fields import get_field_type
from cardfile.metamodel.models import Entity, Field, SchemaState

SYSTEM_FIELDS = (
    "id",
    "created_at",
    "created_by",
    "updated_at",
    "updated_by",
    "version",
    "branch",
    "deleted_at",
)
APP_LABEL = "dyn"
_CACHE_SIZE = 4


@dataclass
class EntitySchema:
    """One entity as the running schema sees it: metadata rows and the generated model."""

    entity: Entity
    fields: list[Field]
    model: type[models.Model]
    # The child_table field of another entity that owns this entity's records, if any.
    parent_field: Field | None = None
    by_slug: dict[str, Field] = dc_field(default_factory=dict)

    @property
    def slug(self) -> str:
        return self.entity.slug

    @property
    def child_fields(self) -> list[Field]:
        return [f for f in self.fields if f.type == "child_table"]

    def field(self, slug: str) -> Field:
        try:
            return self.by_slug[slug]
        except KeyError:
            raise NotFound(
                _("Entity %(entity)s has no field %(field)s.")
                % {"entity": self.entity.slug, "field": slug},
                code="unknown_field",
            ) from None

    def objects(self) -> models.QuerySet:
        """Live records (not in trash)."""
        return self.model._default_manager.filter(deleted_at__isnull=True)


class SchemaRegistry:
    """All live entities of one schema version with their generated models."""

    def __init__(self, token: str, entities: list[Entity], fields: list[Field]) -> None:
        self.token = token
        # App config stubs (as Django's migration state uses) make the registry list its
        # models, so reverse relations, prefetches and delete cascades work between them.
        user_model = get_user_model()
        self.apps = Apps(
            [AppConfigStub(label) for label in (APP_LABEL, user_model._meta.app_label, "core")]
        )
        self.apps.register_model(user_model._meta.app_label, user_model)
        self.apps.register_model(Branch._meta.app_label, Branch)
        live_ids = {e.pk for e in entities}
        by_entity: dict[int, list[Field]] = {e.pk: [] for e in entities}
        for f in fields:
            target = f.options.get("target_id") if isinstance(f.options, dict) else None
            if target is not None and target not in live_ids:
                continue  # its target is in trash; the field comes back when the target does
            by_entity[f.entity_id].append(f)
        parents = {
            f.options["target_id"]: f
            for fs in by_entity.values()
            for f in fs
            if f.type == "child_table"
        }
        self._by_slug: dict[str, EntitySchema] = {}
        self._by_id: dict[int, EntitySchema] = {}
        for entity in entities:
            entity_fields = by_entity[entity.pk]
            model = self._build_model(entity, entity_fields, parents.get(entity.pk))
            schema = EntitySchema(
                entity=entity,
                fields=entity_fields,
                model=model,
                parent_field=parents.get(entity.pk),
                by_slug={f.slug: f for f in entity_fields},
            )
            self._by_slug[entity.slug] = schema
            self._by_id[entity.pk] = schema
        self._through: dict[int, type[models.Model]] = {
            f.pk: self._build_through_model(f)
            for fs in by_entity.values()
            for f in fs
            if f.type == "multi_link"
        }
        unresolved = [key for key in self.apps._pending_operations if key[0] == APP_LABEL]
        if unresolved:
            raise RuntimeError(f"unresolved relations in generated models: {unresolved}")

    # -- building ------------------------------------------------------------------------------

    def _system_fields(self) -> dict[str, models.Field]:
        user_model = get_user_model()
        return {
            "id": models.BigAutoField(primary_key=True),
            "created_at": models.DateTimeField(default=timezone.now, db_index=True),
            "created_by": models.ForeignKey(
                user_model, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
            ),
            "updated_at": models.DateTimeField(default=timezone.now),
            "updated_by": models.ForeignKey(
                user_model, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
            ),
            "version": models.PositiveIntegerField(default=1),
            "branch": models.ForeignKey(
                Branch, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
            ),
            "deleted_at": models.DateTimeField(null=True, blank=True),
        }

    def _build_model(
        self, entity: Entity, fields: list[Field], parent_field: Field | None
    ) -> type[models.Model]:
        attrs: dict[str, object] = {"__module__": __name__, **self._system_fields()}
        constraints: list[models.BaseConstraint] = []
        indexes: list[models.Index] = []
        for f in fields:
            ftype = get_field_type(f.type)
            model_fields = ftype.model_fields(f)
            attrs.update(model_fields)
            if f.unique and ftype.has_column:
                constraints.append(unique_constraint(entity, f))
            if f.indexed and ftype.has_column:
                indexes.append(field_index(entity, f))
        if parent_field is not None:
            attrs[parent_field.attname] = get_field_type("child_table").parent_link_field(
                parent_field
            )
        meta = type(
            "Meta",
            (),
            {
                "app_label": APP_LABEL,
                "apps": self.apps,
                "db_table": entity.table_name,
                "managed": True,
                "constraints": constraints,
                "indexes": indexes,
                "verbose_name": entity.label,
                "verbose_name_plural": entity.label_plural or entity.label,
            },
        )
        attrs["Meta"] = meta
        attrs["__str__"] = _record_str
        return type(entity.model_name, (models.Model,), attrs)

    def _build_through_model(self, f: Field) -> type[models.Model]:
        ftype = get_field_type("multi_link")
        meta = type(
            "Meta",
            (),
            {
                "app_label": APP_LABEL,
                "apps": self.apps,
                "db_table": f"cf_m{f.pk}",
                "managed": True,
                "ordering": ["position", "id"],
                "constraints": [
                    models.UniqueConstraint(fields=["source", "target"], name=f"cf_m{f.pk}_uniq")
                ],
            },
        )
        attrs = {"__module__": __name__, "Meta": meta, **ftype.through_fields(f)}
        return type(f"M{f.pk}", (models.Model,), attrs)

    # -- lookups -------------------------------------------------------------------------------

    def entities(self) -> list[EntitySchema]:
        return sorted(self._by_id.values(), key=lambda s: (s.entity.position, s.entity.pk))

    def entity(self, slug: str) -> EntitySchema:
        try:
            return self._by_slug[slug]
        except KeyError:
            raise NotFound(
                _("There is no entity %(entity)s.") % {"entity": slug}, code="unknown_entity"
            ) from None

    def entity_by_id(self, entity_id: int) -> EntitySchema:
        try:
            return self._by_id[entity_id]
        except KeyError:
            raise NotFound(
                _("There is no entity with id %(id)s.") % {"id": entity_id}, code="unknown_entity"
            ) from None

    def through_model(self, f: Field) -> type[models.Model]:
        return self._through[f.pk]


def _record_str(self: models.Model) -> str:
    return f"{self._meta.verbose_name} #{self.pk}"


def unique_constraint(entity: Entity, f: Field) -> models.UniqueConstraint:
    """Unique among live records: a value in trash does not block a new record."""
    return models.UniqueConstraint(
        fields=[f.attname],
        condition=Q(deleted_at__isnull=True),
        name=f"cf_e{entity.pk}_f{f.pk}r{f.column_rev}_u",
    )


def field_index(entity: Entity, f: Field) -> models.Index:
    """(field, id): lists sort on a field with the id as tie-break, so the index alone gives
    a page in order."""
    return models.Index(fields=[f.attname, "id"], name=f"cf_e{entity.pk}_f{f.pk}r{f.column_rev}_i")


# -- the per-process cache ---------------------------------------------------------------------

_lock = threading.Lock()
_cache: OrderedDict[str, SchemaRegistry] = OrderedDict()
# Set for the length of a request, so one request checks the version once.
_pinned_token: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "cardfile_schema_token", default=None
)


_pinned_access: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "cardfile_access_token", default=None
)


def current_tokens() -> tuple[str, str]:
    """The committed (or, inside a changing transaction, the new) schema and access tokens."""
    row = SchemaState.objects.values_list("token", "access_token").filter(pk=1).first()
    if row is None:  # a database flushed by hand (or by a test) lost the row: make it again
        state = ensure_state()
        row = (state.token, state.access_token)
    return row


def current_token() -> str:
    """The committed (or, inside a schema-changing transaction, the new) schema token."""
    return current_tokens()[0]


def access_token() -> str:
    """The token of roles, rights and memberships: pinned for a request, else read now."""
    return _pinned_access.get() or current_tokens()[1]


def ensure_state() -> SchemaState:
    state, _created = SchemaState.objects.get_or_create(pk=1, defaults={"token": uuid.uuid4().hex})
    return state


def get_registry() -> SchemaRegistry:
    """The registry for the current schema, built once per process and token."""
    token = _pinned_token.get() or current_token()
    registry = _cache.get(token)
    if registry is not None:
        return registry
    with _lock:
        registry = _cache.get(token)
        if registry is None:
            registry = _build(token)
            _cache[token] = registry
            while len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
        return registry


def _build(token: str) -> SchemaRegistry:
    entities = list(Entity.objects.filter(deleted_at__isnull=True).order_by("position", "id"))
    fields = list(
        Field.objects.filter(deleted_at__isnull=True, entity__deleted_at__isnull=True).order_by(
            "entity_id", "position", "id"
        )
    )
    return SchemaRegistry(token, entities, fields)


@contextmanager
def pinned_schema() -> Iterator[None]:
    """Check the schema version once and keep it for the block (a request, a task)."""
    schema, access = current_tokens()
    reset = _pinned_token.set(schema)
    reset_access = _pinned_access.set(access or "-")
    try:
        yield
    finally:
        _pinned_access.reset(reset_access)
        _pinned_token.reset(reset)


def repin(token: str) -> None:
    """After a schema change inside a pinned block, the block goes on with the new schema."""
    if _pinned_token.get() is not None:
        _pinned_token.set(token)


def repin_access(token: str) -> None:
    """After a change of rights inside a pinned block, the block goes on with the new rights."""
    if _pinned_access.get() is not None:
        _pinned_access.set(token)


def clear_cache() -> None:
    with _lock:
        _cache.clear()
