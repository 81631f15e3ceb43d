"""List parameters -> a queryset of records: filters, search, sort and expanded links.

``?<path>=v`` and ``?<path>__<op>=v`` filter, where a path is a field slug, a system field
(``id``, ``created_at``, ``updated_at``) or link slugs leading to one (``client__name``). Values
are read by the field's type, so a filter takes what the field takes (dates, decimals, choice
values, record ids); an empty value for ``=`` or ``ne`` means "is blank". Every problem is
reported at once in a `ListParamsError` keyed by the parameter, never silently ignored.

Reading a page costs a fixed number of queries whatever its size: the queryset comes from
`selectors.with_relations`, and each expanded link adds one prefetch.

Every parameter goes through the caller's `Access`: a hidden field cannot be filtered, sorted,
searched or read by ``?where=`` (400 naming it), a path cannot go through an entity the user
may not read, and a linked row outside the user's row rules matches no filter and sorts as blank.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import connection, models
from django.db.models import Case, F, Prefetch, Q, When
from django.db.models.functions import Cast
from django.utils.translation import gettext as _

from cardfile.core.exceptions import InvalidInput
from cardfile.metamodel.access import Access, access_for, formula_read_refusals, require
from cardfile.metamodel.access.enforce import hidden_message, read_refusal, unreadable_message
from cardfile.metamodel.fields import FieldValueError, get_field_type
from cardfile.metamodel.fields.base import FieldType
from cardfile.metamodel.models import Field
from cardfile.metamodel.schema.dynamic import EntitySchema, SchemaRegistry, get_registry

from .exceptions import RecordError
from .selectors import with_relations

# Parameters that are not filters. ``page``/``page_size``/``count`` belong to the pagination,
# ``expand`` and ``trash`` to the caller; they are listed here so they are not read as fields.
RESERVED = frozenset({"search", "sort", "page", "page_size", "expand", "count", "trash", "where"})
OPERATORS = frozenset(
    {
        "exact",
        "ne",
        "lt",
        "lte",
        "gt",
        "gte",
        "contains",
        "icontains",
        "startswith",
        "in",
        "isnull",
        "range",
    }
)
SEARCHED_TYPES = frozenset(
    {"text", "long_text", "email", "phone", "url", "choice", "status", "autonumber"}
)
# Types whose values have an order a list can be sorted by (money: by its amount).
UNSORTABLE_TYPES = frozenset({"multi_choice", "multi_link", "child_table", "json", "file", "image"})
_TEXT_MATCH = frozenset({"contains", "icontains", "startswith"})
_ORDERING = frozenset({"lt", "lte", "gt", "gte", "range"})
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


class ListParamsError(RecordError, InvalidInput):
    """Bad list parameters; ``errors`` maps each parameter to what was wrong with it, and
    ``formula`` is the position of a wrong ``?where=`` expression."""

    code = "bad_parameter"


@dataclass(frozen=True)
class Target:
    """What a parameter's path leads to: the ORM path of its column and the field behind it."""

    path: str  # ORM lookup path, e.g. "f12__f7"
    field: Field
    ftype: FieldType
    schema: EntitySchema  # the entity that holds the field
    # conditions keeping linked rows the user may read (one per link with row rules)
    guards: tuple[Q, ...] = ()

    def guarded(self, q: Q) -> Q:
        for guard in self.guards:
            q &= guard
        return q


# System fields that lists can filter and sort by, as pseudo fields of a type.
_SYSTEM = {"id": "integer", "created_at": "datetime", "updated_at": "datetime"}


def _system_field(slug: str) -> Field:
    return Field(slug=slug, label=slug, type=_SYSTEM[slug], options={})


def resolve_path(
    registry: SchemaRegistry,
    schema: EntitySchema,
    parts: list[str],
    access: Access | None = None,
) -> Target | str:
    """Follow link slugs to a field; return its `Target`, or a message saying what is wrong
    (also when ``access`` does not let the user read a field or an entity on the way)."""
    prefix = ""
    current = schema
    guards: list[Q] = []
    for depth, slug in enumerate(parts):
        last = depth == len(parts) - 1
        if slug in _SYSTEM and last:
            f = _system_field(slug)
            return Target(prefix + slug, f, get_field_type(f.type), current, tuple(guards))
        f = current.by_slug.get(slug)
        hidden = access.hidden(current) if access is not None else frozenset()
        if f is None:
            known = sorted([*_SYSTEM, *(g.slug for g in current.fields if g.pk not in hidden)])
            return _("%(entity)s has no field %(field)s; it has: %(fields)s.") % {
                "entity": current.slug,
                "field": slug,
                "fields": ", ".join(known),
            }
        if f.pk in hidden:
            return hidden_message(current, f)
        if last:
            return Target(prefix + f.attname, f, get_field_type(f.type), current, tuple(guards))
        if f.type != "link":
            return _("%(field)s is not a link, so %(next)s cannot follow it.") % {
                "field": slug,
                "next": parts[depth + 1],
            }
        target = registry.entity_by_id(f.options["target_id"])
        if access is not None:
            if not access.can("read", target):
                return unreadable_message(target)
            visible = access.visible_ids(target)
            if visible is not None:
                guards.append(Q(**{f"{prefix}{f.attname}__in": visible}))
        prefix += f"{f.attname}__"
        current = target
    raise AssertionError("empty path")  # pragma: no cover - callers never pass one


# -- filters -----------------------------------------------------------------------------------


def _parse_bool(raw: str) -> bool:
    text = raw.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise FieldValueError(_("Expected true or false, got %(value)r.") % {"value": raw})


def _one_value(target: Target, raw: str, op: str) -> Any:
    """A filter value read as the field reads it; comparisons skip the field's own limits."""
    f, ftype = target.field, target.ftype
    text = raw.strip()
    if not text:
        raise FieldValueError(_("A value is required."))
    value = ftype.coerce(f, text) if op in _ORDERING else ftype.from_text(f, text)
    if value is None:
        raise FieldValueError(_("A value is required."))
    if f.type == "money":
        return value[0]  # compare the amount column
    if f.type == "multi_link":
        return value[0]
    return value


def _values(target: Target, raw: str, op: str) -> list[Any]:
    parts = [p for p in (p.strip() for p in raw.split(",")) if p]
    if not parts:
        raise FieldValueError(_("Expected one or more values separated by commas."))
    return [_one_value(target, p, op) for p in parts]


def _filter_q(target: Target, op: str, raw: str, aliases: dict[str, Any]) -> Q:
    f, path = target.field, target.path
    if op == "isnull":
        return _isnull_q(target, _parse_bool(raw))
    if op in ("exact", "ne") and not raw.strip():
        return _isnull_q(target, op == "exact")
    if f.type == "multi_link":
        return _multi_link_q(target, op, raw)
    if f.type == "multi_choice":  # only "contains": holds every value given
        return _multi_choice_q(target, raw, aliases)
    if op in _TEXT_MATCH:
        if not raw.strip():
            raise FieldValueError(_("A value is required."))
        return Q(**{f"{path}__{op}": raw.strip()})
    if op == "in":
        return Q(**{f"{path}__in": _values(target, raw, op)})
    if op == "range":
        bounds = _values(target, raw, op)
        if len(bounds) != 2:
            raise FieldValueError(_("Expected two values separated by a comma: from,to."))
        return Q(**{f"{path}__range": tuple(bounds)})
    value = _one_value(target, raw, op)
    if op == "ne":
        return ~Q(**{path: value})
    lookup = path if op == "exact" else f"{path}__{op}"
    return Q(**{lookup: value})


def _isnull_q(target: Target, blank: bool) -> Q:
    f, path = target.field, target.path
    if f.type in ("multi_link", "child_table"):
        base = path[: -len(f.attname)]
        q = Q(**{f"{base}pk__in": _holders(target)})
        return ~q if blank else q
    return Q(**{f"{path}__isnull": blank})


def _holders(target: Target) -> models.QuerySet:
    """Ids of records (of the field's entity) that have at least one link or live line."""
    registry = get_registry()
    f = target.field
    if f.type == "multi_link":
        through = registry.through_model(f)
        return through._default_manager.values("source_id")
    child = registry.entity_by_id(f.options["target_id"])
    return (
        child.model._default_manager.filter(deleted_at__isnull=True)
        .exclude(**{f"{f.attname}__isnull": True})
        .values(f"{f.attname}_id")
    )


def _multi_link_q(target: Target, op: str, raw: str) -> Q:
    """``tags=3``: links to 3; ``tags__in=3,4``: links to 3 or 4 (an EXISTS, no duplicates)."""
    registry = get_registry()
    f = target.field
    ids = _values(target, raw, op) if op == "in" else [_one_value(target, raw, op)]
    through = registry.through_model(f)._default_manager
    base = target.path[: -len(f.attname)]
    sources = through.filter(target_id__in=ids).values("source_id")
    return Q(**{f"{base}pk__in": sources})


def _multi_choice_q(target: Target, raw: str, aliases: dict[str, Any]) -> Q:
    f, path = target.field, target.path
    if not raw.strip():
        raise FieldValueError(_("A value is required."))
    chosen = target.ftype.from_text(f, raw) or []
    if connection.vendor == "postgresql":
        return Q(**{f"{path}__contains": chosen})
    # SQLite has no JSON containment: look for each value's JSON text in the stored array.
    name = f"_cf_text_{len(aliases)}"
    aliases[name] = Cast(path, models.TextField())
    q = Q()
    for value in chosen:
        q &= Q(**{f"{name}__contains": json.dumps(value)})
    return q


def _split(key: str) -> tuple[list[str], str]:
    parts = key.split("__")
    if len(parts) > 1 and parts[-1] in OPERATORS:
        return parts[:-1], parts[-1]
    return parts, "exact"


def _param_items(params: Mapping[str, Any]) -> Iterable[tuple[str, list[str]]]:
    if hasattr(params, "lists"):  # a QueryDict: a repeated parameter gives each of its values
        return params.lists()
    return ((k, v if isinstance(v, list) else [v]) for k, v in params.items())


def _unknown_filter(
    registry: SchemaRegistry, schema: EntitySchema, key: str, reason: str, access: Access | None
) -> str:
    parts = key.split("__")
    if len(parts) > 1 and all(parts):
        # ``name__between``: a field followed by something that is no operator
        field = resolve_path(registry, schema, parts[:-1], access)
        if not isinstance(field, str) and field.field.type != "link":
            return _("Unknown operator %(op)s in %(param)s; a %(type)s field takes: %(ops)s.") % {
                "op": parts[-1],
                "param": key,
                "type": field.field.type,
                "ops": ", ".join(field.ftype.filter_operators),
            }
    return _("Unknown filter %(param)s: %(reason)s") % {"param": key, "reason": reason}


def filter_records(
    registry: SchemaRegistry,
    schema: EntitySchema,
    queryset: models.QuerySet,
    params: Mapping[str, Any],
    access: Access | None = None,
) -> models.QuerySet:
    """Apply every non-reserved parameter as a filter (all must hold), then ``search``."""
    errors: dict[str, list[str]] = {}
    condition = Q()
    aliases: dict[str, Any] = {}
    for key, raws in _param_items(params):
        if key in RESERVED:
            continue
        parts, op = _split(key)
        target = (
            resolve_path(registry, schema, parts, access) if all(parts) else _("Empty field name.")
        )
        if isinstance(target, str):
            errors.setdefault(key, []).append(
                _unknown_filter(registry, schema, key, target, access)
            )
            continue
        allowed = target.ftype.filter_operators
        if op not in allowed:
            errors.setdefault(key, []).append(
                _(
                    "Operator %(op)s is not available for %(field)s (a %(type)s field); "
                    "use one of: %(ops)s."
                )
                % {
                    "op": op,
                    "field": target.field.slug,
                    "type": target.field.type,
                    "ops": ", ".join(allowed),
                }
            )
            continue
        for raw in raws:
            try:
                condition &= target.guarded(_filter_q(target, op, raw, aliases))
            except FieldValueError as error:
                errors.setdefault(key, []).append(error.message)
    search = _param(params, "search")
    if search is not None and search.strip():
        try:
            condition &= search_q(schema, search.strip(), access, registry=registry)
        except FieldValueError as error:
            errors.setdefault("search", []).append(error.message)
    if errors:
        raise ListParamsError(errors)
    if aliases:
        queryset = queryset.alias(**aliases)
    return queryset.filter(condition)


def search_q(
    schema: EntitySchema,
    text: str,
    access: Access | None = None,
    *,
    registry: SchemaRegistry | None = None,
) -> Q:
    """Records where any text-like field the user may read contains ``text`` (ignoring case),
    or whose linked record's title does (orders by their client's name); digits also match the
    record id. A link is searched only as its path would be filtered (`resolve_path`): the
    user may read the link, the target entity and its title field, and a linked record
    outside their row rules matches nothing."""
    registry = registry or get_registry()
    hidden = access.hidden(schema) if access is not None else frozenset()
    q = Q()
    found = False
    for f in schema.fields:
        if f.pk in hidden:
            continue
        if f.type in SEARCHED_TYPES:
            q |= Q(**{f"{f.attname}__icontains": text})
            found = True
        elif f.type == "link":
            linked = _title_target(registry, schema, f, access)
            if linked is not None:
                q |= linked.guarded(Q(**{f"{linked.path}__icontains": text}))
                found = True
    if not found:
        raise FieldValueError(
            _("%(entity)s has no text fields to search.") % {"entity": schema.slug}
        )
    if text.isdigit() and len(text) < 19:
        q |= Q(pk=int(text))
    return q


def _title_target(
    registry: SchemaRegistry, schema: EntitySchema, link: Field, access: Access | None
) -> Target | None:
    """The title field of ``link``'s target when it is text-like and the user may read it."""
    target = registry.entity_by_id(link.options["target_id"])
    title = next((g for g in target.fields if g.pk == target.entity.title_field_id), None)
    if title is None or title.type not in SEARCHED_TYPES:
        return None
    resolved = resolve_path(registry, schema, [link.slug, title.slug], access)
    return None if isinstance(resolved, str) else resolved


def _param(params: Mapping[str, Any], key: str) -> str | None:
    value = params.get(key)
    if isinstance(value, list):
        value = value[-1] if value else None
    return value


# -- sort --------------------------------------------------------------------------------------


def sort_records(
    registry: SchemaRegistry,
    schema: EntitySchema,
    queryset: models.QuerySet,
    sort: str | None,
    access: Access | None = None,
) -> models.QuerySet:
    """``-created_at,name,client__name``; the record id always breaks ties, so pages are
    stable. No sort: newest first (``-id``). A linked row the user may not read sorts as if
    its value were blank."""
    if sort is None or not sort.strip():
        return queryset.order_by("-id")
    ordering: list[Any] = []
    errors: list[str] = []
    has_id = False
    for item in (s.strip() for s in sort.split(",")):
        if not item:
            continue
        descending = item.startswith("-")
        key = item.lstrip("-+")
        target = (
            resolve_path(registry, schema, key.split("__"), access) if key else _("Empty name.")
        )
        if isinstance(target, str):
            errors.append(_("Cannot sort by %(key)s: %(reason)s") % {"key": key, "reason": target})
            continue
        if target.field.type in UNSORTABLE_TYPES:
            errors.append(
                _("Cannot sort by %(key)s: a %(type)s field has no order.")
                % {"key": key, "type": target.field.type}
            )
            continue
        path = target.path
        if target.field.type in ("link", "user"):
            path += "_id"
        has_id = has_id or path == "id"
        if target.guards:
            value = Case(When(target.guarded(Q()), then=F(path)), default=None)
            ordering.append(value.desc() if descending else value.asc())
        else:
            ordering.append(f"-{path}" if descending else path)
    if errors:
        raise ListParamsError({"sort": errors})
    if not ordering:
        return queryset.order_by("-id")
    if not has_id:
        ordering.append("id")
    return queryset.order_by(*ordering)


# -- expand ------------------------------------------------------------------------------------


def expand_fields(
    schema: EntitySchema, expand: str | None, access: Access | None = None
) -> list[Field]:
    """The link fields named by ``?expand=a,b`` (each once), or `ListParamsError`; the user
    must be able to read the link and the entity it leads to."""
    if expand is None or not expand.strip():
        return []
    found: list[Field] = []
    errors: list[str] = []
    hidden = access.hidden(schema) if access is not None else frozenset()
    links = [f.slug for f in schema.fields if f.type == "link" and f.pk not in hidden]
    for slug in (s.strip() for s in expand.split(",")):
        if not slug:
            continue
        f = schema.by_slug.get(slug)
        if f is None or f.type != "link":
            errors.append(
                _("%(name)s is not a link field of %(entity)s; links: %(links)s.")
                % {"name": slug, "entity": schema.slug, "links": ", ".join(links) or "-"}
            )
        elif f.pk in hidden:
            errors.append(hidden_message(schema, f))
        elif f not in found:
            if access is not None:
                refusal = read_refusal(
                    access, get_registry().entity_by_id(f.options["target_id"]), None
                )
                if refusal:
                    errors.append(refusal)
                    continue
            found.append(f)
    if errors:
        raise ListParamsError({"expand": errors})
    return found


def with_expanded(
    registry: SchemaRegistry,
    schema: EntitySchema,
    queryset: models.QuerySet,
    fields: list[Field],
    access: Access | None = None,
) -> models.QuerySet:
    """Load each expanded link's record with its own relations: one prefetch per link, in
    place of the join that otherwise brings only the linked row. A linked record the user may
    not read is not loaded (the link shows its id only)."""
    if not fields:
        return queryset
    expanded = {f.attname for f in fields}
    joined = [f.attname for f in schema.fields if f.type in ("link", "user")]
    kept = [name for name in joined if name not in expanded]
    queryset = queryset.select_related(None)
    if kept:
        queryset = queryset.select_related(*kept)
    prefetches = []
    for f in fields:
        target = registry.entity_by_id(f.options["target_id"])
        # Trashed targets too: the record still shows their id, so it shows them expanded.
        linked = target.model._base_manager.all()
        if access is not None:
            linked = access.visible(target, linked)
        linked = with_relations(registry, target, linked)
        prefetches.append(Prefetch(f.attname, queryset=linked))
    return queryset.prefetch_related(*prefetches)


def expanded_target(registry: SchemaRegistry, f: Field) -> EntitySchema:
    return registry.entity_by_id(f.options["target_id"])


# -- together ----------------------------------------------------------------------------------


def where_records(
    schema: EntitySchema,
    queryset: models.QuerySet,
    where: str | None,
    *,
    user: Any = None,
    access: Access | None = None,
) -> models.QuerySet:
    """``?where=<condition>``: a formula compiled into the WHERE clause (blank is false). It
    may read only what the user may read; linked rows outside their rules read as absent."""
    if where is None:
        return queryset
    from cardfile.formula_engine import FormulaError
    from cardfile.metamodel.access.definitions import check_for
    from cardfile.metamodel.formulas import check_condition, formula_check, formula_filter

    access = access or access_for(user)
    try:
        if access.unrestricted:
            checked = check_condition(formula_check(entity=schema, expression=where))
        else:  # errors name only what the user may read
            checked = check_condition(check_for(access, schema, where))
    except FormulaError as error:
        raise ListParamsError({"where": [error.message]}, formula=error.as_dict()) from None
    refusals = formula_read_refusals(access, schema, checked.dependencies)
    if refusals:
        raise ListParamsError({"where": refusals})
    guard = None if access.unrestricted else access.visible_ids
    return formula_filter(
        queryset,
        entity=schema,
        expression=where,
        user=user,
        branch=access.branch_id,
        guard=guard,
        checked=checked,
    )


def record_list(
    entity: str,
    params: Mapping[str, Any],
    *,
    in_trash: bool = False,
    expand: list[Field] | None = None,
    user: Any = None,
) -> models.QuerySet:
    """Records of ``entity`` that ``user`` may read matching the list parameters, sorted;
    trashed ones only with ``in_trash``. Pagination is the caller's: slice the result.
    ``user=None`` is the system itself and reads everything."""
    registry = get_registry()
    schema = registry.entity(entity)
    access = access_for(user)
    require(access, "read", schema)
    base = (
        schema.model._default_manager.filter(deleted_at__isnull=False)
        if in_trash
        else schema.objects()
    )
    queryset = with_relations(registry, schema, access.visible(schema, base))
    errors: dict[str, list[str]] = {}
    try:
        queryset = filter_records(registry, schema, queryset, params, access)
    except ListParamsError as error:
        errors.update(error.errors)
    try:
        queryset = sort_records(registry, schema, queryset, _param(params, "sort"), access)
    except ListParamsError as error:
        errors.update(error.errors)
    if errors:
        raise ListParamsError(errors)
    queryset = where_records(schema, queryset, _param(params, "where"), user=user, access=access)
    return with_expanded(registry, schema, queryset, expand or [], access)


def record_detail(
    entity: str,
    record_id: int,
    *,
    expand: list[Field] | None = None,
    user: Any = None,
    written: bool = False,
) -> Any:
    """One live record ``user`` may read, with its expanded links, or None. A record the user
    has just ``written`` is read even if the write took it out of their row rules."""
    registry = get_registry()
    schema = registry.entity(entity)
    access = access_for(user)
    require(access, "read", schema)
    queryset = schema.objects() if written else access.visible(schema, schema.objects())
    queryset = queryset.filter(pk=record_id)
    queryset = with_relations(registry, schema, queryset)
    return with_expanded(registry, schema, queryset, expand or [], access).first()
