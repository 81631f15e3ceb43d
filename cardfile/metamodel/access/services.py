"""Writes of roles and their rights, in the shape the API speaks.

A role is ``{"name", "label", "description", "is_owner", "permissions"}``; ``permissions`` maps
entity slugs to ``{"read", "create", ..., "configure": bool, "fields": {"<field slug>":
"hidden" | "read_only"}, "rule": "<boolean formula>"}``. Field rules are stored by field id, so a
renamed field keeps its rule. Input is checked as a whole and every problem is reported at once,
keyed by its path (``permissions.order.fields.price``). Each change writes an audit entry; the
access signals make every process work the rights out again.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from cardfile.core.exceptions import InvalidInput, NotFound, Problems
from cardfile.core.models import AuditLog
from cardfile.core.services import audit_log_record
from cardfile.formula_engine import FormulaError
from cardfile.metamodel.formulas import check_condition, formula_check
from cardfile.metamodel.models import SLUG_MAX_LENGTH, EntityRights, Role, slug_validator
from cardfile.metamodel.schema.dynamic import EntitySchema, SchemaRegistry, get_registry

from .rights import FIELD_RULES, OPERATIONS

ROLE_KEYS = ("name", "label", "description", "is_owner", "permissions")
RIGHTS_KEYS = (*OPERATIONS, "fields", "rule")
LABEL_MAX_LENGTH = 200
NON_FIELD = "non_field_errors"

User = AbstractBaseUser | AnonymousUser | None


class AccessValidationError(InvalidInput):
    """Bad input for a role; ``errors`` maps paths (``permissions.order.rule``) to messages.

    ``formula`` tells where the first bad row rule is wrong (`FormulaError.as_dict` and its
    ``path``)."""


# -- reading -----------------------------------------------------------------------------------


def role_list() -> list[Role]:
    """Every role, by name, with its rights (two queries)."""
    return list(
        Role.objects.select_related("group").prefetch_related("rights").order_by("group__name")
    )


def role_get(name: str) -> Role:
    role = (
        Role.objects.select_related("group").prefetch_related("rights").filter(group__name=name)
    ).first()
    if role is None:
        raise NotFound(_("There is no role %(role)s.") % {"role": name}, code="unknown_role")
    return role


def role_as_dict(role: Role, registry: SchemaRegistry | None = None) -> dict[str, Any]:
    """The API shape of ``role``. Rights on entities no longer in the schema (in the trash) are
    left out, as are rules of fields that are gone."""
    registry = registry or get_registry()
    permissions: dict[str, dict[str, Any]] = {}
    for row in role.rights.all():
        try:
            schema = registry.entity_by_id(row.entity_id)
        except NotFound:
            continue
        permissions[schema.slug] = _rights_as_dict(row, schema)
    return {
        "name": role.group.name,
        "label": role.label,
        "description": role.description,
        "is_owner": role.is_owner,
        "permissions": dict(sorted(permissions.items())),
    }


def _rights_as_dict(row: EntityRights, schema: EntitySchema) -> dict[str, Any]:
    by_id = {str(f.pk): f.slug for f in schema.fields}
    return {
        **{op: getattr(row, f"can_{op}") for op in OPERATIONS},
        "fields": {by_id[k]: v for k, v in sorted(row.fields.items()) if k in by_id},
        "rule": row.rule,
    }


# -- writing -----------------------------------------------------------------------------------


@transaction.atomic
def role_create(*, data: Any, user: User = None) -> Role:
    """A new role (and its group) from the API shape; ``name`` is required."""
    cleaned = _clean(data, role=None)
    group = Group.objects.create(name=cleaned["name"])
    role = Role.objects.create(
        group=group,
        label=cleaned.get("label") or cleaned["name"],
        description=cleaned.get("description", ""),
        is_owner=cleaned.get("is_owner", False),
    )
    _write_rights(role, cleaned.get("permissions", {}))
    role = role_get(group.name)
    audit_log_record(
        user=user,
        action=AuditLog.Action.CREATE,
        object_type="role",
        object_id=role.pk,
        object_repr=group.name,
        after=role_as_dict(role),
    )
    return role


@transaction.atomic
def role_update(*, name: str, data: Any, user: User = None) -> Role:
    """Change the attributes ``data`` names. ``permissions`` replaces the rights of the entities
    it names (``null`` removes them); entities it does not name keep theirs."""
    role = _locked(name)
    before = role_as_dict(role)
    was_owner = _owns(user)
    cleaned = _clean(data, role=role)
    if "name" in cleaned and cleaned["name"] != role.group.name:
        role.group.name = cleaned["name"]
        role.group.save(update_fields=["name"])
    changed = [key for key in ("label", "description", "is_owner") if key in cleaned]
    for key in changed:
        setattr(role, key, cleaned[key])
    if changed:
        role.save(update_fields=[*changed, "updated_at"])
    _write_rights(role, cleaned.get("permissions", {}))
    _keep_own_ownership(user, was_owner)
    role = role_get(role.group.name)
    audit_log_record(
        user=user,
        action=AuditLog.Action.UPDATE,
        object_type="role",
        object_id=role.pk,
        object_repr=role.group.name,
        before=before,
        after=role_as_dict(role),
    )
    return role


@transaction.atomic
def role_delete(*, name: str, user: User = None) -> None:
    """Delete the role with its rights and its group; its members simply lose it."""
    role = _locked(name)
    before = role_as_dict(role)
    was_owner = _owns(user)
    role_id = role.pk
    role.group.delete()  # the role and its rights go with the group
    _keep_own_ownership(user, was_owner)
    audit_log_record(
        user=user,
        action=AuditLog.Action.PURGE,
        object_type="role",
        object_id=role_id,
        object_repr=name,
        before=before,
    )


def _locked(name: str) -> Role:
    role = Role.objects.select_for_update().select_related("group").filter(group__name=name).first()
    if role is None:
        raise NotFound(_("There is no role %(role)s.") % {"role": name}, code="unknown_role")
    return role


def _owns(user: User) -> bool:
    """Whether ``user`` owns through a role (superusers own whatever happens to roles)."""
    if user is None or not user.is_authenticated or user.is_superuser:
        return False
    return Role.objects.filter(group__user=user, is_owner=True).exists()


def _keep_own_ownership(user: User, was_owner: bool) -> None:
    """An owner may not take the owner right away from themselves: nobody might be left to
    give it back. Another owner can."""
    if was_owner and not _owns(user):
        raise AccessValidationError(
            {
                "is_owner": [
                    _(
                        "This would take your own owner rights away. Ask another owner to make "
                        "this change."
                    )
                ]
            }
        )


def _write_rights(role: Role, permissions: dict[int, dict[str, Any] | None]) -> None:
    """Replace the rights of each entity (by id) in ``permissions``; ``None`` removes them."""
    removed = [entity_id for entity_id, rights in permissions.items() if rights is None]
    if removed:
        EntityRights.objects.filter(role=role, entity_id__in=removed).delete()
    for entity_id, rights in permissions.items():
        if rights is None:
            continue
        EntityRights.objects.update_or_create(role=role, entity_id=entity_id, defaults=rights)


# -- validation --------------------------------------------------------------------------------


def _clean(data: Any, *, role: Role | None) -> dict[str, Any]:
    """``data`` checked and converted: names stay, ``permissions`` is keyed by entity id and
    holds model field values. Raises `AccessValidationError` with every problem found."""
    problems = Problems(AccessValidationError)
    if not isinstance(data, dict):
        problems.add(NON_FIELD, _("Send a JSON object."))
        problems.raise_any()
    cleaned: dict[str, Any] = {}
    for key in data:
        if key not in ROLE_KEYS:
            problems.add(
                key,
                _("Unknown attribute; expected one of: %(keys)s.") % {"keys": ", ".join(ROLE_KEYS)},
            )
    if "name" in data or role is None:
        name = data.get("name")
        for message in _name_problems(name, role):
            problems.add("name", message)
        cleaned["name"] = name
    if "label" in data:
        label = data["label"]
        if not isinstance(label, str) or (role is not None and not label.strip()):
            problems.add("label", _("A label is a non-empty text."))
        elif len(label) > LABEL_MAX_LENGTH:
            problems.add("label", _("At most %(n)d characters.") % {"n": LABEL_MAX_LENGTH})
        else:
            cleaned["label"] = label.strip()
    if "description" in data:
        if isinstance(data["description"], str):
            cleaned["description"] = data["description"]
        else:
            problems.add("description", _("A description is a text."))
    if "is_owner" in data:
        owner = problems.boolean("is_owner", data["is_owner"])
        if owner is not None:
            cleaned["is_owner"] = owner
    if "permissions" in data:
        cleaned["permissions"] = _clean_permissions(data["permissions"], problems)
    problems.raise_any()
    return cleaned


def _name_problems(name: Any, role: Role | None) -> list[str]:
    if not isinstance(name, str) or not name:
        return [_("A role needs a name.")]
    problems = []
    try:
        slug_validator(name)
    except ValidationError as error:
        problems.extend(str(m) for m in error.messages)
    if len(name) > SLUG_MAX_LENGTH:
        problems.append(_("At most %(n)d characters.") % {"n": SLUG_MAX_LENGTH})
    taken = Group.objects.filter(name=name)
    if role is not None:
        taken = taken.exclude(pk=role.group_id)
    if not problems and taken.exists():
        problems.append(_("There is already a role or group named %(name)s.") % {"name": name})
    return problems


def _clean_permissions(value: Any, problems: Problems) -> dict[int, dict[str, Any] | None]:
    if not isinstance(value, dict):
        problems.add(
            "permissions", _("Permissions are an object mapping entity slugs to their rights.")
        )
        return {}
    registry = get_registry()
    cleaned: dict[int, dict[str, Any] | None] = {}
    for slug, rights in value.items():
        path = f"permissions.{slug}"
        try:
            schema = registry.entity(slug)
        except NotFound as error:
            problems.add(path, error.message)
            continue
        if rights is None:
            cleaned[schema.entity.pk] = None
            continue
        if not isinstance(rights, dict):
            problems.add(
                path,
                _("Rights are an object with the keys %(keys)s, or null to remove them.")
                % {"keys": ", ".join(RIGHTS_KEYS)},
            )
            continue
        cleaned[schema.entity.pk] = _clean_rights(schema, rights, path, problems)
    return cleaned


def _clean_rights(
    schema: EntitySchema, rights: dict[str, Any], path: str, problems: Problems
) -> dict[str, Any]:
    """The `EntityRights` values of one entity; operations not given are not allowed."""
    cleaned: dict[str, Any] = {}
    for key, value in rights.items():
        if key not in RIGHTS_KEYS:
            problems.add(
                f"{path}.{key}",
                _("Unknown key; expected one of: %(keys)s.") % {"keys": ", ".join(RIGHTS_KEYS)},
            )
        elif key in OPERATIONS:
            problems.boolean(f"{path}.{key}", value)
    for op in OPERATIONS:
        cleaned[f"can_{op}"] = rights.get(op) is True
    cleaned["fields"] = _clean_field_rules(schema, rights.get("fields", {}), path, problems)
    cleaned["rule"] = _clean_rule(schema, rights.get("rule", ""), path, problems)
    return cleaned


def _clean_field_rules(
    schema: EntitySchema, rules: Any, path: str, problems: Problems
) -> dict[str, str]:
    if rules is None:
        return {}
    if not isinstance(rules, dict):
        problems.add(
            f"{path}.fields",
            _('Field rules are an object mapping field slugs to "hidden" or "read_only".'),
        )
        return {}
    cleaned: dict[str, str] = {}
    for field_slug, how in rules.items():
        field_path = f"{path}.fields.{field_slug}"
        f = schema.by_slug.get(field_slug)
        if f is None:
            problems.add(
                field_path,
                _("%(entity)s has no field %(field)s.")
                % {"entity": schema.slug, "field": field_slug},
            )
        elif how not in FIELD_RULES:
            problems.add(
                field_path,
                _("Use one of: %(rules)s.") % {"rules": ", ".join(FIELD_RULES)},
            )
        else:
            cleaned[str(f.pk)] = how
    return cleaned


def _clean_rule(schema: EntitySchema, rule: Any, path: str, problems: Problems) -> str:
    rule_path = f"{path}.rule"
    if rule is None:
        return ""
    if not isinstance(rule, str):
        problems.add(rule_path, _("A row rule is a formula (text), or empty for every row."))
        return ""
    rule = rule.strip()
    if not rule:
        return ""
    try:
        check_condition(formula_check(entity=schema, expression=rule))
    except FormulaError as error:
        problems.add(rule_path, error.message)
        if problems.formula is None:
            problems.formula = {**error.as_dict(), "path": rule_path}
    return rule


def rules_reading(registry: SchemaRegistry, field_pk: int) -> list[str]:
    """The row rules (``role: entity``) whose formulas read field ``field_pk``: the schema
    services refuse to rename, retype or delete such a field, because a broken rule lets no
    row through."""
    from cardfile.metamodel.formulas.schema_view import path_steps

    found = []
    rights = EntityRights.objects.exclude(rule="").select_related("role__group")
    for row in rights:
        try:
            schema = registry.entity_by_id(row.entity_id)
            checked = formula_check(entity=schema, expression=row.rule)
        except (NotFound, FormulaError):
            continue
        if any(
            f is not None and f.pk == field_pk
            for path in checked.dependencies
            for _schema, f in path_steps(registry, schema, path)
        ):
            found.append(f"{row.role.group.name}: {schema.slug}")
    return sorted(set(found))
