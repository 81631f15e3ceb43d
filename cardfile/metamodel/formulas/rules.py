"""Default values and validation rules written as formulas.

A field's ``default_formula`` gives the value of a new record that leaves the field out
(``TODAY() + 7``, ``client.discount``); it is computed by the Python evaluator from the values
the record is being created with. An entity's ``validation_rules`` are conditions
(``discount <= 30``) with the message to show: after a write, in its transaction, the written
records are checked in SQL (one query per rule, however many records), and a record for which
a condition is FALSE makes the whole write fail with that message. A blank condition passes,
as in SQL CHECK constraints: ``discount <= 30`` does not demand a discount.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.utils.translation import gettext as _

from cardfile.formula_engine import CheckedFormula, FormulaError, RecordContext, evaluate
from cardfile.formula_engine import types as t
from cardfile.metamodel.fields import FieldValueError, get_field_type
from cardfile.metamodel.fields.computed import COMPUTED_TYPES
from cardfile.metamodel.models import Field
from cardfile.metamodel.schema.dynamic import EntitySchema, SchemaRegistry

from .exceptions import FormulaDefinitionError
from .schema_view import field_formula_type
from .selectors import (
    check_condition,
    compile_context,
    field_runtime_value,
    formula_check,
    formula_expression,
    formula_value_json,
    path_value,
)

K = t.Kind
NON_FIELD = "non_field_errors"
_NO_DEFAULT = frozenset({"child_table", "multi_link", "file", "image", "autonumber", "json"})


def _fits(field_type: t.FormulaType | None, result: t.FormulaType) -> bool:
    """Whether a formula's result can be the value of a field of ``field_type``."""
    if field_type is None or result.kind is K.BLANK:
        return True
    if field_type.kind is K.MONEY:
        return result.kind in t.NUMERIC
    if field_type.kind in t.NUMERIC:
        return result.kind in t.NUMERIC and result.kind is not K.MONEY
    if field_type.kind in t.TEXTUAL:
        return result.kind in t.TEXTUAL
    return result.kind is field_type.kind


# -- definitions --------------------------------------------------------------------------------


def clean_default_formula(
    registry: SchemaRegistry, schema: EntitySchema, f: Field, text: Any
) -> str:
    """The default formula to store for ``f`` ('' for none), or `FormulaDefinitionError`."""
    if text in (None, ""):
        return ""
    if not isinstance(text, str):
        raise FormulaDefinitionError({"default_formula": [_("Give the formula as a string.")]})
    if f.type in COMPUTED_TYPES or f.type in _NO_DEFAULT:
        raise FormulaDefinitionError(
            {"default_formula": [_("A %(type)s field takes no default.") % {"type": f.type}]}
        )
    try:
        checked = formula_check(entity=schema, expression=text)
    except FormulaError as error:
        raise FormulaDefinitionError(
            {"default_formula": [error.message]}, error.as_dict()
        ) from None
    expected = field_formula_type(registry, f)
    if not _fits(expected, checked.type):
        raise FormulaDefinitionError(
            {
                "default_formula": [
                    _("The formula gives %(given)s, but %(field)s holds %(type)s.")
                    % {"given": checked.type, "field": f.slug, "type": f.type}
                ]
            }
        )
    return text


def clean_validation_rules(schema: EntitySchema, rules: Any) -> list[dict[str, Any]]:
    """Validation rules as stored, each condition checked against the entity."""
    if rules in (None, ""):
        return []
    if not isinstance(rules, list):
        raise FormulaDefinitionError(
            {"validation_rules": [_('Expected a list of {"condition", "message"}.')]}
        )
    errors: dict[str, list[str]] = {}
    formula = None
    cleaned = []
    for number, rule in enumerate(rules, start=1):
        key = f"validation_rules[{number}]"
        if not isinstance(rule, dict) or set(rule) - {"condition", "message", "field"}:
            errors[key] = [_('Expected {"condition", "message"} and optionally "field".')]
            continue
        condition, message, target = rule.get("condition"), rule.get("message"), rule.get("field")
        if not isinstance(message, str) or not message.strip():
            errors[f"{key}.message"] = [_("Say what the user should fix.")]
        if target is not None and target not in schema.by_slug:
            errors[f"{key}.field"] = [
                _("%(entity)s has no field %(field)s.") % {"entity": schema.slug, "field": target}
            ]
        if not isinstance(condition, str):
            errors[f"{key}.condition"] = [_("Give the condition as a formula.")]
            continue
        try:
            check_condition(formula_check(entity=schema, expression=condition))
        except FormulaError as error:
            errors[f"{key}.condition"] = [error.message]
            formula = formula or error.as_dict()
            continue
        cleaned.append({"condition": condition, "message": message, "field": target})
    if errors:
        raise FormulaDefinitionError(errors, formula)
    return cleaned


# -- defaults -----------------------------------------------------------------------------------


def default_value(
    registry: SchemaRegistry,
    schema: EntitySchema,
    f: Field,
    values: dict[int, Any],
    *,
    user: Any = None,
    branch: Any = None,
) -> Any:
    """The internal value of ``f``'s default formula for a record created with ``values``
    (field pk -> internal value); `FieldValueError` if the result does not fit the field."""
    checked: CheckedFormula = formula_check(entity=schema, expression=f.default_formula)
    context = compile_context(user=user, branch=branch)
    record: dict[tuple[str, ...], Any] = {}
    for path in checked.dependencies:
        first = schema.by_slug.get(path[0])
        own = values.get(first.pk) if first is not None else None
        if first is None or len(path) == 1:
            record[path] = field_runtime_value(first, own) if first is not None else None
        elif first.type == "link" and own is not None:
            target = registry.entity_by_id(first.options["target_id"])
            linked = target.model._base_manager.filter(pk=own).first()
            record[path] = path_value(registry, target, linked, path[1:])
        else:
            record[path] = [] if first.type == "child_table" else None
    result = evaluate(
        checked,
        RecordContext(
            record,
            user_id=context.user_id,
            branch_id=context.branch_id,
            now=context.moment(),
            tz=context.tz,
        ),
    )
    ftype = get_field_type(f.type)
    try:
        return ftype.to_internal(f, formula_value_json(checked.type, result))
    except FieldValueError as error:
        raise FieldValueError(
            _("The default formula gave %(value)s: %(problem)s")
            % {"value": formula_value_json(checked.type, result), "problem": error.message}
        ) from None


# -- validation rules ---------------------------------------------------------------------------


def rule_errors(
    registry: SchemaRegistry,
    written: list[tuple[EntitySchema, int, str]],
    *,
    user: Any = None,
) -> tuple[dict[str, list[str]], list[int]]:
    """The messages of the rules the ``written`` records (schema, id, error key prefix) break:
    one query per rule, computed in the database after the write."""
    by_entity: defaultdict[int, dict[int, str]] = defaultdict(dict)
    schemas: dict[int, EntitySchema] = {}
    for schema, pk, prefix in written:
        if schema.entity.validation_rules:
            by_entity[schema.entity.pk][pk] = prefix
            schemas[schema.entity.pk] = schema
    errors: dict[str, list[str]] = {}
    rows: set[int] = set()
    for entity_pk, prefixes in by_entity.items():
        schema = schemas[entity_pk]
        for rule in schema.entity.validation_rules:
            condition = formula_expression(entity=schema, formula=rule["condition"], user=user)
            broken = (
                schema.model._base_manager.filter(pk__in=list(prefixes))
                .alias(_cf_rule=condition)
                .filter(_cf_rule=False)
                .values_list("pk", flat=True)
            )
            for pk in broken:
                prefix = prefixes[pk]
                key = prefix + (rule.get("field") or NON_FIELD)
                errors.setdefault(key, []).append(rule["message"])
                if prefix.startswith("rows["):
                    rows.add(int(prefix[5 : prefix.index("]")]))
    return errors, sorted(rows)
