"""A record's card built from the entity's card layout for one user: tabs of sections of
field widgets, what the user may change, and which fields the layout's ``visible_if`` shows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _

from cardfile.core.exceptions import CardfileError
from cardfile.metamodel.access import Access, access_for
from cardfile.metamodel.formulas.draft import DraftRow, draft_open
from cardfile.metamodel.layouts import card_layout_get, layout_conditions, layout_visibility
from cardfile.metamodel.models import Field
from cardfile.metamodel.records import record_to_dict
from cardfile.metamodel.schema.dynamic import EntitySchema, SchemaRegistry
from cardfile.web.ui.forms import FormState, form_from_record

from .widgets import FieldView, FieldWidgets, LinesView


@dataclass
class Card:
    """Everything the card template needs."""

    schema: EntitySchema
    obj: Any
    state: FormState
    tabs: list[dict[str, Any]]
    editable: bool
    can_delete: bool
    errors: list[str]
    title: str
    modal: bool = False
    link_for: str = ""
    conflict: list[dict[str, str]] | None = None
    conflict_version: Any = None

    @property
    def action(self) -> str:
        if self.obj is None:
            return reverse("ui:record_new", args=[self.schema.slug])
        return reverse("ui:record_card", args=[self.schema.slug, self.obj.pk])

    @property
    def draft_url(self) -> str:
        if self.obj is None:
            return reverse("ui:record_draft_new", args=[self.schema.slug])
        return reverse("ui:record_draft", args=[self.schema.slug, self.obj.pk])


class CardBuilder:
    """Builds the card of one record (``obj`` None: a new one) for one user.

    ``draft`` makes the record as formulas see it (the stored record, or the values of the
    form) on which the layout's ``visible_if`` conditions are evaluated; it is called only when
    the layout has conditions. Without one, every field shows.
    """

    def __init__(
        self,
        request: HttpRequest,
        registry: SchemaRegistry,
        schema: EntitySchema,
        obj: Any,
        state: FormState,
        errors: dict[str, list[str]] | None = None,
        draft: Callable[[], DraftRow | None] | None = None,
        *,
        modal: bool = False,
    ) -> None:
        self.registry = registry
        self.schema = schema
        self.obj = obj
        self.state = state
        self.access = access_for(request.user)
        self._draft = draft
        if obj is None:
            self.editable = self.access.can("create", schema)
        else:
            self.editable = self._row_allows("update")
        self.widgets = FieldWidgets(
            registry,
            schema,
            obj,
            state,
            dict(errors or {}),
            self.access,
            editable=self.editable,
            modal=modal,
        )
        self.titles = self.widgets.titles

    def _row_allows(self, operation: str) -> bool:
        if not self.access.can(operation, self.schema):
            return False
        if self.access.unrestricted:
            return True
        rows = self.schema.model._base_manager.filter(pk=self.obj.pk)
        return self.access.visible(self.schema, rows, operation).exists()

    def tabs(self) -> list[dict[str, Any]]:
        hidden = self.access.hidden(self.schema)
        by_id = {f.pk: f for f in self.schema.fields}
        self.widgets.load_titles()
        layout = card_layout_get(self.schema)
        shown = card_visibility(self.schema, self.access, layout, self._draft)
        tabs = []
        for number, tab in enumerate(layout["tabs"]):
            sections = []
            for section in tab.get("sections", []):
                columns = []
                for column in section.get("columns", []):
                    items = []
                    for item in column:
                        f = by_id.get(item.get("field"))
                        if f is None or f.pk in hidden:
                            continue
                        items.append(self.item(f, shown=shown.get(f.pk, True)))
                    columns.append(items)
                if any(columns):
                    sections.append(
                        {
                            "label": section.get("label") or "",
                            "columns": columns,
                            "shown": any(view.shown for items in columns for view in items),
                        }
                    )
            if sections:
                tabs.append(
                    {
                        "id": f"cf-tab-{number}",
                        "label": tab.get("label"),
                        "sections": sections,
                        "shown": any(section["shown"] for section in sections),
                    }
                )
        active = next((tab for tab in tabs if tab["shown"]), tabs[0] if tabs else None)
        for tab in tabs:
            tab["active"] = tab is active
        return tabs

    def item(self, f: Field, *, shown: bool = True) -> FieldView | LinesView:
        used = set(self.widgets.used)
        view = self.widgets.item(f)
        if not shown:
            # rendered hidden (typing may show it); its errors are listed above the form
            view.shown = False
            self.widgets.used = used
            _clear_errors(view)
        return view

    def build(self, **extra: Any) -> Card:
        tabs = self.tabs()
        leftover = [
            f"{self.schema.by_slug[key].label}: {message}"
            if key in self.schema.by_slug
            else message
            for key, messages_ in self.widgets.errors.items()
            if key not in self.widgets.used
            for message in messages_
        ]
        title = (
            self.titles.title(self.schema, self.obj)
            if self.obj is not None
            else _("New %(entity)s") % {"entity": self.schema.entity.label}
        )
        can_delete = self.obj is not None and self._row_allows("delete")
        return Card(
            schema=self.schema,
            obj=self.obj,
            state=self.state,
            tabs=tabs,
            editable=self.editable,
            can_delete=can_delete,
            errors=leftover,
            title=title,
            **extra,
        )


def _clear_errors(view: FieldView | LinesView) -> None:
    view.errors = []
    if isinstance(view, LinesView):
        for row in view.rows:
            row.errors = []
            for cell in row.cells:
                cell.errors = []


def card_visibility(
    schema: EntitySchema,
    access: Access,
    layout: dict[str, Any],
    draft: Callable[[], DraftRow | None] | None,
) -> dict[int, bool]:
    """Field id -> shown, for the fields of ``layout`` the user may see that show on a
    condition, evaluated on the record ``draft`` makes (none: every field shows)."""
    hidden = access.hidden(schema)
    conditions = {k: v for k, v in layout_conditions(layout).items() if k not in hidden}
    if not conditions or draft is None:
        return {}
    row = draft()
    if row is None:
        return {}
    return layout_visibility(schema, conditions, row)


def draft_of(user: Any, schema: EntitySchema, obj: Any, data: dict[str, Any]) -> DraftRow | None:
    """The record (``obj`` None: a new one) with ``data`` typed over it, as formulas see it;
    None where the user may not read it that way."""
    try:
        return draft_open(
            entity=schema,
            values=data,
            user=user,
            record_id=obj.pk if obj is not None else None,
        )
    except CardfileError:
        return None


def stored_state(
    registry: SchemaRegistry, schema: EntitySchema, obj: Any, access: Access
) -> FormState:
    hide = None if access.unrestricted else access.hidden
    return form_from_record(
        registry, schema, record_to_dict(schema, obj, registry=registry, hide=hide)
    )


def new_defaults(schema: EntitySchema) -> dict[str, Any]:
    """A new record's values before anything is typed (the fields' defaults)."""
    return {f.slug: f.default for f in schema.fields if f.default is not None}


def new_state(registry: SchemaRegistry, schema: EntitySchema) -> FormState:
    state = form_from_record(registry, schema, new_defaults(schema))
    for f in schema.child_fields:
        state.lines.setdefault(f.slug, [])
    return state
