"""The checks every surface makes through `Access`: operations, fields read and written, paths.

Messages name the entity or field; callers turn them into 403 (`PermissionDenied`) for a
missing right on an entity, and 400 for a field or path the user may not use.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cardfile.core.exceptions import PermissionDenied
from cardfile.metamodel.models import Field
from cardfile.metamodel.schema.dynamic import EntitySchema

from .rights import HIDDEN, READ_ONLY, Access

_VERBS = {
    "read": gettext_lazy("read"),
    "create": gettext_lazy("create"),
    "update": gettext_lazy("change"),
    "delete": gettext_lazy("delete"),
    "export": gettext_lazy("export"),
    "print": gettext_lazy("print"),
    "configure": gettext_lazy("configure"),
}


def operation_name(operation: str) -> str:
    return str(_VERBS.get(operation, operation))


def require(access: Access, operation: str, schema: EntitySchema) -> None:
    """Raise `PermissionDenied` unless the user may do ``operation`` on ``schema``."""
    if access.can(operation, schema):
        return
    raise PermissionDenied(
        _("Your roles do not allow you to %(operation)s %(entity)s records.")
        % {"operation": operation_name(operation), "entity": schema.slug},
        operation=operation,
        entity=schema.slug,
    )


def hidden_message(schema: EntitySchema, f: Field) -> str:
    return _("%(field)s of %(entity)s is hidden from your roles.") % {
        "field": f.slug,
        "entity": schema.slug,
    }


def unreadable_message(schema: EntitySchema) -> str:
    return _("Your roles do not allow you to read %(entity)s records.") % {"entity": schema.slug}


def read_refusal(access: Access, schema: EntitySchema, f: Field | None) -> str | None:
    """Why the user may not read field ``f`` of ``schema`` (None: they may). System fields
    (``f`` is None or has no id) are readable wherever the entity is."""
    if not access.can("read", schema):
        return unreadable_message(schema)
    if f is not None and f.pk is not None and f.pk in access.hidden(schema):
        return hidden_message(schema, f)
    return None


def write_refusal(access: Access, schema: EntitySchema, f: Field) -> str | None:
    """Why the user may not write field ``f`` (None: they may)."""
    rule = access.entity(schema).field_rule(f.pk)
    if rule == HIDDEN:
        return _("You may not write %(field)s: it is hidden from your roles.") % {"field": f.slug}
    if rule == READ_ONLY:
        return _("%(field)s is read-only for your roles.") % {"field": f.slug}
    return None


def formula_read_refusals(access: Access, schema: EntitySchema, dependencies: Any) -> list[str]:
    """Each field a formula reads that the user may not read, as a message.

    ``dependencies`` are the checked formula's paths (``("client", "name")``); a path may go
    through links, child tables and the records that link here."""
    from cardfile.metamodel.formulas.schema_view import path_steps

    problems: list[str] = []
    for path in sorted(dependencies):
        for step_schema, f in path_steps(access.registry, schema, path):
            refusal = read_refusal(access, step_schema, f)
            if refusal:
                problems.append(refusal)
                break
    return list(dict.fromkeys(problems))
