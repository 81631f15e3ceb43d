"""The dependency graph of computed fields, built once per schema version.

Every computed field (formula, lookup, rollup) reads field paths; each path is a chain of hops
(``order.client`` -> ``client.discount``). The graph says, for a change of field X on some
records, which computed fields of which records must be recomputed, and in which order; it
refuses a definition that would make a computed field depend on itself.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from cardfile.formula_engine import CheckedFormula, FormulaError, FormulaTypeError
from cardfile.metamodel.fields import get_field_type
from cardfile.metamodel.fields.computed import COMPUTED_TYPES
from cardfile.metamodel.models import Field
from cardfile.metamodel.schema.dynamic import EntitySchema, SchemaRegistry

from .schema_view import SYSTEM, EntitySchemaView, reverse_links

ANY_FIELD = "*"  # a record was created: every computed field of it
# Change key ("linked", link field pk) on an entity: records started or stopped linking to
# these records through that link (the record service writes the same literal).
LINKED = "linked"


@dataclass(frozen=True)
class Hop:
    """One step of a dependency path: ``field`` (a pk, or a system slug) of ``entity``.

    A ``reverse`` hop goes from a record to the records that link to it: ``entity`` and
    ``field`` are then the linking entity and its link field, ``target`` the entity linked to.
    """

    entity: int
    field: int | str
    kind: str  # the field type: "link" and "child_table" lead on; or "reverse"
    target: int | None = None


@dataclass
class Computed:
    """A computed field with its checked formula and the hop chains of what it reads."""

    field: Field
    schema: EntitySchema
    checked: CheckedFormula
    chains: list[tuple[Hop, ...]] = field(default_factory=list)
    # Computed fields whose values this one reads, by pk.
    reads: set[int] = field(default_factory=set)


@dataclass
class Plan:
    """The graph for one schema version."""

    computed: dict[int, Computed]
    # (entity pk, field pk or system slug) -> [(computed, chain, position of the hop)]
    triggers: defaultdict[tuple[int, Any], list[tuple[Computed, tuple[Hop, ...], int]]]
    order: list[int]  # computed field pks, each after what it reads
    errors: dict[int, str]  # computed fields whose formula no longer checks, with why
    reverse_links: frozenset[int] = frozenset()  # link fields that formulas read backwards

    def by_entity(self, entity_pk: int) -> list[Computed]:
        return [
            self.computed[pk]
            for pk in self.order
            if self.computed[pk].schema.entity.pk == entity_pk
        ]


def chain(registry: SchemaRegistry, schema: EntitySchema, path: tuple[str, ...]) -> tuple[Hop, ...]:
    """The hops of a checked path (every name exists: the checker resolved it)."""
    hops: list[Hop] = []
    current = schema
    for slug in path:
        if slug in SYSTEM:
            hops.append(Hop(current.entity.pk, slug, "system"))
            break
        f = current.by_slug.get(slug)
        if f is None:  # records that link here: the hop is their link field, read backwards
            source, link = reverse_links(registry, current)[slug]
            hops.append(Hop(source.entity.pk, link.pk, "reverse", current.entity.pk))
            current = source
            continue
        hops.append(Hop(current.entity.pk, f.pk, f.type))
        if f.type in ("link", "child_table"):
            current = registry.entity_by_id(f.options["target_id"])
    return tuple(hops)


def computed_expression(f: Field) -> str:
    return get_field_type(f.type).expression(f)


def _cycle(reads: dict[int, set[int]], start: int) -> list[int] | None:
    """A path start -> ... -> start through ``reads``, if there is one."""
    stack: list[tuple[int, list[int]]] = [(start, [start])]
    seen: set[int] = set()
    while stack:
        node, path = stack.pop()
        for nxt in reads.get(node, ()):
            if nxt == start:
                return [*path, start]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, [*path, nxt]))
    return None


def build_plan(registry: SchemaRegistry) -> Plan:
    """Check every computed field against the schema and index what triggers it."""
    computed: dict[int, Computed] = {}
    errors: dict[int, str] = {}
    for schema in registry.entities():
        view = EntitySchemaView(registry, schema)
        for f in schema.fields:
            if f.type not in COMPUTED_TYPES:
                continue
            try:
                checked = _check(view, f)
            except FormulaError as error:
                errors[f.pk] = error.message
                continue
            node = Computed(f, schema, checked)
            node.chains = [chain(registry, schema, path) for path in checked.dependencies]
            computed[f.pk] = node
    triggers: defaultdict[tuple[int, Any], list] = defaultdict(list)
    for node in computed.values():
        for hops in node.chains:
            for position, hop in enumerate(hops):
                if hop.kind == "reverse":
                    # A record that links here changed its link (or was created or trashed):
                    # the write names the records linked before and after, already rows of
                    # this step; and a change of the link maps to the records it links to now.
                    triggers[(hop.target, (LINKED, hop.field))].append((node, hops, position))
                    triggers[(hop.entity, hop.field)].append((node, hops, position + 1))
                else:
                    triggers[(hop.entity, hop.field)].append((node, hops, position))
                if hop.field in computed:
                    node.reads.add(hop.field)
    reverse = frozenset(
        hop.field
        for node in computed.values()
        for hops in node.chains
        for hop in hops
        if hop.kind == "reverse"
    )
    return Plan(computed, triggers, _order(computed), errors, reverse)


def _check(view: EntitySchemaView, f: Field) -> CheckedFormula:
    from cardfile.formula_engine import check

    return check(computed_expression(f), view)


def _order(computed: dict[int, Computed]) -> list[int]:
    """Computed fields so that each comes after the ones it reads (cycles were refused), and
    the fields of one entity next to each other where that allows (one UPDATE for them)."""
    waiting = {
        pk: {r for r in node.reads if r in computed and r != pk} for pk, node in computed.items()
    }
    done: list[int] = []
    while waiting:
        ready = sorted(pk for pk, reads in waiting.items() if not reads)
        if not ready:  # a cycle slipped in (a schema from before this check): keep going
            ready = [min(waiting)]
        last = computed[done[-1]].schema.entity.pk if done else None
        ready.sort(
            key=lambda pk: (
                computed[pk].schema.entity.pk != last,
                computed[pk].schema.entity.pk,
                pk,
            )
        )
        pk = ready[0]
        done.append(pk)
        del waiting[pk]
        for reads in waiting.values():
            reads.discard(pk)
    return done


def refuse_cycle(registry: SchemaRegistry, f: Field, checked: CheckedFormula) -> None:
    """Refuse a definition of ``f`` under which it would depend on itself, naming the cycle."""
    plan = plan_for(registry)
    schema = registry.entity_by_id(f.entity_id)
    reads = {pk: set(node.reads) for pk, node in plan.computed.items()}
    mine: set[int] = set()
    for path in checked.dependencies:
        for hop in chain(registry, schema, path):
            if hop.field == f.pk or hop.field in plan.computed:
                mine.add(hop.field)
    reads[f.pk] = mine
    found = _cycle(reads, f.pk)
    if found is None:
        return
    names = {
        node.field.pk: f"{node.schema.slug}.{node.field.slug}" for node in plan.computed.values()
    }
    names[f.pk] = f"{schema.slug}.{f.slug}"
    raise FormulaTypeError(
        _("This formula would depend on itself: {cycle}.").format(
            cycle=" \u2192 ".join(names.get(pk, str(pk)) for pk in found)
        ),
        span=checked.ast.span,
        expected=[_("a formula that does not read its own result")],
        source=checked.source,
    )


_lock = threading.Lock()
_plans: dict[str, Plan] = {}


def plan_for(registry: SchemaRegistry) -> Plan:
    """The plan of this schema version (built once per process and version)."""
    plan = _plans.get(registry.token)
    if plan is None:
        with _lock:
            plan = _plans.get(registry.token)
            if plan is None:
                plan = build_plan(registry)
                if len(_plans) > 8:
                    _plans.clear()
                _plans[registry.token] = plan
    return plan
