"""How formulas see the schema: field slugs and paths -> formula types (the engine's
`SchemaView`), and the SQL `Scope` that reads those fields from the generated tables."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.conf import settings
from django.db.models import Expression, F, OuterRef, QuerySet, Subquery
from django.utils.translation import gettext as _

from cardfile.formula_engine import FieldInfo, FormulaNameError
from cardfile.formula_engine import types as t
from cardfile.metamodel.fields.computed import COMPUTED_TYPES
from cardfile.metamodel.models import Field
from cardfile.metamodel.records.selectors import line_ordering
from cardfile.metamodel.schema.dynamic import EntitySchema, SchemaRegistry

K = t.Kind
_PLAIN = {
    "integer": t.INTEGER,
    "decimal": t.DECIMAL,
    "percent": t.PERCENT,
    "text": t.TEXT,
    "long_text": t.TEXT,
    "email": t.TEXT,
    "phone": t.TEXT,
    "url": t.TEXT,
    "autonumber": t.TEXT,
    "choice": t.FormulaType(K.CHOICE),
    "status": t.FormulaType(K.CHOICE),
    "boolean": t.BOOLEAN,
    "date": t.DATE,
    "datetime": t.DATETIME,
    "duration": t.DURATION,
    "user": t.USER,
}
# System columns formulas may read: slug -> (type, ORM name).
SYSTEM = {
    "id": (t.INTEGER, "pk"),
    "created_at": (t.DATETIME, "created_at"),
    "updated_at": (t.DATETIME, "updated_at"),
    "created_by": (t.USER, "created_by"),
    "updated_by": (t.USER, "updated_by"),
    "branch": (t.link("branch"), "branch"),
}


def field_formula_type(registry: SchemaRegistry, f: Field) -> t.FormulaType | None:
    """A field's type in formulas, or None for types formulas cannot read (yet)."""
    if f.type in _PLAIN:
        return _PLAIN[f.type]
    if f.type == "money":
        return t.money(f.options.get("currency") or settings.CARDFILE_CURRENCY)
    if f.type in ("link", "child_table"):
        return t.link(registry.entity_by_id(f.options["target_id"]).slug)
    if f.type in COMPUTED_TYPES:
        result = f.options.get("result") or {}
        return t.FormulaType(
            K(result.get("type") or "blank"), result.get("currency"), result.get("target")
        )
    return None


def reverse_links(
    registry: SchemaRegistry, schema: EntitySchema
) -> dict[str, tuple[EntitySchema, Field]]:
    """The records that link to ``schema``, by the name formulas give them: ``order__client``
    (entity, then its link field), and plain ``order`` when that is order's only link here.
    Names of the entity's own fields win over these. Worked out once per schema version."""
    cache = registry.__dict__.setdefault("_cf_reverse_links", {})
    if schema.entity.pk not in cache:
        cache[schema.entity.pk] = _reverse_links(registry, schema)
    return cache[schema.entity.pk]


def _reverse_links(
    registry: SchemaRegistry, schema: EntitySchema
) -> dict[str, tuple[EntitySchema, Field]]:
    found: dict[str, tuple[EntitySchema, Field]] = {}
    counts: dict[str, int] = {}
    for source in registry.entities():
        if source.parent_field is not None:
            continue  # lines belong to their parent: reach them through its child table
        for f in source.fields:
            if f.type == "link" and f.options.get("target_id") == schema.entity.pk:
                found[f"{source.slug}__{f.slug}"] = (source, f)
                counts[source.slug] = counts.get(source.slug, 0) + 1
    for source, f in list(found.values()):
        if counts[source.slug] == 1:
            found.setdefault(source.slug, (source, f))
    return {name: pair for name, pair in found.items() if name not in schema.by_slug}


class EntitySchemaView:
    """The engine's `SchemaView` over one entity: ``client.discount``, ``lines.amount``."""

    def __init__(self, registry: SchemaRegistry, schema: EntitySchema) -> None:
        self.registry = registry
        self.schema = schema

    def resolve_field(self, path: tuple[str, ...]) -> FieldInfo | None:
        schema, many = self.schema, False
        for index, slug in enumerate(path):
            last = index == len(path) - 1
            if slug in SYSTEM:
                return FieldInfo(SYSTEM[slug][0], many) if last else None
            f = schema.by_slug.get(slug)
            if f is None:
                reverse = reverse_links(self.registry, schema).get(slug)
                if reverse is None or many:
                    return None
                schema, many = reverse[0], True
                if last:
                    return FieldInfo(t.link(schema.slug), many)
                continue
            kind_type = field_formula_type(self.registry, f)
            if kind_type is None:
                raise FormulaNameError(
                    _("{name} is a {type} field; formulas cannot read it yet.").format(
                        name=".".join(path[: index + 1]), type=f.type
                    ),
                    expected=[_("a field of another type")],
                )
            if f.type == "child_table":
                if many:
                    return None  # lines of lines: one level of aggregation only
                many = True
            if last:
                return FieldInfo(kind_type, many)
            if f.type not in ("link", "child_table"):
                return None
            schema = self.registry.entity_by_id(f.options["target_id"])
        return None

    def field_names(self, prefix: tuple[str, ...] = ()) -> Iterable[str]:
        schema = self.schema
        for slug in prefix:
            f = schema.by_slug.get(slug)
            reverse = reverse_links(self.registry, schema).get(slug)
            if reverse is not None and f is None:
                schema = reverse[0]
                continue
            if f is None or f.type not in ("link", "child_table"):
                return []
            schema = self.registry.entity_by_id(f.options["target_id"])
        readable = [
            f.slug for f in schema.fields if field_formula_type(self.registry, f) is not None
        ]
        return [*readable, *SYSTEM, *reverse_links(self.registry, schema)]


def path_steps(
    registry: SchemaRegistry, schema: EntitySchema, path: tuple[str, ...]
) -> Iterator[tuple[EntitySchema, Field | None]]:
    """What a formula path such as ``("client", "name")`` reads, step by step: the entity and
    field of each step (the field None for a system field, or for the records that link here,
    whose entity the step then is). Stops at a name that resolves to nothing."""
    current = schema
    for slug in path:
        if slug in SYSTEM:
            yield current, None
            return
        f = current.by_slug.get(slug)
        if f is None:
            reverse = reverse_links(registry, current).get(slug)
            if reverse is None:
                return
            current = reverse[0]
            yield current, None
            continue
        yield current, f
        if f.type not in ("link", "child_table"):
            return
        current = registry.entity_by_id(f.options["target_id"])


# Given an entity, the ids of its rows a user may read, or None for all of them.
Guard = Callable[[EntitySchema], QuerySet | None]


def _outer(name: str, depth: int) -> Any:
    if depth == 0:
        return F(name)
    ref: Any = name
    for _level in range(depth):
        ref = OuterRef(ref)
    return ref


class RowScope:
    """The engine's SQL `Scope`: one row of ``schema``, ``depth`` subqueries out."""

    def __init__(
        self,
        registry: SchemaRegistry,
        schema: EntitySchema,
        depth: int = 0,
        guard: Guard | None = None,
    ) -> None:
        self.registry = registry
        self.schema = schema
        self.depth = depth
        # For formulas a user wrote (``?where=``): the ids of an entity's rows the user may
        # read (None: all), so a formula never reads a linked row its user cannot see.
        self.guard = guard

    def _visible(self, queryset: QuerySet, schema: EntitySchema, prefix: str = "") -> QuerySet:
        ids = self.guard(schema) if self.guard is not None else None
        if ids is None:
            return queryset
        return queryset.filter(**{f"{prefix}__in" if prefix else "pk__in": ids})

    def _name(self, schema: EntitySchema, slug: str) -> tuple[str, Field | None]:
        if slug in SYSTEM:
            return SYSTEM[slug][1], None
        f = schema.by_slug[slug]
        return f.attname, f

    def column(self, path: tuple[str, ...]) -> Expression:
        if not path:
            return _outer("pk", self.depth)
        name, f = self._name(self.schema, path[0])
        if len(path) == 1:
            return _outer(name, self.depth)
        # a path through links: one subquery on the first target, joins inside it
        target = self.registry.entity_by_id(f.options["target_id"])
        linked = target.model._base_manager.filter(pk=_outer(f.attname, self.depth + 1))
        linked = self._visible(linked, target)
        names, schema = [], target
        for slug in path[1:]:
            name_here, f_here = self._name(schema, slug)
            names.append(name_here)
            if f_here is not None and f_here.type == "link":
                schema = self.registry.entity_by_id(f_here.options["target_id"])
                linked = self._visible(linked, schema, "__".join(names))
        return Subquery(linked.values("__".join(names))[:1])

    def rows(self, path: tuple[str, ...]) -> tuple[int, RowScope, QuerySet]:
        f = self.schema.by_slug.get(path[0])
        if f is None:  # records that link here
            source, link = reverse_links(self.registry, self.schema)[path[0]]
            linking = source.model._base_manager.filter(
                deleted_at__isnull=True, **{link.attname: _outer("pk", self.depth + 1)}
            )
            return (
                1,
                RowScope(self.registry, source, guard=self.guard),
                self._visible(linking, source),
            )
        child = self.registry.entity_by_id(f.options["target_id"])
        lines = child.model._base_manager.filter(
            deleted_at__isnull=True, **{f.attname: _outer("pk", self.depth + 1)}
        )
        return 1, RowScope(self.registry, child, guard=self.guard), lines

    def deeper(self) -> RowScope:
        return RowScope(self.registry, self.schema, self.depth + 1, self.guard)

    def order_by(self) -> list[Any]:
        return line_ordering(self.schema)
