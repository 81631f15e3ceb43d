"""Formulas over a DRAFT record: values typed into a form, not saved yet (live totals).

The draft's input is cleaned by the record `Cleaner` (nothing is written); each path a formula
reads is then resolved in memory: the draft's own values, those of its draft lines, and
stored records reached through links. Computed fields of the draft and of its lines are
evaluated from their formulas, so a total over lines' computed amounts follows the typing.
For a user who is not unrestricted, linked and linking rows outside their row rules read as
absent, as in `formula_values_sql` with a guard; fields their input may not write (hidden,
read-only) keep the stored values.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field
from decimal import Decimal
from typing import Any

from django.db import models
from django.utils.translation import gettext as _

from cardfile.core.exceptions import NotFound
from cardfile.formula_engine import CheckedFormula, FormulaError, Money, RecordContext, evaluate
from cardfile.metamodel.access import Access, access_for, require
from cardfile.metamodel.fields import get_field_type
from cardfile.metamodel.fields.computed import COMPUTED_TYPES
from cardfile.metamodel.models import Field
from cardfile.metamodel.records.cleaning import Cleaner, RowPlan, multi_link_ids
from cardfile.metamodel.records.selectors import line_ordering
from cardfile.metamodel.schema.dynamic import EntitySchema, SchemaRegistry, get_registry

from .schema_view import SYSTEM, reverse_links
from .selectors import compile_context, field_runtime_value, formula_check

__all__ = ["Draft", "DraftRow", "draft_open", "runtime_to_internal"]


def runtime_to_internal(f: Field, value: Any) -> Any:
    """A formula's runtime value -> the internal value of the type storing ``f``'s result
    (so that type's ``format`` can show it)."""
    if value is None:
        return None
    stored_as = get_field_type(f.type).storage(f)[1].type if f.type in COMPUTED_TYPES else f.type
    if isinstance(value, Money):
        return (value.amount, value.currency)
    if stored_as == "percent" and isinstance(value, Decimal):
        return value * 100
    return value


@dataclass(eq=False)
class DraftRow:
    """One record as formulas see it in a draft: a cleaned plan (draft values) over a stored
    record (``obj``), or a stored record alone."""

    draft: Draft
    schema: EntitySchema
    plan: RowPlan | None = None
    obj: models.Model | None = None
    _memo: dict[int, Any] = dc_field(default_factory=dict)
    errors: dict[str, str] = dc_field(default_factory=dict)

    @property
    def pk(self) -> int | None:
        return self.obj.pk if self.obj is not None else None

    def value(self, f: Field) -> Any:
        """The runtime value of field ``f`` (a computed one evaluated over the draft)."""
        if f.pk in self._memo:
            return self._memo[f.pk]
        self._memo[f.pk] = None  # a cycle reads blank instead of recursing forever
        self._memo[f.pk] = self._value(f)
        return self._memo[f.pk]

    def _value(self, f: Field) -> Any:
        if f.type in COMPUTED_TYPES and self.plan is not None:
            try:
                checked = self.draft.checked(self.schema, f)
                return self.evaluate(checked)
            except FormulaError as error:
                self.errors[f.slug] = error.message
                return None
        if f.type == "multi_link":
            if self.plan is not None and f.pk in self.plan.values:
                return list(self.plan.values[f.pk] or [])
            if self.obj is None:
                return []
            return multi_link_ids(self.draft.registry, f, [self.obj.pk])[self.obj.pk]
        if self.plan is not None and f.pk in self.plan.values:
            internal = self.plan.values[f.pk]
        elif self.obj is not None:
            internal = get_field_type(f.type).get_value(f, self.obj)
        else:
            internal = None
        return field_runtime_value(f, internal)

    def lines(self, f: Field) -> list[DraftRow]:
        child = self.draft.registry.entity_by_id(f.options["target_id"])
        if self.plan is not None and f.pk in self.plan.lines:
            return [
                DraftRow(self.draft, child, plan=line, obj=line.obj)
                for line in self.plan.lines[f.pk].keep
            ]
        if self.obj is None:
            return []
        stored = child.objects().filter(**{f"{f.attname}_id": self.obj.pk})
        return [
            DraftRow(self.draft, child, obj=line) for line in stored.order_by(*line_ordering(child))
        ]

    def path(self, path: tuple[str, ...]) -> Any:
        if not path:
            return self.pk
        slug, rest = path[0], path[1:]
        if slug in SYSTEM:
            name = SYSTEM[slug][1]
            if self.obj is None:
                return None
            if name == "pk":
                return self.obj.pk
            related = name in ("created_by", "updated_by", "branch")
            return getattr(self.obj, f"{name}_id" if related else name)
        f = self.schema.by_slug.get(slug)
        if f is None:  # records that link here, stored ones only
            source, link = reverse_links(self.draft.registry, self.schema)[slug]
            if self.obj is None:
                return []
            linking = self.draft.rows(source).filter(**{link.attname: self.obj.pk})
            return [
                DraftRow(self.draft, source, obj=row).path(rest)
                for row in linking.order_by(*line_ordering(source))
            ]
        if f.type == "child_table":
            return [line.path(rest) for line in self.lines(f)]
        if not rest:
            return self.value(f)
        if f.type == "link":
            target = self.draft.registry.entity_by_id(f.options["target_id"])
            linked = self.draft.fetch(target, self.value(f))
            return None if linked is None else DraftRow(self.draft, target, obj=linked).path(rest)
        return None

    def evaluate(self, checked: CheckedFormula) -> Any:
        values = {path: self.path(path) for path in checked.dependencies}
        context = self.draft.context
        return evaluate(
            checked,
            RecordContext(
                values,
                user_id=context.user_id,
                branch_id=context.branch_id,
                now=context.moment(),
                tz=context.tz,
            ),
        )


@dataclass(eq=False)
class Draft:
    """The shared state of one draft's evaluation: who asks, and memos of checked formulas
    and fetched records."""

    registry: SchemaRegistry
    access: Access
    context: Any
    _checked: dict[int, CheckedFormula] = dc_field(default_factory=dict)
    _fetched: dict[tuple[int, int], Any] = dc_field(default_factory=dict)

    def checked(self, schema: EntitySchema, f: Field) -> CheckedFormula:
        if f.pk not in self._checked:
            expression = get_field_type(f.type).expression(f)
            self._checked[f.pk] = formula_check(entity=schema, expression=expression)
        return self._checked[f.pk]

    def rows(self, schema: EntitySchema) -> models.QuerySet:
        """Live rows of ``schema`` formulas may read for this user."""
        if self.access.unrestricted:
            return schema.objects()
        from cardfile.metamodel.access.definitions import visible_rows

        return visible_rows(self.access, self.registry, schema, schema.objects())

    def fetch(self, schema: EntitySchema, pk: Any) -> Any:
        if pk is None:
            return None
        pk = int(pk)
        key = (schema.entity.pk, pk)
        if key not in self._fetched:
            if self.access.unrestricted:  # links followed also to records in the trash
                rows = schema.model._base_manager.filter(pk=pk)
            else:
                rows = self.rows(schema).filter(pk=pk)
            self._fetched[key] = rows.first()
        return self._fetched[key]


def draft_open(
    *,
    entity: str | EntitySchema,
    values: dict[str, Any],
    user: Any,
    record_id: int | None = None,
) -> DraftRow:
    """The draft of a new record of ``entity`` (or of changes to ``record_id``) made of the
    API-style ``values``; what cannot be cleaned reads as blank. The user must read the entity
    (and the record)."""
    registry = get_registry()
    schema = entity if isinstance(entity, EntitySchema) else registry.entity(entity)
    access = access_for(user)
    require(access, "read", schema)
    draft = Draft(
        registry=registry,
        access=access,
        context=compile_context(user=user, branch=access.branch_id),
    )
    obj = None
    if record_id is not None:
        obj = draft.rows(schema).filter(pk=record_id).first()
        if obj is None:
            raise NotFound(
                _("There is no %(entity)s #%(id)s.") % {"entity": schema.slug, "id": record_id},
                code="not_found",
            )
    cleaner = Cleaner(registry, user=user, access=access)
    data = {k: v for k, v in values.items() if k not in ("id", "version")}
    # values the cleaner refuses never reach the plan: they read as blank
    plan = cleaner.clean(RowPlan(schema=schema, data=data, obj=obj))
    return DraftRow(draft, schema, plan=plan, obj=obj)
