"""Schema rules for computed fields, used by the field services: a definition is checked
against the entity (type inferred, cycles refused) before it is saved, fields that formulas
read cannot be renamed or removed from under them, and a new definition is recomputed in the
background."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from cardfile.core.jobs import job_start
from cardfile.formula_engine import FormulaError
from cardfile.metamodel.fields import FieldType
from cardfile.metamodel.models import Entity, Field
from cardfile.metamodel.schema.dynamic import SchemaRegistry, get_registry

from .exceptions import FormulaDefinitionError
from .graph import plan_for, refuse_cycle
from .selectors import formula_check

RECOMPUTE_JOB = "formula_recompute"


def computed_options(
    *, owner: Entity, field: Field | None, ftype: FieldType, options: dict[str, Any]
) -> dict[str, Any]:
    """``options`` with ``result`` inferred from the formula; `FormulaDefinitionError` if the
    formula does not check against ``owner`` or would depend on itself."""
    registry = get_registry()
    schema = registry.entity_by_id(owner.pk)
    probe = Field(pk=getattr(field, "pk", None), entity_id=owner.pk, options=options)
    key = "options.expression" if "expression" in options else "options"
    try:
        checked = formula_check(entity=schema, expression=ftype.expression(probe))
        if field is not None:
            refuse_cycle(registry, field, checked)
    except FormulaError as error:
        raise FormulaDefinitionError({key: [error.message]}, error.as_dict()) from None
    result = {
        "type": checked.type.kind.value,
        "currency": checked.type.currency,
        "target": checked.type.target,
    }
    return {**{k: v for k, v in options.items() if k != "result"}, "result": result}


def readers_of(registry: SchemaRegistry, field_pk: int) -> list[str]:
    """The computed fields (``entity.field``) whose formulas read ``field_pk``."""
    plan = plan_for(registry)
    names = {
        f"{node.schema.slug}.{node.field.slug}"
        for (entity_pk, key), entries in plan.triggers.items()
        if key == field_pk
        for node, _hops, _position in entries
        if node.field.pk != field_pk
    }
    return sorted(names)


def refuse_if_read(registry: SchemaRegistry, f: Field, what: str) -> list[str] | None:
    """A message if computed fields or row rules read ``f`` (so it cannot be renamed, retyped
    or removed)."""
    from cardfile.metamodel.access.services import rules_reading

    messages = []
    readers = readers_of(registry, f.pk)
    if readers:
        messages.append(
            _(
                "%(field)s is used by the formula of %(readers)s; change that formula first to "
                "%(what)s."
            )
            % {"field": f.slug, "readers": ", ".join(readers), "what": what}
        )
    rules = rules_reading(registry, f.pk)
    if rules:
        messages.append(
            _(
                "%(field)s is read by the row rules of %(rules)s; change those rules first to "
                "%(what)s."
            )
            % {"field": f.slug, "rules": ", ".join(rules), "what": what}
        )
    return messages or None


def downstream(registry: SchemaRegistry, field_pk: int) -> list[int]:
    """``field_pk`` and every computed field that reads it, directly or through others."""
    plan = plan_for(registry)
    found = [field_pk]
    frontier = [field_pk]
    while frontier:
        current = frontier.pop()
        for (_entity, key), entries in plan.triggers.items():
            if key != current:
                continue
            for node, _hops, _position in entries:
                if node.field.pk not in found:
                    found.append(node.field.pk)
                    frontier.append(node.field.pk)
    return found


def recompute_later(*, field: Field, user: Any = None) -> None:
    """Recompute ``field`` and what depends on it in background batches, once this
    transaction commits (a Job with progress)."""
    fields = downstream(get_registry(), field.pk)
    job_start(
        kind=RECOMPUTE_JOB,
        params={"fields": fields},
        title=_("Recompute %(field)s") % {"field": f"{field.entity.slug}.{field.slug}"},
        user=user,
    )
