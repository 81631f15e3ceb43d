"""Keeping computed columns right: set-based, in the writing transaction, and in background
batches when a definition changes.

After a write, the record service hands over what changed (record ids per entity and field).
The dependency graph maps each change to the computed fields it affects and, through the
reverse of each path (a link's referrers, a line's parent), to the affected rows, as subqueries;
then each table with affected rows gets one UPDATE that sets its computed columns for exactly
those rows. The rows it updated count as changed in turn, so a client's discount reaches its
orders' totals and, through them, whatever reads those totals.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from babel.numbers import get_currency_precision
from django.conf import settings
from django.db import transaction
from django.db.models import Expression, Q
from django.utils.translation import gettext as _

from cardfile.formula_engine import types as t
from cardfile.formula_engine.sql import CompileContext, compile_formula
from cardfile.formula_engine.sql.expressions import Param
from cardfile.formula_engine.sql.storage import storage_form
from cardfile.metamodel.fields import get_field_type
from cardfile.metamodel.schema.dynamic import EntitySchema, SchemaRegistry

from .graph import ANY_FIELD, Computed, Hop, plan_for
from .schema_view import RowScope
from .selectors import compile_context

K = t.Kind
# Rows per background batch: each batch locks its rows until it commits (about 0.2 s for 5,000
# rows of a wide table here), so a single-record write meeting it waits no longer than that.
BATCH_SIZE = 5_000
IdSource = Any  # a set of ids, or a values() queryset of ids


# -- the values a computed field stores ---------------------------------------------------------


def stored_places(node: Computed) -> int:
    """Decimals a computed number keeps: its currency's minor unit for money, else the
    field's ``decimal_places``."""
    kind_type = node.checked.type
    if kind_type.kind is K.MONEY:
        return get_currency_precision(kind_type.currency or settings.CARDFILE_CURRENCY)
    return node.field.options.get("decimal_places", 2)


def assignments(
    registry: SchemaRegistry, nodes: list[Computed], context: CompileContext
) -> dict[str, Expression]:
    """Column attribute -> the expression that computes it, for computed fields of one entity."""
    result: dict[str, Expression] = {}
    for node in nodes:
        value = compile_formula(node.checked, RowScope(registry, node.schema), context)
        stored = storage_form(
            value,
            node.checked.type,
            vendor=context.vendor,
            places=stored_places(node),
            tz=context.tz_name,
        )
        kind = node.checked.type.kind
        ftype, shadow = get_field_type(node.field.type).storage(node.field)
        names = list(ftype.model_fields(shadow))
        result[names[0]] = stored
        if kind is K.MONEY:
            # the currency is the formula's whatever the amount; a blank amount reads as blank
            # money (MoneyType.get_value), so the formula is not computed a second time for it
            currency = node.checked.type.currency or settings.CARDFILE_CURRENCY
            result[names[1]] = Param(currency, K.TEXT)
    return result


def levels(group: list[Computed]) -> list[list[Computed]]:
    """The fields of one entity in rounds: a round reads only columns set by earlier rounds
    (an UPDATE sees its row as it was before it), so one UPDATE per round."""
    pks = {node.field.pk for node in group}
    level: dict[int, int] = {}
    for node in group:  # in dependency order already
        inside = [level[pk] for pk in node.reads if pk in pks and pk in level]
        level[node.field.pk] = 1 + max(inside) if inside else 0
    rounds: list[list[Computed]] = [[] for _ in range(max(level.values(), default=-1) + 1)]
    for node in group:
        rounds[level[node.field.pk]].append(node)
    return rounds


# -- after a write ------------------------------------------------------------------------------


def _reverse(registry: SchemaRegistry, ids: IdSource, hops: tuple[Hop, ...], position: int):
    """The ids of the formula's own rows that reach, along ``hops``, the changed ``ids`` of the
    entity at ``position``: a subquery, so nothing is loaded into Python."""
    current = ids
    for hop in reversed(hops[:position]):
        schema = registry.entity_by_id(hop.entity)
        f = next(x for x in schema.fields if x.pk == hop.field)
        if hop.kind == "reverse":  # the linking records -> the records they link to
            current = schema.model._base_manager.filter(pk__in=current).values(f.attname)
        elif hop.kind == "link":
            current = schema.model._base_manager.filter(**{f"{f.attname}__in": current}).values(
                "pk"
            )
        else:  # child_table: the parents of the changed lines
            child = registry.entity_by_id(f.options["target_id"])
            current = child.model._base_manager.filter(pk__in=current).values(f.attname)
    return current


def _where(sources: list[IdSource]) -> Q:
    condition = Q()
    plain: set[int] = set()
    for source in sources:
        if isinstance(source, set | frozenset | list):
            plain.update(source)
        else:
            condition |= Q(pk__in=source)
    if plain:
        condition |= Q(pk__in=sorted(plain))
    return condition


def recompute_after_write(
    registry: SchemaRegistry,
    changes: dict[tuple[int, Any], set[int]],
    inserted: dict[int, set[int]],
    *,
    user: Any = None,
) -> None:
    """Bring the computed columns that depend on ``changes`` (and every computed column of
    the ``inserted`` records) up to date, one UPDATE per table, in the caller's transaction."""
    plan = plan_for(registry)
    if not plan.computed:
        return
    pending: defaultdict[int, list[IdSource]] = defaultdict(list)

    def trigger(entity_pk: int, key: Any, ids: IdSource) -> None:
        for node, hops, position in plan.triggers.get((entity_pk, key), ()):
            pending[node.field.pk].append(_reverse(registry, ids, hops, position))

    for (entity_pk, key), ids in changes.items():
        if key != ANY_FIELD:
            trigger(entity_pk, key, ids)
    for entity_pk, ids in inserted.items():
        for node in plan.by_entity(entity_pk):
            pending[node.field.pk].append(ids)
    if not pending:
        return
    context = compile_context(user=user)
    order, index = plan.order, 0
    while index < len(order):
        start, first = index, plan.computed[order[index]]
        end = index
        while end < len(order) and plan.computed[order[end]].schema is first.schema:
            end += 1
        group = [plan.computed[pk] for pk in order[start:end] if pk in pending]
        index = end
        if not group:
            continue
        # neighbours of one entity in dependency order: one UPDATE for each round of them
        condition = Q()
        for node in group:
            condition |= _where(pending.pop(node.field.pk))
        rows = first.schema.model._base_manager.filter(condition)
        for round_ in levels(group):
            rows.update(**assignments(registry, round_, context))
        updated = rows.values("pk")
        for node in group:
            trigger(first.schema.entity.pk, node.field.pk, updated)
        # The group was computed in dependency order over all its rows, so its own nodes are
        # done; neighbours that read them but were not pending yet (a formula over a rollup
        # that a line or a linked record changed) are pending now and need another pass over
        # this run. Each pass moves down the dependency graph, so the loop ends.
        for node in group:
            pending.pop(node.field.pk, None)
        if any(pk in pending for pk in order[start:end]):
            index = start


# -- a whole column, in batches (a changed definition) ------------------------------------------


def recompute_columns(field_ids: list[int], report=None) -> int:
    """Recompute the given computed fields over all their rows (trash included), in batches of
    `BATCH_SIZE` rows, each its own transaction; returns the number of rows."""
    from cardfile.metamodel.schema.dynamic import get_registry

    registry = get_registry()
    plan = plan_for(registry)
    nodes = [plan.computed[pk] for pk in plan.order if pk in field_ids]
    by_entity: dict[int, list[Computed]] = defaultdict(list)
    for node in nodes:
        by_entity[node.schema.entity.pk].append(node)
    context = compile_context()
    totals = {pk: registry.entity_by_id(pk).model._base_manager.count() for pk in by_entity}
    total, done = sum(totals.values()), 0
    for entity_pk, group in by_entity.items():
        schema: EntitySchema = registry.entity_by_id(entity_pk)
        manager = schema.model._base_manager
        rounds = [assignments(registry, round_, context) for round_ in levels(group)]
        ids = manager.order_by("pk").values_list("pk", flat=True)
        last = 0
        while True:
            bounds = list(ids.filter(pk__gt=last)[BATCH_SIZE - 1 : BATCH_SIZE])
            with transaction.atomic():
                batch = manager.filter(pk__gt=last)
                if bounds:
                    batch = batch.filter(pk__lte=bounds[0])
                for values in rounds:
                    count = batch.update(**values)
            done += count
            if report is not None:
                report(
                    done,
                    total,
                    _("Recomputing %(fields)s: %(done)d of %(total)d rows.")
                    % {
                        "fields": ", ".join(n.field.slug for n in group),
                        "done": done,
                        "total": total,
                    },
                )
            if not bounds:
                break
            last = bounds[0]
    return done


def refresh_computed(registry: SchemaRegistry, written: list[tuple[EntitySchema, Any]]) -> None:
    """Put the new computed values on the model instances a write returns (one query per
    entity), so a caller of the record service sees them without reading again."""
    plan = plan_for(registry)
    by_entity: defaultdict[int, list[Any]] = defaultdict(list)
    schemas: dict[int, EntitySchema] = {}
    for schema, obj in written:
        if obj is not None and obj.pk is not None:
            by_entity[schema.entity.pk].append(obj)
            schemas[schema.entity.pk] = schema
    for entity_pk, objs in by_entity.items():
        nodes = plan.by_entity(entity_pk)
        if not nodes:
            continue
        names = [
            name
            for node in nodes
            for name in get_field_type(node.field.type).model_fields(node.field)
        ]
        meta = schemas[entity_pk].model._meta
        attnames = [meta.get_field(name).attname for name in names]
        fresh = {
            row["pk"]: row
            for row in schemas[entity_pk]
            .model._base_manager.filter(pk__in=[obj.pk for obj in objs])
            .values("pk", *attnames)
        }
        for obj in objs:
            for attname in attnames:
                setattr(obj, attname, fresh.get(obj.pk, {}).get(attname))
