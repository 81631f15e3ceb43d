"""Formulas over records: check a formula against an entity, compute it for records in SQL or
in Python (previews, conditions), and turn a condition into a filter (``?where=``).

Both computations follow the same rules (`cardfile.formula_engine.semantics`); differential
tests hold them to it.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Expression, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from cardfile.formula_engine import (
    CheckedFormula,
    FormulaTypeError,
    Money,
    RecordContext,
    check,
    evaluate,
)
from cardfile.formula_engine import types as t
from cardfile.formula_engine.semantics import normalize
from cardfile.formula_engine.sql import CompileContext, compile_formula
from cardfile.metamodel.fields import get_field_type
from cardfile.metamodel.fields.computed import COMPUTED_TYPES
from cardfile.metamodel.models import Field
from cardfile.metamodel.records.selectors import line_ordering
from cardfile.metamodel.schema.dynamic import EntitySchema, SchemaRegistry, get_registry

from .schema_view import SYSTEM, EntitySchemaView, Guard, RowScope, reverse_links

K = t.Kind
_VALUE = "_cf_formula_value"


def _schema(entity: str | EntitySchema) -> tuple[SchemaRegistry, EntitySchema]:
    registry = get_registry()
    schema = entity if isinstance(entity, EntitySchema) else registry.entity(entity)
    return registry, schema


def formula_check(*, entity: str | EntitySchema, expression: str) -> CheckedFormula:
    """Parse and type-check ``expression`` against ``entity``; a `FormulaError` says where
    and what was expected."""
    registry, schema = _schema(entity)
    return check(expression, EntitySchemaView(registry, schema))


def _checked(schema: EntitySchema, formula: CheckedFormula | str) -> CheckedFormula:
    if isinstance(formula, CheckedFormula):
        return formula
    return formula_check(entity=schema, expression=formula)


def _id(value: Any) -> Any:
    return getattr(value, "pk", value)


def compile_context(*, user: Any = None, branch: Any = None, now: datetime | None = None):
    """Who asks and when, for ME(), MY_BRANCH(), TODAY() and NOW()."""
    user_id = _id(user) if getattr(user, "is_authenticated", True) else None
    return CompileContext(
        vendor=connection.vendor,
        user_id=user_id,
        branch_id=_id(branch),
        now=now or timezone.now(),
        tz=timezone.get_default_timezone(),
    )


def formula_expression(
    *,
    entity: str | EntitySchema,
    formula: CheckedFormula | str,
    user: Any = None,
    branch: Any = None,
    now: datetime | None = None,
    guard: Guard | None = None,
) -> Expression:
    """The Django expression computing ``formula`` for each record of ``entity``; with a
    ``guard``, linked and linking rows outside it read as absent."""
    registry, schema = _schema(entity)
    checked = _checked(schema, formula)
    context = compile_context(user=user, branch=branch, now=now)
    return compile_formula(checked, RowScope(registry, schema, guard=guard), context)


def runtime_value(kind_type: t.FormulaType, value: Any) -> Any:
    """A value read from the database for a formula of ``kind_type`` -> its runtime value."""
    if value is None or kind_type.kind is K.BLANK:
        return None
    if kind_type.kind is K.MONEY:
        return Money(Decimal(value), kind_type.currency)
    return normalize(value)


def formula_values_sql(
    *,
    entity: str | EntitySchema,
    formula: CheckedFormula | str,
    ids: list[int] | None = None,
    user: Any = None,
    branch: Any = None,
    now: datetime | None = None,
    guard: Guard | None = None,
) -> dict[int, Any]:
    """Record id -> the formula's value computed by the database, for live records; with a
    ``guard``, linked and linking rows outside it read as absent."""
    registry, schema = _schema(entity)
    checked = _checked(schema, formula)
    expression = formula_expression(
        entity=schema, formula=checked, user=user, branch=branch, now=now, guard=guard
    )
    queryset = schema.objects()
    if ids is not None:
        queryset = queryset.filter(pk__in=ids)
    rows = queryset.annotate(**{_VALUE: expression}).values_list("pk", _VALUE)
    return {pk: runtime_value(checked.type, value) for pk, value in rows}


def formula_value_json(kind_type: t.FormulaType, value: Any) -> Any:
    """A runtime value in the API's JSON form for its type (a percent in points, as percent
    fields are exchanged; money as ``{"amount", "currency"}``; a duration in ISO 8601)."""
    from django.utils.duration import duration_iso_string

    from cardfile.formula_engine.semantics import money_text, number_text

    if value is None:
        return None
    if isinstance(value, Money):
        amount, _space, currency = money_text(value).partition(" ")
        return {"amount": amount, "currency": currency or value.currency}
    if isinstance(value, bool | str | int):
        return value
    if isinstance(value, Decimal):
        if kind_type.kind is K.PERCENT:
            return number_text(value * 100)
        if kind_type.kind in (K.LINK, K.USER):
            return int(value)
        return number_text(value)
    if isinstance(value, datetime):
        return timezone.localtime(value).isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "total_seconds"):
        return duration_iso_string(value)
    return str(value)


# -- Python -------------------------------------------------------------------------------------


def field_runtime_value(f: Field, value: Any) -> Any:
    """A field's stored value as formulas see it: money as `Money`, a percent as its fraction
    (percent columns keep points); a computed field as the type that stores its result."""
    if value is None:
        return None
    stored_as = f.type
    if f.type in COMPUTED_TYPES:
        stored_as = get_field_type(f.type).storage(f)[1].type
    if stored_as == "money":
        amount, currency = value
        return Money(Decimal(amount), currency)
    if stored_as == "percent":
        return Decimal(value) / 100  # points -> fraction (exact)
    return normalize(value)


def _field_value(schema: EntitySchema, slug: str, obj: Any) -> Any:
    f = schema.by_slug[slug]
    return field_runtime_value(f, get_field_type(f.type).get_value(f, obj))


def path_value(registry: SchemaRegistry, schema: EntitySchema, obj: Any, path: tuple) -> Any:
    """The value at ``path`` for one record: links followed (also to records in the trash,
    as the SQL back end does), child tables as the list of their live lines' values."""
    if obj is None:
        return None
    if not path:
        return obj.pk
    slug = path[0]
    if slug in SYSTEM:
        name = SYSTEM[slug][1]
        if name == "pk":
            return obj.pk
        related = name in ("created_by", "updated_by", "branch")
        return getattr(obj, f"{name}_id" if related else name)
    if slug not in schema.by_slug:  # records that link here, in their order
        source, link = reverse_links(registry, schema)[slug]
        linking = source.model._base_manager.filter(
            deleted_at__isnull=True, **{link.attname: obj.pk}
        ).order_by(*line_ordering(source))
        return [path_value(registry, source, row, path[1:]) for row in linking]
    if len(path) == 1 and schema.by_slug[slug].type not in ("child_table",):
        return _field_value(schema, slug, obj)
    f = schema.by_slug[slug]
    target = registry.entity_by_id(f.options["target_id"])
    if f.type == "link":
        return path_value(registry, target, getattr(obj, f.attname), path[1:])
    lines = (
        getattr(obj, f"rev_f{f.pk}")
        .filter(deleted_at__isnull=True)
        .order_by(*line_ordering(target))
    )
    return [path_value(registry, target, line, path[1:]) for line in lines]


def record_context(
    registry: SchemaRegistry,
    schema: EntitySchema,
    obj: Any,
    checked: CheckedFormula,
    context: CompileContext,
) -> RecordContext:
    """The evaluator's view of one record: the values of the paths the formula reads."""
    values = {path: path_value(registry, schema, obj, path) for path in checked.dependencies}
    return RecordContext(
        values,
        user_id=context.user_id,
        branch_id=context.branch_id,
        now=context.moment(),
        tz=context.tz,
    )


def formula_values_python(
    *,
    entity: str | EntitySchema,
    formula: CheckedFormula | str,
    ids: list[int] | None = None,
    user: Any = None,
    branch: Any = None,
    now: datetime | None = None,
) -> dict[int, Any]:
    """Record id -> the formula's value computed by the Python evaluator (raises its
    `FormulaError` if a record's values break a rule, e.g. two currencies)."""
    registry, schema = _schema(entity)
    checked = _checked(schema, formula)
    context = compile_context(user=user, branch=branch, now=now)
    queryset = schema.objects().order_by("pk")
    if ids is not None:
        queryset = queryset.filter(pk__in=ids)
    return {
        obj.pk: evaluate(checked, record_context(registry, schema, obj, checked, context))
        for obj in queryset
    }


# -- conditions ---------------------------------------------------------------------------------


def check_condition(checked: CheckedFormula) -> CheckedFormula:
    """A formula used as a condition must give TRUE or FALSE."""
    if checked.type.kind not in (K.BOOLEAN, K.BLANK):
        raise FormulaTypeError(
            _("A condition must be TRUE or FALSE; this formula gives {type}.").format(
                type=checked.type
            ),
            span=checked.ast.span,
            expected=[_("a comparison such as total > 100")],
            source=checked.source,
        )
    return checked


def formula_filter(
    queryset: QuerySet,
    *,
    entity: str | EntitySchema,
    expression: str,
    user: Any = None,
    branch: Any = None,
    guard: Guard | None = None,
    checked: CheckedFormula | None = None,
) -> QuerySet:
    """Records of ``queryset`` for which the condition ``expression`` is TRUE (blank is not),
    computed in the database's WHERE."""
    registry, schema = _schema(entity)
    if checked is None:
        checked = check_condition(formula_check(entity=schema, expression=expression))
    condition = formula_expression(
        entity=schema, formula=checked, user=user, branch=branch, guard=guard
    )
    return queryset.alias(_cf_where=condition).filter(_cf_where=True)
