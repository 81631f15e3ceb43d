"""What users who do not own the installation may see and define of the schema.

Owners configure everything. A role with ``configure`` on an entity changes that entity and its
fields, and sees all of it, but may not define a field that would show them what their roles
hide. Other users read the definitions of the entities they may read, without hidden fields and
without formulas that read what they may not; formula errors name only what they may read.
The schema API asks these; they ask `Access`.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from cardfile.core.exceptions import CardfileError, InvalidInput, NotFound, PermissionDenied
from cardfile.core.selectors import MAX_ID
from cardfile.formula_engine import CheckedFormula, FormulaError, check
from cardfile.metamodel.fields import get_field_type
from cardfile.metamodel.fields.computed import COMPUTED_TYPES
from cardfile.metamodel.formulas import EntitySchemaView, formula_check
from cardfile.metamodel.formulas.schema_view import reverse_links
from cardfile.metamodel.models import Entity, Field
from cardfile.metamodel.schema.dynamic import EntitySchema, SchemaRegistry, get_registry
from cardfile.metamodel.schema.selectors import trash_fields
from cardfile.metamodel.schema.services import entity_as_dict, field_as_dict

from .enforce import formula_read_refusals, require, unreadable_message
from .rights import Access, access_for


class DefinitionRefused(InvalidInput):
    """A definition that would show its author what their roles hide; ``errors`` by key."""

    code = "definition_refused"


class FormulaProblem(CardfileError):
    """A formula given under ``key`` does not check; ``error`` says where."""

    code = "bad_formula"

    def __init__(self, key: str, error: FormulaError) -> None:
        super().__init__(error.message)
        self.key = key
        self.error = error


# Option keys that give away what a computed field reads.
_DEFINITION_KEYS = ("expression", "through", "field", "aggregate")
_LINKING_TYPES = ("link", "multi_link", "child_table")


def require_owner(user: Any, message: str) -> Access:
    access = access_for(user)
    if not access.can_configure():
        raise PermissionDenied(message, operation="configure")
    return access


def require_configure(user: Any, entity: str) -> Access:
    """The caller's access once they may change ``entity`` (404 for no such entity)."""
    access = access_for(user)
    if access.can_configure():
        return access
    schema = get_registry().entity(entity)
    if not access.can_configure(schema):
        raise PermissionDenied(configure_message(schema.slug), operation="configure", entity=entity)
    return access


def configure_message(entity: str) -> str:
    return _(
        "Your roles do not allow you to configure %(entity)s: that needs an owner role or the "
        "configure right on %(entity)s."
    ) % {"entity": entity}


def require_configure_trashed(user: Any, field_id: int) -> None:
    """A trashed field is restored or purged by owners, or by those who configure its (live)
    entity. Others learn nothing of which ids are in the trash."""
    access = access_for(user)
    if access.can_configure():
        return
    f = trash_fields().filter(pk=field_id).first()
    schema = None
    if f is not None and f.entity.deleted_at is None:
        try:
            schema = get_registry().entity_by_id(f.entity_id)
        except NotFound:
            schema = None
    if schema is None or not access.can_configure(schema):
        raise PermissionDenied(
            _(
                "Only owners, or those who may configure the field's entity, can restore or "
                "purge a field from the trash."
            ),
            operation="configure",
        )


class DefinitionReader:
    """How a user who reads an entity, but does not configure it, sees its definition: no
    hidden fields, no formulas that read what they may not."""

    def __init__(self, access: Access, schema: EntitySchema) -> None:
        self.access = access
        self.schema = schema
        self.hidden = access.hidden(schema)

    def reads_refused(self, expression: str) -> bool:
        try:
            checked = formula_check(entity=self.schema, expression=expression)
        except FormulaError:
            return True  # a broken formula: what it reads cannot be told, so show none of it
        return bool(formula_read_refusals(self.access, self.schema, checked.dependencies))

    def entity(self, entity: Entity) -> dict[str, Any]:
        data = entity_as_dict(entity)
        if entity.title_field_id in self.hidden:
            data["title_field"] = None
        data["validation_rules"] = [
            rule
            for rule in data["validation_rules"]
            if not self._names_hidden(rule.get("field"))
            and not self.reads_refused(rule.get("condition") or "")
        ]
        return data

    def _names_hidden(self, slug: str | None) -> bool:
        f = self.schema.by_slug.get(slug) if slug else None
        return f is not None and f.pk in self.hidden

    def fields(self, fields: list[Field]) -> list[dict[str, Any]]:
        return [self.field(f) for f in fields if f.pk not in self.hidden]

    def field(self, f: Field) -> dict[str, Any]:
        data = field_as_dict(f)
        if f.type in COMPUTED_TYPES:
            try:
                expression = get_field_type(f.type).expression(f)
            except (KeyError, TypeError):
                expression = ""
            if self.reads_refused(expression):
                data["options"] = {
                    k: v for k, v in data["options"].items() if k not in _DEFINITION_KEYS
                }
        if f.default_formula and self.reads_refused(f.default_formula):
            data["default_formula"] = ""
        return data


def definition_reader(user: Any, entity: str) -> DefinitionReader | None:
    """None if the caller sees ``entity`` whole (an owner, or one who configures it); else how
    they read it. 404 for no such entity, 403 if they may not read it."""
    access = access_for(user)
    if access.can_configure():
        return None
    schema = get_registry().entity(entity)
    if access.can_configure(schema):
        return None
    require(access, "read", schema)
    return DefinitionReader(access, schema)


def hidden_field_not_found(entity: str, field: str) -> NotFound:
    """A hidden field answers exactly like a missing one."""
    return NotFound(
        _("Entity %(entity)s has no field %(field)s.") % {"entity": entity, "field": field},
        code="unknown_field",
    )


def read_problems(access: Access, schema: EntitySchema, expression: Any, key: str) -> list[str]:
    """What a formula given under ``key`` reads that the user may not. A formula that does not
    check is refused here as the service would refuse it, but naming only what they may read."""
    if not isinstance(expression, str) or not expression:
        return []
    try:
        checked = check_for(access, schema, expression)
    except FormulaError as error:
        raise FormulaProblem(key, error) from None
    return formula_read_refusals(access, schema, checked.dependencies)


def refuse_side_channels(
    access: Access,
    entity: str,
    data: dict[str, Any],
    current: Field | None = None,
) -> None:
    """A configurer who is not an owner may not define a field that would show them what
    their roles hide: a computed field or a default formula reading hidden fields or entities
    they may not read, a link to such an entity, or lines made of an entity they do not
    configure."""
    if access.can_configure():
        return
    registry = get_registry()
    schema = registry.entity(entity)
    type_name = data.get("type") or (current.type if current is not None else "")
    given = data.get("options")
    options = given if isinstance(given, dict) else {}
    errors: dict[str, list[str]] = {}
    if type_name in COMPUTED_TYPES and (given is not None or current is None):
        base = current.options if current is not None and current.type == type_name else {}
        merged = {**base, **options}
        try:
            expression = get_field_type(type_name).expression(Field(options=merged))
        except (KeyError, TypeError):
            expression = ""  # incomplete options: the service says what is missing
        key = "options.expression" if "expression" in merged else "options"
        if problems := read_problems(access, schema, expression, key):
            errors[key] = problems
    target = options.get("target")
    if type_name in _LINKING_TYPES and isinstance(target, str):
        errors.update(_target_problems(access, registry, type_name, target))
    if problems := read_problems(access, schema, data.get("default_formula"), "default_formula"):
        errors["default_formula"] = problems
    if errors:
        raise DefinitionRefused(errors)


def _target_problems(
    access: Access, registry: SchemaRegistry, type_name: str, target: str
) -> dict[str, list[str]]:
    try:
        schema = registry.entity(target)
    except NotFound:
        return {}  # the service names the unknown entity
    if type_name == "child_table":
        if not access.can_configure(schema):
            return {"options.target": [configure_message(schema.slug)]}
    elif not access.can("read", schema):
        return {"options.target": [unreadable_message(schema)]}
    return {}


def refuse_hidden_rules(access: Access, entity: str, rules: Any) -> None:
    """Validation rules of a configurer who is not an owner read only what they may read."""
    if access.can_configure() or not isinstance(rules, list):
        return
    schema = get_registry().entity(entity)
    errors: dict[str, list[str]] = {}
    for number, rule in enumerate(rules, start=1):
        condition = rule.get("condition") if isinstance(rule, dict) else None
        key = f"validation_rules[{number}].condition"
        if problems := read_problems(access, schema, condition, key):
            errors[key] = problems
    if errors:
        raise DefinitionRefused(errors)


class ReadableSchemaView(EntitySchemaView):
    """The schema as formulas see it, but naming (in "did you mean" and "expected") only the
    fields and entities the user may read. Names still resolve, so a formula that reads a
    hidden field is refused as such by `formula_read_refusals`, not as an unknown name."""

    def __init__(self, registry: SchemaRegistry, schema: EntitySchema, access: Access) -> None:
        super().__init__(registry, schema)
        self.access = access

    def field_names(self, prefix: tuple[str, ...] = ()) -> list[str]:
        schema = self.schema
        for slug in prefix:
            f = schema.by_slug.get(slug)
            reverse = reverse_links(self.registry, schema).get(slug) if f is None else None
            if reverse is not None:
                schema = reverse[0]
            elif f is not None and f.type in ("link", "child_table"):
                schema = self.registry.entity_by_id(f.options["target_id"])
            else:
                return []
        if not self.access.can("read", schema):
            return []
        hidden = self.access.hidden(schema)
        names = {f.slug: f for f in schema.fields}
        reverse = reverse_links(self.registry, schema)
        return [
            name
            for name in super().field_names(prefix)
            if (name not in names or names[name].pk not in hidden)
            and (name not in reverse or self._reads_back(*reverse[name]))
        ]

    def _reads_back(self, source: EntitySchema, link: Field) -> bool:
        return self.access.can("read", source) and link.pk not in self.access.hidden(source)


def check_for(access: Access, schema: EntitySchema, expression: str) -> CheckedFormula:
    """`formula_check` for a user who is not an owner: errors name only what they may read."""
    return check(expression, ReadableSchemaView(get_registry(), schema, access))


def visible_rows(
    access: Access, registry: SchemaRegistry, schema: EntitySchema, queryset: Any
) -> Any:
    """``queryset`` limited to the rows the user may read: for lines, those of parents they
    may read."""
    queryset = access.visible(schema, queryset)
    parent_field = schema.parent_field
    if parent_field is not None:
        parent = registry.entity_by_id(parent_field.entity_id)
        parents = visible_rows(access, registry, parent, parent.objects())
        queryset = queryset.filter(**{f"{parent_field.attname}__in": parents.values("pk")})
    return queryset


def formula_check_as(access: Access, entity: str, expression: str) -> CheckedFormula:
    """`formula_check` on behalf of a user. Others than owners must read the entity; their
    errors name only what they may read, and a formula that reads what they may not is
    refused (`DefinitionRefused` under ``expression``). A `FormulaError` says where it is wrong."""
    if access.is_owner:
        return formula_check(entity=entity, expression=expression)
    schema = get_registry().entity(entity)
    require(access, "read", schema)
    checked = check_for(access, schema, expression)
    refusals = formula_read_refusals(access, schema, checked.dependencies)
    if refusals:
        raise DefinitionRefused({"expression": refusals})
    return checked


def formula_value_as(access: Access, entity: str, checked: CheckedFormula, record: int) -> Any:
    """The value of ``checked`` for one record the user may read, or `NotFound` as for a
    missing record. For others than owners it is computed in SQL, where linked rows outside
    their rules read as absent."""
    from cardfile.metamodel.formulas import formula_values_python, formula_values_sql

    registry = get_registry()
    schema = registry.entity(entity)
    common = {
        "entity": schema,
        "formula": checked,
        "ids": [record],
        "user": access.user,
        "branch": access.branch_id,
    }
    visible = 0 < record <= MAX_ID and (
        access.is_owner
        or visible_rows(access, registry, schema, schema.objects().filter(pk=record)).exists()
    )
    values = {}
    if visible and access.is_owner:
        values = formula_values_python(**common)
    elif visible:
        values = formula_values_sql(**common, guard=access.visible_ids)
    if record not in values:
        raise NotFound(
            _("There is no %(entity)s #%(id)s.") % {"entity": entity, "id": record},
            code="not_found",
        )
    return values[record]
