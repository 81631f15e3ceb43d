"""What a user may do: the union of their roles' rights, worked out once per request.

`access_for(user)` gives an `Access`; for each entity it holds an `EntityAccess`: the allowed
operations, the hidden and read-only fields, and per operation the row rules (formulas) of the
roles that allow it. A user sees a row if any of those rules holds for it, or if one of those
roles has no rule. Owners (an owner role, or a Django superuser) and system calls (no user) may
do everything; an anonymous or inactive user nothing.

Line entities (targets of child tables) follow their parent entity's operations and rows; only
their field rules are their own.
"""

from __future__ import annotations

import contextvars
import logging
import re
import threading
import uuid
from collections import OrderedDict, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from django.db.models import Q, QuerySet
from django.db.models.lookups import Exact

from cardfile.core.models import Branch
from cardfile.metamodel.models import EntityRights, Role, SchemaState
from cardfile.metamodel.schema.dynamic import (
    EntitySchema,
    SchemaRegistry,
    access_token,
    ensure_state,
    get_registry,
    repin_access,
)

logger = logging.getLogger(__name__)

OPERATIONS = EntityRights.OPERATIONS
HIDDEN = "hidden"
READ_ONLY = "read_only"
FIELD_RULES = (HIDDEN, READ_ONLY)
# Operations that write field values: a field is read-only unless a role allowing one of
# them leaves it writable.
_WRITING = ("create", "update")


@dataclass(frozen=True)
class EntityAccess:
    """One user's rights on one entity."""

    operations: frozenset[str]
    hidden: frozenset[int] = frozenset()  # field ids
    read_only: frozenset[int] = frozenset()  # field ids (not hidden)
    # operation -> the row rules of the roles allowing it; absent: every row
    rules: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def can(self, operation: str) -> bool:
        return operation in self.operations

    def field_rule(self, field_id: int) -> str | None:
        if field_id in self.hidden:
            return HIDDEN
        if field_id in self.read_only:
            return READ_ONLY
        return None


FULL = EntityAccess(frozenset(OPERATIONS))
NOTHING = EntityAccess(frozenset())


class Access:
    """The rights of one user (or of the system, ``user=None``) for one schema version."""

    def __init__(
        self,
        user: Any,
        *,
        unrestricted: bool,
        rights: list[EntityRights] = (),  # rows of the user's roles
        branch_ids: list[int] = (),
        registry: SchemaRegistry | None = None,
    ) -> None:
        self.user = user
        self.unrestricted = unrestricted
        self.branch_ids = list(branch_ids)
        self.branch_id = self.branch_ids[0] if self.branch_ids else None
        self.registry = registry or get_registry()
        self._rights: defaultdict[int, list[EntityRights]] = defaultdict(list)
        self._roles: set[int] = set()
        for row in rights:
            self._rights[row.entity_id].append(row)
            self._roles.add(row.role_id)
        self._entities: dict[int, EntityAccess] = {}
        # (entity id, operation) -> the compiled row condition, for rules that do not read
        # the clock (those are compiled for each use, so TODAY() is today)
        self._conditions: dict[tuple[int, str], Q | None] = {}
        self._lock = threading.Lock()

    @property
    def is_owner(self) -> bool:
        return self.unrestricted

    @property
    def user_id(self) -> int | None:
        return getattr(self.user, "pk", None)

    # -- per entity ----------------------------------------------------------------------------

    def entity(self, schema: EntitySchema) -> EntityAccess:
        if self.unrestricted:
            return FULL
        key = schema.entity.pk
        found = self._entities.get(key)
        if found is None:
            found = self._entities[key] = self._work_out(schema)
        return found

    def _governing(self, schema: EntitySchema) -> EntitySchema:
        """The entity whose operations and rows apply: a line entity's top parent."""
        while schema.parent_field is not None:
            schema = self.registry.entity_by_id(schema.parent_field.entity_id)
        return schema

    def _work_out(self, schema: EntitySchema) -> EntityAccess:
        governing = self._governing(schema)
        rows = self._rights.get(governing.entity.pk, [])
        own = {row.role_id: row for row in self._rights.get(schema.entity.pk, [])}
        operations = frozenset(op for op in OPERATIONS for row in rows if getattr(row, f"can_{op}"))
        if not operations:
            return NOTHING

        def rules_of(row: EntityRights) -> dict[int, str]:
            fields_row = own.get(row.role_id)
            rules = fields_row.fields if fields_row is not None else {}
            return {int(k): v for k, v in rules.items() if str(k).isdigit()}

        readers = [row for row in rows if row.can_read]
        writers = [row for row in rows if row.can_create or row.can_update]
        hidden = _every([{k for k, v in rules_of(row).items() if v == HIDDEN} for row in readers])
        unwritable = _every([set(rules_of(row)) for row in writers])
        rules: dict[str, tuple[str, ...]] = {}
        if schema is governing:
            for op in operations:
                granting = [row for row in rows if getattr(row, f"can_{op}")]
                if all(row.rule.strip() for row in granting):
                    rules[op] = tuple(dict.fromkeys(row.rule.strip() for row in granting))
        return EntityAccess(
            operations=operations,
            hidden=frozenset(hidden),
            read_only=frozenset(unwritable - hidden),
            rules=rules,
        )

    def can(self, operation: str, schema: EntitySchema) -> bool:
        return self.entity(schema).can(operation)

    def can_configure(self, schema: EntitySchema | None = None) -> bool:
        """Owners configure everything; ``configure`` on an entity allows changing it."""
        if self.unrestricted:
            return True
        return schema is not None and self.can("configure", schema)

    def hidden(self, schema: EntitySchema) -> frozenset[int]:
        return self.entity(schema).hidden

    # -- rows ----------------------------------------------------------------------------------

    def row_condition(self, schema: EntitySchema, operation: str = "read") -> Q | None:
        """The rows ``operation`` may touch as a condition on ``schema``'s records, or None
        for every row. Rules compile into SQL through the formula engine."""
        rules = self.entity(schema).rules.get(operation)
        if self.unrestricted or rules is None:
            return None
        key = (schema.entity.pk, operation)
        with self._lock:
            if key in self._conditions:
                return self._conditions[key]
        condition = Q(pk__in=[])
        for rule in rules:
            expression = _rule_expression(self, schema, rule)
            if expression is not None:
                condition |= Q(Exact(expression, True))
        if not any(_READS_CLOCK.search(rule) for rule in rules):
            with self._lock:
                self._conditions[key] = condition
        return condition

    def visible(
        self, schema: EntitySchema, queryset: QuerySet, operation: str = "read"
    ) -> QuerySet:
        condition = self.row_condition(schema, operation)
        return queryset if condition is None else queryset.filter(condition)

    def visible_ids(self, schema: EntitySchema) -> QuerySet | None:
        """A subquery of the ids of ``schema``'s rows the user may read; None for all."""
        condition = self.row_condition(schema)
        if condition is None:
            return None
        return schema.model._base_manager.filter(condition).values("pk")


def _every(sets: list[set[int]]) -> set[int]:
    """What every role agrees on: the most generous role wins."""
    if not sets:
        return set()
    result = set(sets[0])
    for other in sets[1:]:
        result &= other
    return result


@lru_cache(maxsize=512)
def _checked_rule(token: str, entity_id: int, rule: str) -> Any:
    from cardfile.metamodel.formulas import check_condition, formula_check

    registry = get_registry()
    return check_condition(formula_check(entity=registry.entity_by_id(entity_id), expression=rule))


def _rule_expression(access: Access, schema: EntitySchema, rule: str) -> Any:
    from cardfile.formula_engine import FormulaError
    from cardfile.metamodel.formulas import formula_expression

    try:
        checked = _checked_rule(access.registry.token, schema.entity.pk, rule)
    except FormulaError as error:
        # A rule that no longer fits the schema (a field it read was deleted) lets no row
        # through; the schema services refuse such changes, so this is a last line.
        logger.warning("Row rule %r of %s is broken: %s", rule, schema.slug, error)
        return None
    return formula_expression(
        entity=schema, formula=checked, user=access.user, branch=access.branch_id
    )


_READS_CLOCK = re.compile(r"\b(TODAY|NOW)\s*\(", re.IGNORECASE)


# -- cached per process, per request -----------------------------------------------------------

_CACHE_SIZE = 256
_cache_lock = threading.Lock()
# (user id, schema token, access token) -> Access; a change of rights changes the token.
_cache: OrderedDict[tuple[Any, str, str], Access] = OrderedDict()

_memo: contextvars.ContextVar[dict | None] = contextvars.ContextVar("cardfile_access", default=None)


@contextmanager
def access_memo() -> Iterator[None]:
    """Work a user's rights out once for the block (a request)."""
    reset = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(reset)


def access_for(user: Any) -> Access:
    """The rights of ``user``; ``None`` is the system itself (every right).

    Worked out once per process for each user and version of the schema and of the rights
    (`bump_access` changes the latter), and looked up once per request."""
    registry = get_registry()
    if user is None:
        return Access(None, unrestricted=True, registry=registry)
    memo = _memo.get()
    if memo is not None and getattr(user, "pk", None) in memo:
        return memo[user.pk]
    authenticated = getattr(user, "is_authenticated", False) and getattr(user, "is_active", False)
    key = (user.pk if authenticated else None, registry.token, access_token())
    with _cache_lock:
        access = _cache.get(key)
        if access is not None:
            _cache.move_to_end(key)
    if access is None:
        access = _load(user, registry)
        with _cache_lock:
            _cache[key] = access
            while len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
    if memo is not None:
        memo[getattr(user, "pk", None)] = access
    return access


def bump_access() -> None:
    """Record that roles, rights, memberships or branches changed: every process works the
    rights out again (after this transaction commits, or now inside it)."""
    ensure_state()
    token = uuid.uuid4().hex
    SchemaState.objects.filter(pk=1).update(access_token=token)
    repin_access(token)


def clear_access_cache() -> None:
    with _cache_lock:
        _cache.clear()


def _load(user: Any, registry: SchemaRegistry) -> Access:
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return Access(user, unrestricted=False, registry=registry)
    branch_ids = list(
        Branch.objects.filter(users=user, is_active=True)
        .order_by("id")
        .values_list("pk", flat=True)
    )
    if user.is_superuser:
        return Access(user, unrestricted=True, branch_ids=branch_ids, registry=registry)
    roles = list(Role.objects.filter(group__user=user).prefetch_related("rights"))
    rights = [row for role in roles for row in role.rights.all()]
    return Access(
        user,
        unrestricted=any(role.is_owner for role in roles),
        rights=rights,
        branch_ids=branch_ids,
        registry=registry,
    )
