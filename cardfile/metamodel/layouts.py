"""Record card layouts: tabs of sections of columns of fields, saved per entity.

The shape (see `CardLayout`)::

    {"tabs": [{"label": "Main", "sections": [{"label": "Client", "columns": [
        [{"field": 57}, {"field": 58, "visible_if": "type = \"company\""}], [...]]}]}]}

A saved layout is read against the live schema: fields deleted since are dropped, fields added
since are appended to the last section, so a card always shows every field exactly once.
"""

from __future__ import annotations

import copy
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from cardfile.core.exceptions import InvalidInput, Problems
from cardfile.core.models import AuditLog
from cardfile.core.services import audit_log_record
from cardfile.formula_engine import FormulaError
from cardfile.metamodel.access.definitions import check_for, require_configure
from cardfile.metamodel.access.enforce import formula_read_refusals
from cardfile.metamodel.formulas import check_condition, formula_check
from cardfile.metamodel.formulas.draft import DraftRow
from cardfile.metamodel.models import CardLayout
from cardfile.metamodel.schema.dynamic import EntitySchema, get_registry

MAX_TABS = 20
MAX_SECTIONS = 50
MAX_COLUMNS = 4
MAX_LABEL = 200
MAX_FORMULA = 2000


class LayoutError(InvalidInput):
    """A card layout that cannot be saved; ``errors`` keyed by path
    (``tabs[0].sections[1].columns[0][2].visible_if``)."""

    code = "invalid_layout"


def _item(f: Any) -> dict[str, Any]:
    return {"field": f.pk}


def default_layout(schema: EntitySchema) -> dict[str, Any]:
    """One tab, one section with the fields in order over two columns; each child table full
    width in a section of its own."""
    plain = [f for f in schema.fields if f.type != "child_table"]
    half = (len(plain) + 1) // 2
    sections: list[dict[str, Any]] = [
        {
            "label": "",
            "columns": [[_item(f) for f in plain[:half]], [_item(f) for f in plain[half:]]],
        }
    ]
    sections.extend({"label": f.label, "columns": [[_item(f)]]} for f in schema.child_fields)
    return {"tabs": [{"label": _("Main"), "sections": sections}]}


def _saved(schema: EntitySchema) -> dict[str, Any] | None:
    row = CardLayout.objects.filter(entity_id=schema.entity.pk).only("layout").first()
    if row is None or not isinstance(row.layout, dict) or not row.layout.get("tabs"):
        return None
    return row.layout


def card_layout_get(schema: EntitySchema) -> dict[str, Any]:
    """The entity's card layout as it applies now (the saved one adjusted to the live fields,
    or the default)."""
    saved = _saved(schema)
    if saved is None:
        return default_layout(schema)
    layout = copy.deepcopy(saved)
    live = {f.pk for f in schema.fields}
    seen: set[int] = set()
    for tab in layout["tabs"]:
        for section in tab.get("sections", []):
            section["columns"] = [
                [
                    item
                    for item in column
                    if item.get("field") in live
                    and item["field"] not in seen
                    and not seen.add(item["field"])
                ]
                for column in section.get("columns", [])
            ]
    missing = [f for f in schema.fields if f.pk not in seen]
    if missing:
        tab = layout["tabs"][-1]
        if not tab.get("sections"):
            tab["sections"] = [{"label": "", "columns": [[]]}]
        section = tab["sections"][-1]
        if not section["columns"]:
            section["columns"] = [[]]
        section["columns"][-1].extend(_item(f) for f in missing)
    return layout


def layout_conditions(layout: dict[str, Any]) -> dict[int, str]:
    """Field id -> its ``visible_if``, for the fields ``layout`` shows on a condition."""
    return {
        item["field"]: item["visible_if"]
        for tab in layout.get("tabs", [])
        for section in tab.get("sections", [])
        for column in section.get("columns", [])
        for item in column
        if item.get("visible_if")
    }


def layout_visibility(
    schema: EntitySchema, conditions: dict[int, str], row: DraftRow
) -> dict[int, bool]:
    """Field id -> whether it shows on ``row`` (a record as formulas see it, typed values of a
    draft included): a field shows unless its condition is FALSE. A condition that no longer
    checks (a field it reads was deleted since) shows its field rather than hide it for good."""
    shown = {}
    for field_id, expression in conditions.items():
        try:
            checked = check_condition(formula_check(entity=schema, expression=expression))
            shown[field_id] = row.evaluate(checked) is not False
        except FormulaError:
            shown[field_id] = True
    return shown


def _label_problem(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and len(value) <= MAX_LABEL):
        return None
    return _("Give a label of at most %(max)s characters.") % {"max": MAX_LABEL}


def _check_visible_if(schema: EntitySchema, access: Any, expression: str) -> list[str]:
    if access.is_owner:
        checked = formula_check(entity=schema, expression=expression)
    else:
        checked = check_for(access, schema, expression)
        refusals = formula_read_refusals(access, schema, checked.dependencies)
        if refusals:
            return refusals
    check_condition(checked)
    return []


def layout_validate(schema: EntitySchema, layout: Any, access: Any) -> dict[str, Any]:
    """``layout`` checked and normalised (only known keys kept); `LayoutError` with every
    problem by path."""
    problems = Problems(LayoutError)
    if not isinstance(layout, dict) or not isinstance(layout.get("tabs"), list):
        raise LayoutError({"tabs": [_('Give the layout as {"tabs": [...]}.')]})
    tabs = layout["tabs"]
    if not tabs:
        problems.add("tabs", _("A card has at least one tab."))
    if len(tabs) > MAX_TABS:
        problems.add("tabs", _("A card has at most %(max)s tabs.") % {"max": MAX_TABS})
    fields = {f.pk: f for f in schema.fields}
    seen: dict[int, str] = {}
    clean_tabs: list[dict[str, Any]] = []
    for t, tab in enumerate(tabs[:MAX_TABS]):
        tkey = f"tabs[{t}]"
        if not isinstance(tab, dict):
            problems.add(tkey, _('Give a tab as {"label", "sections"}.'))
            continue
        if problem := _label_problem(tab.get("label")):
            problems.add(f"{tkey}.label", problem)
        sections = tab.get("sections")
        if not isinstance(sections, list):
            problems.add(f"{tkey}.sections", _("Give the tab's sections as a list."))
            continue
        if len(sections) > MAX_SECTIONS:
            problems.add(
                f"{tkey}.sections",
                _("A tab has at most %(max)s sections.") % {"max": MAX_SECTIONS},
            )
        clean_sections: list[dict[str, Any]] = []
        for s, section in enumerate(sections[:MAX_SECTIONS]):
            skey = f"{tkey}.sections[{s}]"
            if not isinstance(section, dict):
                problems.add(skey, _('Give a section as {"label", "columns"}.'))
                continue
            if problem := _label_problem(section.get("label")):
                problems.add(f"{skey}.label", problem)
            columns = section.get("columns")
            if not isinstance(columns, list) or not 1 <= len(columns) <= MAX_COLUMNS:
                problems.add(
                    f"{skey}.columns",
                    _("Give the section's columns as a list of 1 to %(max)s lists.")
                    % {"max": MAX_COLUMNS},
                )
                continue
            clean_columns: list[list[dict[str, Any]]] = []
            for c, column in enumerate(columns):
                ckey = f"{skey}.columns[{c}]"
                if not isinstance(column, list):
                    problems.add(ckey, _("Give a column as a list of fields."))
                    continue
                clean_column: list[dict[str, Any]] = []
                for i, item in enumerate(column):
                    ikey = f"{ckey}[{i}]"
                    if not isinstance(item, dict) or set(item) - {"field", "visible_if"}:
                        problems.add(ikey, _('Give a field as {"field": <id>, "visible_if"?}.'))
                        continue
                    field_id = item.get("field")
                    if isinstance(field_id, bool) or not isinstance(field_id, int):
                        problems.add(f"{ikey}.field", _("Expected a field id."))
                        continue
                    if field_id not in fields:
                        problems.add(
                            f"{ikey}.field",
                            _("Entity %(entity)s has no field #%(id)s.")
                            % {"entity": schema.slug, "id": field_id},
                        )
                        continue
                    if field_id in seen:
                        problems.add(
                            f"{ikey}.field",
                            _("Field %(field)s is already placed at %(where)s.")
                            % {"field": fields[field_id].slug, "where": seen[field_id]},
                        )
                        continue
                    seen[field_id] = ikey
                    clean_item: dict[str, Any] = {"field": field_id}
                    visible_if = item.get("visible_if")
                    if visible_if not in (None, ""):
                        vkey = f"{ikey}.visible_if"
                        if not isinstance(visible_if, str) or len(visible_if) > MAX_FORMULA:
                            problems.add(
                                vkey,
                                _("Give the condition as a formula of at most %(max)s characters.")
                                % {"max": MAX_FORMULA},
                            )
                            continue
                        try:
                            refusals = _check_visible_if(schema, access, visible_if)
                        except FormulaError as error:
                            problems.add(vkey, error.message)
                            if problems.formula is None:
                                problems.formula = error.as_dict()
                            continue
                        for refusal in refusals:
                            problems.add(vkey, refusal)
                        clean_item["visible_if"] = visible_if
                    clean_column.append(clean_item)
                clean_columns.append(clean_column)
            clean_sections.append({"label": section.get("label") or "", "columns": clean_columns})
        clean_tabs.append({"label": tab.get("label") or "", "sections": clean_sections})
    problems.raise_any()
    return {"tabs": clean_tabs}


def _entity_access(user: Any, entity: str) -> tuple[Any, EntitySchema]:
    access = require_configure(user, entity)
    return access, get_registry().entity(entity)


@transaction.atomic
def card_layout_set(*, entity: str, layout: dict[str, Any], user: Any) -> CardLayout:
    """Save ``entity``'s card layout (owners, or those who configure the entity)."""
    access, schema = _entity_access(user, entity)
    clean = layout_validate(schema, layout, access)
    row = CardLayout.objects.select_for_update().filter(entity_id=schema.entity.pk).first()
    before = {"layout": row.layout} if row is not None else None
    if row is None:
        row = CardLayout.objects.create(entity=schema.entity, layout=clean)
        action = AuditLog.Action.CREATE
    else:
        row.layout = clean
        row.save(update_fields=["layout", "updated_at"])
        action = AuditLog.Action.UPDATE
    audit_log_record(
        user=user,
        action=action,
        object_type="card_layout",
        object_id=schema.entity.pk,
        object_repr=schema.slug,
        before=before,
        after={"layout": clean},
    )
    return row


@transaction.atomic
def card_layout_reset(*, entity: str, user: Any) -> None:
    """Back to the default card (owners, or those who configure the entity)."""
    _access, schema = _entity_access(user, entity)
    row = CardLayout.objects.filter(entity_id=schema.entity.pk).first()
    if row is None:
        return
    before = {"layout": row.layout}
    row.delete()
    audit_log_record(
        user=user,
        action=AuditLog.Action.DELETE,
        object_type="card_layout",
        object_id=schema.entity.pk,
        object_repr=schema.slug,
        before=before,
    )
