"""The inputs of a card: one per field (or text where the user may not change it) and an
editable grid per child table, filled from the form state, with their errors in place."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.urls import reverse
from django.utils.translation import get_language

from cardfile.metamodel.access import Access
from cardfile.metamodel.fields import get_field_type
from cardfile.metamodel.fields.computed import COMPUTED_TYPES
from cardfile.metamodel.models import Field
from cardfile.metamodel.records.statuses import allowed_transitions
from cardfile.metamodel.schema.dynamic import EntitySchema, SchemaRegistry
from cardfile.web.ui.display import (
    LEFT_TO_RIGHT_TYPES,
    Titles,
    choice_badge,
    choices_of,
    stored_text,
)
from cardfile.web.ui.forms import (
    FILE_TYPES,
    FormState,
    LineState,
    field_name,
    input_value,
    line_fields,
    line_prefix,
)

_INPUT_KINDS = {
    "text": "text",
    "email": "email",
    "url": "url",
    "phone": "tel",
    "long_text": "textarea",
    "json": "textarea",
    "integer": "number",
    "decimal": "number",
    "percent": "number",
    "money": "money",
    "duration": "text",
    "boolean": "checkbox",
    "date": "date",
    "datetime": "datetime-local",
    "choice": "select",
    "status": "status",
    "multi_choice": "checkboxes",
    "link": "link",
    "multi_link": "multi_link",
    "user": "user",
    "file": "file",
    "image": "file",
}


@dataclass
class FieldView:
    """One field of the card: an input, or text where the user may not change it."""

    field: Field
    name: str
    kind: str
    editable: bool
    value: Any = ""
    display: str = ""
    errors: list[str] = field(default_factory=list)
    currency: str = ""
    label_text: str = ""
    choices: list[dict[str, Any]] = field(default_factory=list)
    items: list[tuple[str, str]] = field(default_factory=list)
    users: list[tuple[str, str]] = field(default_factory=list)
    files: list[dict[str, str]] = field(default_factory=list)
    computed_id: str = ""
    colour: str = ""  # the chosen choice's checked colour (`choice_colour`)
    entity: str = ""
    target: str = ""
    quick_create: bool = False

    @property
    def ltr(self) -> bool:
        """Written left to right in every language (phones, e-mail addresses)."""
        return self.field.type in LEFT_TO_RIGHT_TYPES

    # False: the layout's visible_if is FALSE for now (rendered hidden and disabled)
    shown: bool = True

    @property
    def slug(self) -> str:
        return self.field.slug

    @property
    def input_id(self) -> str:
        return "cf-" + self.name.replace(".", "-")

    @property
    def is_lines(self) -> bool:
        return False


@dataclass
class LineRow:
    key: str
    id: int | None
    cells: list[FieldView]
    errors: list[str] = field(default_factory=list)


@dataclass
class LinesView:
    """A child table as an editable grid (or a read-only table)."""

    field: Field
    child: EntitySchema
    columns: list[Field]
    rows: list[LineRow]
    template: LineRow
    editable: bool
    sortable: bool
    errors: list[str] = field(default_factory=list)
    shown: bool = True

    @property
    def slug(self) -> str:
        return self.field.slug

    @property
    def is_lines(self) -> bool:
        return True


class FieldWidgets:
    """Builds the inputs of one card; ``used`` collects the error keys shown next to them."""

    def __init__(
        self,
        registry: SchemaRegistry,
        schema: EntitySchema,
        obj: Any,
        state: FormState,
        errors: dict[str, list[str]],
        access: Access,
        *,
        editable: bool,
        modal: bool,
    ) -> None:
        self.registry = registry
        self.schema = schema
        self.obj = obj
        self.state = state
        self.errors = errors
        self.access = access
        self.editable = editable
        self.modal = modal  # a quick-create form in a modal: no quick create inside it
        self.used: set[str] = set()
        self.titles = Titles(registry, access)
        self.locale = get_language()

    def item(self, f: Field) -> FieldView | LinesView:
        """The widget of one field of the record."""
        if f.type == "child_table":
            return self.lines_view(f)
        return self.field_view(
            self.schema,
            f,
            prefix="",
            values=self.state.values,
            labels=self.state.labels,
            obj=self.obj,
            editable=self.editable,
            error_key=f.slug,
        )

    def writable(self, schema: EntitySchema, f: Field, editable: bool) -> bool:
        return (
            editable
            and get_field_type(f.type).writable
            and f.pk not in self.access.entity(schema).read_only
        )

    def field_view(
        self,
        schema: EntitySchema,
        f: Field,
        *,
        prefix: str,
        values: dict[str, Any],
        labels: dict[str, Any],
        obj: Any,
        editable: bool,
        error_key: str,
        computed_id: str = "",
    ) -> FieldView:
        name = field_name(prefix, f.slug)
        writable = self.writable(schema, f, editable)
        kind = _INPUT_KINDS.get(f.type, "text") if writable else "text"
        view = FieldView(
            field=f, name=name, kind=kind if writable else "readonly", editable=writable
        )
        view.entity = schema.slug
        view.errors = self.errors.get(error_key, [])
        if view.errors:
            self.used.add(error_key)
        if f.type in COMPUTED_TYPES or f.type == "autonumber":
            view.kind = "computed"
            view.computed_id = computed_id or f"cv-{f.slug}"
        if not writable:
            view.display = self.display(schema, f, obj)
            return view
        value = values.get(name)
        if value is None:
            value = [] if f.type in ("multi_choice", "multi_link") else ""
        view.value = value
        if f.type == "money":
            view.currency = values.get(name + "__currency") or get_field_type(
                "money"
            ).default_currency(f)
        elif f.type in ("choice", "multi_choice"):
            chosen = value if isinstance(value, list) else [value]
            for choice in choices_of(f).values():
                badge = choice_badge(choice)  # its colour as lists and boards show it
                selected = choice["value"] in chosen
                view.choices.append(
                    {
                        "value": choice["value"],
                        "label": badge.label,
                        "colour": badge.colour,
                        "selected": selected,
                    }
                )
            if f.type == "choice":
                view.colour = next((c["colour"] for c in view.choices if c["selected"]), "")
        elif f.type == "status":
            self._status(view, schema, f, obj)
        elif f.type in ("link", "multi_link"):
            self._link(view, f, value, labels.get(name))
        elif f.type == "user":
            users = self.titles.active_users()
            view.users = [(str(pk), username) for pk, username in users.items()]
            if value and str(value).isdigit() and int(value) not in users:
                # an inactive user stays chosen, under their name
                view.users.append((str(value), self.titles.user(value)))
        elif f.type in FILE_TYPES:
            view.files = self.files(f, obj)
        return view

    def _status(self, view: FieldView, schema: EntitySchema, f: Field, obj: Any) -> None:
        """A status offers its current state and the states the user may move it to (a new
        record: its initial state), and keeps whatever the form holds."""
        if obj is None:
            offered = {f.options.get("initial")}
            view.value = view.value or f.options.get("initial") or ""
        else:
            current = get_field_type(f.type).get_value(f, obj)
            allowed = allowed_transitions(schema, f, current, self.access.user)
            offered = {current, *(state["value"] for state in allowed)}
        for choice in choices_of(f).values():
            if choice["value"] not in offered and choice["value"] != view.value:
                continue
            badge = choice_badge(choice)
            selected = choice["value"] == view.value
            view.choices.append(
                {
                    "value": choice["value"],
                    "label": badge.label,
                    "colour": badge.colour,
                    "selected": selected,
                }
            )
            if selected:
                view.colour = badge.colour

    def _link(self, view: FieldView, f: Field, value: Any, shown: Any) -> None:
        target = self.registry.entity_by_id(f.options["target_id"])
        view.target = target.slug
        view.quick_create = (
            not self.modal and target.parent_field is None and self.access.can("create", target)
        )
        if f.type == "link":
            view.label_text = shown if shown else self.titles.of(target, value)
            return
        given = list(shown or [])
        view.items = [
            (str(pk), given[i] if i < len(given) and given[i] else self.titles.of(target, pk))
            for i, pk in enumerate(value)
        ]

    def files(self, f: Field, obj: Any) -> list[dict[str, str]]:
        """The record's files with their download links (`files.record_file`, which checks the
        rights again); a line's files are named without a link."""
        if obj is None:
            return []
        value = get_field_type(f.type).get_value(f, obj)
        items = value if isinstance(value, list) else [value] if value else []
        own = f.entity_id == self.schema.entity.pk
        return [
            {
                "name": item.get("name", ""),
                "url": reverse("ui:record_file", args=[self.schema.slug, obj.pk, f.slug, index])
                if own
                else "",
            }
            for index, item in enumerate(items)
            if isinstance(item, dict) and item.get("path")
        ]

    def display(self, schema: EntitySchema, f: Field, obj: Any) -> str:
        """A value the user reads only, formatted for their language."""
        return stored_text(self.titles, schema, f, obj)

    # -- child tables --------------------------------------------------------------------------

    def lines_view(self, f: Field) -> LinesView:
        child = self.registry.entity_by_id(f.options["target_id"])
        hidden = self.access.hidden(child)
        columns = [c for c in line_fields(child) if c.pk not in hidden]
        editable = self.writable(self.schema, f, self.editable)
        rows_state = self.state.lines.get(f.slug)
        stored = self._stored_lines(f) if self.obj is not None else []
        by_id = {line.pk: line for line in stored}
        if rows_state is None:
            rows_state = [LineState(key=f"r{n}", id=line.pk) for n, line in enumerate(stored, 1)]
        self._load_line_titles(child, columns, rows_state, stored)
        rows = []
        for number, row in enumerate(rows_state, start=1):
            prefix = line_prefix(f.slug, row.key)
            values = {prefix + k: v for k, v in row.values.items()}
            labels = {prefix + k: v for k, v in row.labels.items()}
            line_obj = by_id.get(row.id)
            cells = [
                self.field_view(
                    child,
                    c,
                    prefix=prefix,
                    values=values,
                    labels=labels,
                    obj=line_obj,
                    editable=editable,
                    error_key=f"{f.slug}[{number}].{c.slug}",
                    computed_id=f"cv-{f.slug}-{row.key}-{c.slug}",
                )
                for c in columns
            ]
            row_errors = []
            for key in (f"{f.slug}[{number}].", f"{f.slug}[{number}].id"):
                if key in self.errors:
                    row_errors.extend(self.errors[key])
                    self.used.add(key)
            rows.append(LineRow(key=row.key, id=row.id, cells=cells, errors=row_errors))
        template_prefix = line_prefix(f.slug, "__KEY__")
        template = LineRow(
            key="__KEY__",
            id=None,
            cells=[
                self.field_view(
                    child,
                    c,
                    prefix=template_prefix,
                    values=self._defaults(child, template_prefix),
                    labels={},
                    obj=None,
                    editable=editable,
                    error_key="",
                    computed_id=f"cv-{f.slug}-__KEY__-{c.slug}",
                )
                for c in columns
            ],
        )
        own_errors = self.errors.get(f.slug, [])
        if own_errors:
            self.used.add(f.slug)
        return LinesView(
            field=f,
            child=child,
            columns=columns,
            rows=rows,
            template=template,
            editable=editable,
            sortable=editable and any(c.slug == "position" for c in child.fields),
            errors=own_errors,
        )

    def _stored_lines(self, f: Field) -> list[Any]:
        return list(getattr(self.obj, f"rev_f{f.pk}").all())

    def _load_line_titles(
        self, child: EntitySchema, columns: list[Field], rows: list[LineState], stored: list
    ) -> None:
        """One query per linked entity for all lines (their titles, or their stored values)."""
        for c in columns:
            if c.type not in ("link", "multi_link"):
                continue
            target = self.registry.entity_by_id(c.options["target_id"])
            ids: list[Any] = []
            for row in rows:
                value = row.values.get(c.slug)
                ids.extend(value if isinstance(value, list) else [value])
            for line in stored:
                if c.type == "link":
                    ids.append(getattr(line, f"{c.attname}_id", None))
                else:
                    ids.extend(line.__dict__.get("_cf_links", {}).get(c.pk, []))
            self.titles.load(target, [i for i in ids if i not in (None, "")])

    def load_titles(self) -> None:
        """Titles of every record the card's link fields name, one query per entity."""
        for f in self.schema.fields:
            if f.type not in ("link", "multi_link"):
                continue
            target = self.registry.entity_by_id(f.options["target_id"])
            value = self.state.values.get(f.slug)
            ids = list(value) if isinstance(value, list) else [value]
            if self.obj is not None:
                if f.type == "link":
                    ids.append(getattr(self.obj, f"{f.attname}_id", None))
                else:
                    ids.extend(self.obj.__dict__.get("_cf_links", {}).get(f.pk, []))
            self.titles.load(target, [i for i in ids if i not in (None, "")])

    def _defaults(self, schema: EntitySchema, prefix: str) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for f in schema.fields:
            if f.default is None or f.type == "child_table":
                continue
            values[prefix + f.slug] = input_value(f, f.default)
            if f.type == "money" and isinstance(f.default, dict):
                values[prefix + f.slug + "__currency"] = f.default.get("currency", "")
        return values
