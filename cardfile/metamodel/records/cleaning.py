"""Input of the record service -> a write plan, or every problem of the call at once.

Values are validated in Python by their field types; the checks that need the database (unique
values, ids of linked records and users) are collected over all rows of the call and run as one
query per field, so a bulk create of 1,000 rows with lines costs as many queries as one record.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from cardfile.formula_engine import FormulaError
from cardfile.metamodel.fields import FieldValueError, get_field_type
from cardfile.metamodel.models import Field
from cardfile.metamodel.schema.dynamic import SYSTEM_FIELDS, EntitySchema, SchemaRegistry

from .exceptions import RecordValidationError
from .statuses import status_clean

RELATION_TYPES = frozenset({"link", "multi_link", "user"})
# An integer field of a line entity with this slug keeps the order of the lines.
POSITION_SLUG = "position"


@dataclass(eq=False)
class RowPlan:
    """One record to create (``obj`` is None) or update, as cleaned from its input."""

    schema: EntitySchema
    data: dict[str, Any]
    obj: models.Model | None = None
    # Error keys start with ``prefix`` ("lines[2]."); messages with ``context`` ("Line 2").
    prefix: str = ""
    context: tuple[str, ...] = ()
    parent: RowPlan | None = None
    parent_field: Field | None = None
    # 1-based row number in a bulk create
    number: int | None = None
    # field pk -> new internal value: on create every value to store, on update the changed ones
    values: dict[int, Any] = field(default_factory=dict)
    before: dict[int, Any] = field(default_factory=dict)
    lines: dict[int, LinesPlan] = field(default_factory=dict)
    # Fixed when cleaned: the service later sets ``obj`` of a new row to the inserted record.
    creating: bool = True

    def lines_changed(self) -> bool:
        return any(plan.changed() for plan in self.lines.values())

    def has_changes(self) -> bool:
        return bool(self.values) or self.lines_changed()


@dataclass(eq=False)
class LinesPlan:
    """The lines of one child-table field after a write: kept (new or existing) and removed."""

    field: Field
    schema: EntitySchema
    keep: list[RowPlan] = field(default_factory=list)
    removed: list[models.Model] = field(default_factory=list)
    # line id -> its stored values, taken before the removed lines are deleted (for history)
    removed_values: dict[int, dict[str, Any]] = field(default_factory=dict)

    def changed(self) -> bool:
        return bool(self.removed) or any(r.creating or r.has_changes() for r in self.keep)


def position_field(schema: EntitySchema) -> Field | None:
    found = schema.by_slug.get(POSITION_SLUG)
    return found if found is not None and found.type == "integer" else None


def column_value(f: Field, value: Any) -> Any:
    """The value as the field's (first) column holds it: what unique constraints compare."""
    if f.type == "money" and value is not None:
        return value[0]
    return value


def same_value(f: Field, old: Any, new: Any) -> bool:
    if f.type == "multi_link":
        return list(old or []) == list(new or [])
    ftype = get_field_type(f.type)
    return ftype.serialize(f, old) == ftype.serialize(f, new)


def multi_link_ids(
    registry: SchemaRegistry, f: Field, source_ids: list[int]
) -> dict[int, list[int]]:
    """source id -> linked ids in their order, for one multi_link field, in one query."""
    result: dict[int, list[int]] = {pk: [] for pk in source_ids}
    rows = (
        registry.through_model(f)
        ._default_manager.filter(source_id__in=source_ids)
        .order_by("position", "id")
        .values_list("source_id", "target_id")
    )
    for source_id, target_id in rows:
        result[source_id].append(target_id)
    return result


class Cleaner:
    """Validates rows of one call and collects every error, keyed as the API reports them."""

    def __init__(self, registry: SchemaRegistry, *, user: Any = None, access: Any = None) -> None:
        self.registry = registry
        self.user = user
        # the writer's `Access`: hidden and read-only fields are refused (None: the system)
        self.access = None if access is None or access.unrestricted else access
        self.errors: dict[str, list[str]] = {}
        self.error_rows: set[int] = set()
        # (entity pk, field pk) -> [(row, column value)] for the unique check
        self._unique: defaultdict[tuple[int, int], list[tuple[RowPlan, Any]]] = defaultdict(list)
        # field pk -> [(row, ids)] for the existence check of linked records and users
        self._links: defaultdict[int, list[tuple[RowPlan, list[int]]]] = defaultdict(list)
        # entity pk -> ids of lines removed in this call (their unique values become free)
        self.freed: defaultdict[int, set[int]] = defaultdict(set)
        self._fields: dict[int, Field] = {}

    # -- errors --------------------------------------------------------------------------------

    def add(self, row: RowPlan, key: str, message: str, f: Field | None = None) -> None:
        if row.context:
            what = ", ".join([*row.context, f.label]) if f is not None else ", ".join(row.context)
            message = _("%(where)s: %(message)s") % {"where": what, "message": message}
        self.errors.setdefault(row.prefix + key, []).append(message)
        top = row
        while top.parent is not None:
            top = top.parent
        if top.number is not None:
            self.error_rows.add(top.number)

    def add_error(self, key: str, message: str) -> None:
        self.errors.setdefault(key, []).append(message)

    def raise_if_errors(self, *, bulk: bool = False) -> None:
        if not self.errors:
            return
        if bulk and self.error_rows:
            rows = sorted(self.error_rows)
            message = ngettext(
                "Row %(rows)s is not valid; nothing was saved.",
                "Rows %(rows)s are not valid; nothing was saved.",
                len(rows),
            ) % {"rows": ", ".join(str(n) for n in rows)}
            raise RecordValidationError(self.errors, rows=rows, message=message)
        raise RecordValidationError(self.errors)

    # -- rows ----------------------------------------------------------------------------------

    def clean(self, row: RowPlan) -> RowPlan:
        schema, data = row.schema, row.data
        row.creating = row.obj is None
        if not isinstance(data, dict):
            self.add(
                row, "", _("Expected an object of field values, got %(value)r.") % {"value": data}
            )
            return row
        unknown = []
        hidden = self.access.hidden(schema) if self.access is not None else frozenset()
        for key, raw in data.items():
            if key in SYSTEM_FIELDS:
                continue
            f = schema.by_slug.get(key)
            if f is None:
                unknown.append(key)
                continue
            self._fields[f.pk] = f
            ftype = get_field_type(f.type)
            if not ftype.writable:
                self.add(row, key, _("This value is assigned automatically; leave it out."), f)
                continue
            refusal = self._write_refusal(row, f, raw)
            if refusal:
                self.add(row, key, refusal, f)
                continue
            if f.type == "child_table":
                self._clean_lines(row, f, raw)
                continue
            try:
                value = ftype.to_internal(f, raw)
            except FieldValueError as error:
                self.add(row, key, error.message, f)
                continue
            if f.type == "multi_link":
                value = value or []
            if row.obj is not None:
                old = self._old_value(row, f)
                if same_value(f, old, value):
                    continue
                row.before[f.pk] = old
            row.values[f.pk] = value
        for key in unknown:
            self.add(
                row,
                key,
                _("Unknown field %(field)s; %(entity)s has: %(fields)s.")
                % {
                    "field": key,
                    "entity": schema.slug,
                    "fields": ", ".join(f.slug for f in schema.fields if f.pk not in hidden) or "-",
                },
            )
        if row.creating:
            self._apply_defaults(row)
        status_clean(self, row)
        self._check_required(row)
        self._defer_checks(row)
        return row

    def _write_refusal(self, row: RowPlan, f: Field, raw: Any) -> str | None:
        """Why the writer may not write ``raw`` into ``f``. A hidden field is refused always
        (an answer that depended on its value would tell it); a read-only one only when the
        value would change, so a form may send back what it showed."""
        if self.access is None:
            return None
        from cardfile.metamodel.access import HIDDEN, write_refusal

        refusal = write_refusal(self.access, row.schema, f)
        if refusal is None or self.access.entity(row.schema).field_rule(f.pk) == HIDDEN:
            return refusal
        if f.type == "child_table":
            return refusal
        try:
            value = get_field_type(f.type).to_internal(f, raw)
        except FieldValueError:
            return refusal
        if row.obj is None:
            return None if value in (None, [], "") else refusal
        return None if same_value(f, self._old_value(row, f), value) else refusal

    def _old_value(self, row: RowPlan, f: Field) -> Any:
        if f.type == "multi_link":
            return multi_link_ids(self.registry, f, [row.obj.pk])[row.obj.pk]
        return get_field_type(f.type).get_value(f, row.obj)

    def _apply_defaults(self, row: RowPlan) -> None:
        for f in row.schema.fields:
            if f.default is None or f.pk in row.values or f.slug in row.data:
                continue
            ftype = get_field_type(f.type)
            if not ftype.writable or not ftype.has_column:
                continue
            try:
                row.values[f.pk] = ftype.to_internal(f, f.default)
            except FieldValueError:
                continue  # a default the field no longer accepts; "required" speaks if needed
        formula_defaults = [
            f
            for f in row.schema.fields
            if f.default_formula and f.pk not in row.values and f.slug not in row.data
        ]
        if not formula_defaults:
            return
        # imported here: the formula package reads records through this package
        from cardfile.metamodel.formulas.rules import default_value

        for f in formula_defaults:
            try:
                value = default_value(self.registry, row.schema, f, row.values, user=self.user)
            except (FieldValueError, FormulaError) as error:
                self.add(row, f.slug, error.message, f)
                continue
            if value is not None:
                row.values[f.pk] = value

    def _check_required(self, row: RowPlan) -> None:
        for f in row.schema.fields:
            if not f.required or row.prefix + f.slug in self.errors:
                continue
            ftype = get_field_type(f.type)
            if not ftype.writable:
                continue
            if f.type == "child_table":
                plan = row.lines.get(f.pk)
                if (plan is not None and not plan.keep) or (plan is None and row.creating):
                    self.add(row, f.slug, _("At least one line is required."), f)
                continue
            if row.creating:
                if ftype.is_blank(row.values.get(f.pk)):
                    self.add(row, f.slug, _("This field is required."), f)
            elif f.pk in row.values and ftype.is_blank(row.values[f.pk]):
                self.add(row, f.slug, _("This field is required; it cannot be emptied."), f)

    def _defer_checks(self, row: RowPlan) -> None:
        for f in row.schema.fields:
            if f.pk not in row.values or row.prefix + f.slug in self.errors:
                continue
            value = row.values[f.pk]
            if value is None or value == []:
                continue
            self._fields[f.pk] = f
            if f.unique and get_field_type(f.type).has_column:
                self._unique[(row.schema.entity.pk, f.pk)].append((row, column_value(f, value)))
            if f.type in RELATION_TYPES:
                ids = list(value) if f.type == "multi_link" else [value]
                if f.type == "multi_link" and row.obj is not None:
                    ids = [i for i in ids if i not in (row.before.get(f.pk) or [])]
                if ids:
                    self._links[f.pk].append((row, ids))

    def _clean_lines(self, row: RowPlan, f: Field, raw: Any) -> None:
        child = self.registry.entity_by_id(f.options["target_id"])
        if raw is None:
            raw = []
        if not isinstance(raw, list):
            self.add(row, f.slug, _("Expected a list of lines, got %(value)r.") % {"value": raw}, f)
            return
        existing: dict[int, models.Model] = {}
        if row.obj is not None:
            existing = {
                line.pk: line
                for line in child.model._default_manager.filter(
                    **{f"{f.attname}_id": row.obj.pk}
                ).order_by("id")
            }
        plan = LinesPlan(field=f, schema=child)
        kept: set[int] = set()
        ordering = position_field(child)
        parent_label = self.registry.entity_by_id(f.entity_id).entity.label
        for number, line in enumerate(raw, start=1):
            prefix = f"{row.prefix}{f.slug}[{number}]."
            context = (*row.context, _("Line %(n)d") % {"n": number})
            sub = RowPlan(
                schema=child,
                data=line,
                prefix=prefix,
                context=context,
                parent=row,
                parent_field=f,
            )
            if not isinstance(line, dict):
                self.add(
                    sub,
                    "",
                    _("Expected an object of field values, got %(value)r.") % {"value": line},
                )
                continue
            if line.get("id") is not None:
                line_id = line["id"]
                found = existing.get(line_id) if isinstance(line_id, int) else None
                if found is None or line_id in kept:
                    self.add(
                        sub,
                        "id",
                        _("#%(id)s is not a line of this %(parent)s (give no id for a new line).")
                        % {"id": line_id, "parent": parent_label},
                    )
                    continue
                kept.add(line_id)
                sub.obj = found
            if ordering is not None and ordering.slug not in line:
                sub.data = {**line, ordering.slug: number}
            plan.keep.append(self.clean(sub))
        plan.removed = [line for pk, line in existing.items() if pk not in kept]
        self.freed[child.entity.pk].update(line.pk for line in plan.removed)
        row.lines[f.pk] = plan

    # -- checks that need the database ---------------------------------------------------------

    def check_database(self) -> None:
        """One query per unique field and per relation field, over all rows of the call."""
        for (entity_pk, field_pk), entries in self._unique.items():
            self._check_unique(
                self.registry.entity_by_id(entity_pk), self._fields[field_pk], entries
            )
        for field_pk, entries in self._links.items():
            self._check_links(self._fields[field_pk], entries)

    def _check_unique(
        self, schema: EntitySchema, f: Field, entries: list[tuple[RowPlan, Any]]
    ) -> None:
        values = {value for _row, value in entries}
        taken: dict[Any, int] = {}
        query = (
            schema.objects()
            .filter(**{f"{f.attname}__in": values})
            .exclude(pk__in=self.freed.get(schema.entity.pk, ()))
            .order_by("id")
            .values_list(f.attname, "pk")
        )
        for value, pk in query:
            taken.setdefault(value, pk)
        first_row: dict[Any, RowPlan] = {}
        for row, value in entries:
            owner = taken.get(value)
            if owner is not None and (row.creating or owner != row.obj.pk):
                self.add(row, f.slug, unique_message(f, value, owner), f)
            elif value in first_row:
                self.add(
                    row,
                    f.slug,
                    _("The same value is given twice (%(other)s); it must be unique.")
                    % {"other": ", ".join(first_row[value].context) or _("above")},
                    f,
                )
            else:
                first_row[value] = row

    def _check_links(self, f: Field, entries: list[tuple[RowPlan, list[int]]]) -> None:
        wanted = {i for _row, ids in entries for i in ids}
        if f.type == "user":
            found = set(
                get_user_model()
                ._default_manager.filter(pk__in=wanted, is_active=True)
                .values_list("pk", flat=True)
            )
        else:
            target = self.registry.entity_by_id(f.options["target_id"])
            found = set(target.objects().filter(pk__in=wanted).values_list("pk", flat=True))
        for row, ids in entries:
            missing = [i for i in ids if i not in found]
            if not missing:
                continue
            text = ", ".join(str(i) for i in missing)
            if f.type == "user":
                message = ngettext(
                    "There is no active user with id %(ids)s.",
                    "There are no active users with ids %(ids)s.",
                    len(missing),
                ) % {"ids": text}
            else:
                message = ngettext(
                    "There is no %(entity)s with id %(ids)s (it does not exist or is in the "
                    "trash).",
                    "There are no %(entity)s records with ids %(ids)s (they do not exist or are "
                    "in the trash).",
                    len(missing),
                ) % {"ids": text, "entity": target.entity.label}
            self.add(row, f.slug, message, f)


def unique_message(f: Field, value: Any, owner: int | None) -> str:
    shown = str(value) if f.type == "money" else get_field_type(f.type).to_text(f, value)
    if owner is None:
        return _("%(value)s is already used by another record; it must be unique.") % {
            "value": shown
        }
    return _("%(value)s is already used by record #%(id)s; it must be unique.") % {
        "value": shown,
        "id": owner,
    }
