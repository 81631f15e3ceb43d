"""Record cards: the create/edit form generated from the entity's card layout, child tables as
editable grids, live computed values of the draft, link search, quick create, edit conflicts,
history, trash and restore.

Views parse the form (`cardfile.web.ui.forms`), call one record service or selector with the
user, and render. What the card shows follows the user's rights: hidden fields are never
rendered, read-only ones are text, and a user who may not change the record reads it only.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as Forbidden
from django.core.files.storage import default_storage
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.dateparse import parse_datetime
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from cardfile.core.exceptions import CardfileError, NotFound, PermissionDenied
from cardfile.formula_engine import FormulaError
from cardfile.metamodel.access import Access, access_for
from cardfile.metamodel.fields import get_field_type
from cardfile.metamodel.fields.computed import COMPUTED_TYPES
from cardfile.metamodel.formulas import check_condition, formula_check
from cardfile.metamodel.formulas.draft import DraftRow, draft_open, runtime_to_internal
from cardfile.metamodel.layouts import card_layout_get
from cardfile.metamodel.models import Field, RecordHistory
from cardfile.metamodel.records import (
    RecordConflict,
    RecordProtected,
    RecordValidationError,
    record_create,
    record_delete,
    record_history,
    record_restore,
    record_to_dict,
    record_update,
)
from cardfile.metamodel.records.filtering import ListParamsError, record_detail, record_list
from cardfile.metamodel.schema.dynamic import EntitySchema, SchemaRegistry, get_registry
from cardfile.web.ui.forms import (
    FILE_TYPES,
    FormState,
    LineState,
    data_from_form,
    field_name,
    form_from_post,
    form_from_record,
    input_value,
    line_fields,
    line_prefix,
    same_input,
)

LINK_OPTIONS = 10
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
    "multi_choice": "checkboxes",
    "link": "link",
    "multi_link": "multi_link",
    "user": "user",
    "file": "file",
    "image": "file",
}


def card_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed in; the domain's refusals become 403 and 404."""

    @login_required
    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except PermissionDenied as error:
            raise Forbidden(error.message) from None
        except NotFound as error:
            raise Http404(error.message) from None

    return wrapped


def _entity(slug: str) -> tuple[SchemaRegistry, EntitySchema]:
    """The entity of the URL; lines have no card of their own (they live in their parent's)."""
    registry = get_registry()
    schema = registry.entity(slug)
    if schema.parent_field is not None:
        raise NotFound(_("There is no entity %(entity)s.") % {"entity": slug})
    return registry, schema


# -- titles of linked records ------------------------------------------------------------------


class Titles:
    """Titles of records as the user may read them (one query per entity and batch)."""

    def __init__(self, registry: SchemaRegistry, access: Access) -> None:
        self.registry = registry
        self.access = access
        self._known: dict[tuple[int, int], str] = {}
        self._users: dict[int, str] | None = None

    def title_field(self, schema: EntitySchema) -> Field | None:
        title_id = schema.entity.title_field_id
        if title_id is None or title_id in self.access.hidden(schema):
            return None
        return next((f for f in schema.fields if f.pk == title_id), None)

    def title(self, schema: EntitySchema, obj: Any) -> str:
        f = self.title_field(schema)
        if f is not None:
            text = get_field_type(f.type).format(
                f, get_field_type(f.type).get_value(f, obj), locale=get_language()
            )
            if text:
                return text
        return f"{schema.entity.label} #{obj.pk}"

    def load(self, schema: EntitySchema, ids: Iterable[Any]) -> None:
        wanted = {int(i) for i in ids if str(i).isdigit()}
        wanted -= {pk for (entity, pk) in self._known if entity == schema.entity.pk}
        if not wanted:
            return
        rows = self.access.visible(schema, schema.model._base_manager.filter(pk__in=wanted))
        for pk in wanted:  # what the user may not read shows as its id only
            self._known[(schema.entity.pk, pk)] = f"#{pk}"
        for obj in rows:
            self._known[(schema.entity.pk, obj.pk)] = self.title(schema, obj)

    def of(self, schema: EntitySchema, pk: Any) -> str:
        if pk in (None, ""):
            return ""
        key = (schema.entity.pk, int(pk)) if str(pk).isdigit() else None
        if key is not None and key not in self._known:
            self.load(schema, [pk])
        return self._known.get(key, f"#{pk}") if key else str(pk)

    def users(self) -> dict[int, str]:
        if self._users is None:
            model = get_user_model()
            self._users = {
                u.pk: u.get_username()
                for u in model.objects.filter(is_active=True).order_by(model.USERNAME_FIELD)
            }
        return self._users


# -- what the card shows -----------------------------------------------------------------------


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
    entity: str = ""
    target: str = ""
    quick_create: bool = False

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

    @property
    def slug(self) -> str:
        return self.field.slug

    @property
    def is_lines(self) -> bool:
        return True


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
    """Builds the card of one record (``obj`` None: a new one) for one user."""

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
        self.modal = modal  # a quick-create form in a modal: no quick create inside it
        self.request = request
        self.registry = registry
        self.schema = schema
        self.obj = obj
        self.state = state
        self.errors = dict(errors or {})
        self.used: set[str] = set()
        self.access = access_for(request.user)
        self.titles = Titles(registry, self.access)
        self.locale = get_language()
        # the record as formulas see it, made on first use (only layouts with visible_if)
        self._draft_factory = draft
        self._draft: DraftRow | None = None
        if obj is None:
            self.editable = self.access.can("create", schema)
        else:
            self.editable = self._row_allows("update")

    def _row_allows(self, operation: str) -> bool:
        if not self.access.can(operation, self.schema):
            return False
        if self.access.unrestricted:
            return True
        rows = self.schema.model._base_manager.filter(pk=self.obj.pk)
        return self.access.visible(self.schema, rows, operation).exists()

    # -- fields --------------------------------------------------------------------------------

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
            view.choices = [
                {
                    "value": c["value"],
                    "label": c.get("label") or c["value"],
                    "color": c.get("color") or "",
                    "selected": c["value"] in chosen,
                }
                for c in f.options.get("choices", [])
            ]
        elif f.type in ("link", "multi_link"):
            target = self.registry.entity_by_id(f.options["target_id"])
            view.target = target.slug
            view.quick_create = (
                not self.modal and target.parent_field is None and self.access.can("create", target)
            )
            shown = labels.get(name)
            if f.type == "link":
                view.label_text = shown if shown else self.titles.of(target, value)
            else:
                given = list(shown or [])
                view.items = [
                    (
                        str(pk),
                        given[i] if i < len(given) and given[i] else self.titles.of(target, pk),
                    )
                    for i, pk in enumerate(value)
                ]
        elif f.type == "user":
            users = self.titles.users()
            view.users = [(str(pk), username) for pk, username in users.items()]
            if value and str(value).isdigit() and int(value) not in users:
                view.users.append((str(value), f"#{value}"))
        elif f.type in FILE_TYPES:
            view.files = self.files(f, obj)
        return view

    def files(self, f: Field, obj: Any) -> list[dict[str, str]]:
        if obj is None:
            return []
        value = get_field_type(f.type).get_value(f, obj)
        items = value if isinstance(value, list) else [value] if value else []
        return [
            {"name": item.get("name", ""), "url": default_storage.url(item["path"])}
            for item in items
            if isinstance(item, dict) and item.get("path")
        ]

    def display(self, schema: EntitySchema, f: Field, obj: Any) -> str:
        """A value the user reads only, formatted for their language."""
        if obj is None:
            return ""
        ftype = get_field_type(f.type)
        if f.type == "multi_link":
            target = self.registry.entity_by_id(f.options["target_id"])
            ids = obj.__dict__.get("_cf_links", {}).get(f.pk)
            if ids is None:
                ids = record_to_dict(schema, obj, registry=self.registry).get(f.slug) or []
            self.titles.load(target, ids)
            return ", ".join(self.titles.of(target, pk) for pk in ids)
        value = ftype.get_value(f, obj)
        if value is None:
            return ""
        if f.type == "link":
            return self.titles.of(self.registry.entity_by_id(f.options["target_id"]), value)
        if f.type == "user":
            return self.titles.users().get(value) or f"#{value}"
        if f.type in FILE_TYPES:
            return ", ".join(item["name"] for item in self.files(f, obj))
        return ftype.format(f, value, locale=self.locale)

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

    def _defaults(self, schema: EntitySchema, prefix: str) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for f in schema.fields:
            if f.default is None or f.type == "child_table":
                continue
            values[prefix + f.slug] = input_value(f, f.default)
            if f.type == "money" and isinstance(f.default, dict):
                values[prefix + f.slug + "__currency"] = f.default.get("currency", "")
        return values

    # -- layout --------------------------------------------------------------------------------

    def visible(self, item: dict[str, Any]) -> bool:
        """``visible_if`` evaluated on the record (a new record shows every field)."""
        formula = item.get("visible_if")
        if not formula or self._draft_factory is None:
            return True
        if self._draft is None:
            self._draft = self._draft_factory()
        if self._draft is None:
            return True
        try:
            checked = check_condition(formula_check(entity=self.schema, expression=formula))
            return self._draft.evaluate(checked) is not False
        except FormulaError:
            return True

    def tabs(self) -> list[dict[str, Any]]:
        hidden = self.access.hidden(self.schema)
        by_id = {f.pk: f for f in self.schema.fields}
        self._load_titles()
        tabs = []
        for number, tab in enumerate(card_layout_get(self.schema)["tabs"]):
            sections = []
            for section in tab.get("sections", []):
                columns = []
                for column in section.get("columns", []):
                    items = []
                    for item in column:
                        f = by_id.get(item.get("field"))
                        if f is None or f.pk in hidden or not self.visible(item):
                            continue
                        items.append(self.item(f))
                    columns.append(items)
                if any(columns):
                    sections.append({"label": section.get("label") or "", "columns": columns})
            if sections:
                tabs.append(
                    {"id": f"cf-tab-{number}", "label": tab.get("label"), "sections": sections}
                )
        return tabs

    def item(self, f: Field) -> FieldView | LinesView:
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

    def _load_titles(self) -> None:
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

    def build(self, **extra: Any) -> Card:
        tabs = self.tabs()
        leftover = [
            message
            for key, messages_ in self.errors.items()
            if key not in self.used
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


# -- loading -----------------------------------------------------------------------------------


def _in_trash(request: HttpRequest, entity: str, record_id: int) -> bool:
    trash = record_list(entity, {}, in_trash=True, user=request.user)
    return trash.filter(pk=record_id).exists()


def _stored_state(registry: SchemaRegistry, schema: EntitySchema, obj: Any, access: Access):
    hide = None if access.unrestricted else access.hidden
    return form_from_record(
        registry, schema, record_to_dict(schema, obj, registry=registry, hide=hide)
    )


def _new_state(registry: SchemaRegistry, schema: EntitySchema) -> FormState:
    defaults = {f.slug: f.default for f in schema.fields if f.default is not None}
    state = form_from_record(registry, schema, defaults)
    for f in schema.child_fields:
        state.lines.setdefault(f.slug, [])
    return state


def _render_card(request: HttpRequest, card: Card, status: int = 200) -> HttpResponse:
    context = {"card": card, "entity_slug": card.schema.slug}
    if request.htmx and not request.htmx.boosted and request.method == "POST":
        return render(request, "ui/_card_form.html", context, status=status)
    template = "ui/card_modal.html" if card.modal else "ui/card.html"
    return render(request, template, context, status=status)


def _redirect(request: HttpRequest, url: str) -> HttpResponse:
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url)


def _draft_of(request: HttpRequest, schema: EntitySchema, obj: Any, data: Any) -> DraftRow | None:
    if obj is None:
        return None
    try:
        return draft_open(entity=schema, values=data, user=request.user, record_id=obj.pk)
    except CardfileError:
        return None


# -- views -------------------------------------------------------------------------------------


@card_view
def record_new(request: HttpRequest, entity: str) -> HttpResponse:
    registry, schema = _entity(entity)
    modal = request.GET.get("modal") == "1" or request.POST.get("modal") == "1"
    link_for = (request.GET.get("for") or request.POST.get("for") or "")[:200]
    if request.method != "POST":
        access = access_for(request.user)
        if not access.can("create", schema):
            raise PermissionDenied(
                _("Your roles do not allow you to create %(entity)s records.")
                % {"entity": schema.slug}
            )
        state = _new_state(registry, schema)
        card = CardBuilder(request, registry, schema, None, state, modal=modal).build(
            modal=modal, link_for=link_for
        )
        return _render_card(request, card)
    state = form_from_post(registry, schema, request.POST)
    data = data_from_form(registry, schema, state, request.FILES)
    errors = dict(state.errors)
    obj = None
    if not errors:
        try:
            obj = record_create(entity=entity, data=data, user=request.user)
        except RecordValidationError as error:
            errors = error.errors
    if obj is None:
        card = CardBuilder(request, registry, schema, None, state, errors, modal=modal).build(
            modal=modal, link_for=link_for
        )
        return _render_card(request, card, status=400)
    titles = Titles(registry, access_for(request.user))
    if modal:
        response = HttpResponse(status=204)
        response["HX-Trigger"] = json.dumps(
            {
                "cf:quick-created": {
                    "id": obj.pk,
                    "label": titles.title(schema, obj),
                    "for": link_for,
                }
            }
        )
        return response
    messages.success(
        request,
        _("%(entity)s %(title)s was created.")
        % {"entity": schema.entity.label, "title": titles.title(schema, obj)},
    )
    return _redirect(request, reverse("ui:record_card", args=[entity, obj.pk]))


@card_view
def record_card(request: HttpRequest, entity: str, record_id: int) -> HttpResponse:
    registry, schema = _entity(entity)
    obj = record_detail(entity, record_id, user=request.user)
    if obj is None and request.method != "POST" and _in_trash(request, entity, record_id):
        return HttpResponseRedirect(reverse("ui:record_trashed", args=[entity, record_id]))
    if obj is None:
        raise NotFound(_("There is no %(entity)s #%(id)s.") % {"entity": entity, "id": record_id})
    access = access_for(request.user)
    if request.method != "POST":
        state = _stored_state(registry, schema, obj, access)
        draft = functools.partial(_draft_of, request, schema, obj, {})
        card = CardBuilder(request, registry, schema, obj, state, draft=draft).build()
        return _render_card(request, card)
    state = form_from_post(registry, schema, request.POST)
    data = data_from_form(registry, schema, state, request.FILES)
    errors = dict(state.errors)
    overwrite = request.POST.get("overwrite_version", "")
    version = overwrite if overwrite.isdigit() else state.version
    conflict = None
    if not errors:
        try:
            record_update(
                entity=entity, record_id=record_id, data=data, version=version, user=request.user
            )
        except RecordValidationError as error:
            errors = error.errors
        except RecordConflict as error:
            conflict = error.current
        else:
            messages.success(request, _("Saved."))
            return _redirect(request, reverse("ui:record_card", args=[entity, record_id]))
    draft = functools.partial(_draft_of, request, schema, obj, data)
    builder = CardBuilder(request, registry, schema, obj, state, errors, draft=draft)
    if conflict is not None:
        card = builder.build(
            conflict=_conflict_rows(builder, schema, data, conflict),
            conflict_version=conflict.get("version"),
        )
        return _render_card(request, card, status=409)
    return _render_card(request, builder.build(), status=400)


def _conflict_rows(
    builder: CardBuilder, schema: EntitySchema, data: dict[str, Any], current: dict[str, Any]
) -> list[dict[str, str]]:
    """What differs between the user's values and the record as it is now."""
    rows = []
    for slug, mine in data.items():
        f = schema.by_slug.get(slug)
        if f is None or slug not in current:
            continue
        theirs = current[slug]
        if f.type == "child_table":
            child = builder.registry.entity_by_id(f.options["target_id"])
            if _lines_differ(child, mine, theirs):
                rows.append(
                    {
                        "label": f.label,
                        "mine": _("%(n)s lines") % {"n": len(mine)},
                        "theirs": _("%(n)s lines") % {"n": len(theirs or [])},
                    }
                )
            continue
        if f.type in FILE_TYPES or same_input(f, mine, theirs):
            continue
        rows.append(
            {
                "label": f.label,
                "mine": _shown(builder, f, mine),
                "theirs": _shown(builder, f, theirs),
            }
        )
    return rows


def _lines_differ(
    child: EntitySchema, mine: list[dict[str, Any]], theirs: list[dict[str, Any]] | None
) -> bool:
    theirs = theirs or []
    if [line.get("id") for line in mine] != [line.get("id") for line in theirs]:
        return True
    return any(
        not same_input(child.by_slug[key], value, stored.get(key))
        for line, stored in zip(mine, theirs, strict=True)
        for key, value in line.items()
        if key in child.by_slug and child.by_slug[key].type not in FILE_TYPES
    )


def _shown(builder: CardBuilder, f: Field, value: Any) -> str:
    ftype = get_field_type(f.type)
    try:
        internal = ftype.to_internal(f, value)
    except CardfileError:
        return str(value)
    if internal is None:
        return "—"
    if f.type == "link":
        return builder.titles.of(builder.registry.entity_by_id(f.options["target_id"]), internal)
    if f.type == "multi_link":
        target = builder.registry.entity_by_id(f.options["target_id"])
        return ", ".join(builder.titles.of(target, pk) for pk in internal)
    if f.type == "user":
        return builder.titles.users().get(internal) or f"#{internal}"
    return ftype.format(f, internal, locale=get_language()) or "—"


@require_POST
@card_view
def record_draft(request: HttpRequest, entity: str, record_id: int | None = None) -> HttpResponse:
    """The computed values of the form as typed (not saved), as out-of-band swaps."""
    registry, schema = _entity(entity)
    state = form_from_post(registry, schema, request.POST)
    data = data_from_form(registry, schema, state)
    draft = draft_open(entity=schema, values=data, user=request.user, record_id=record_id)
    access = access_for(request.user)
    locale = get_language()
    values = []
    hidden = access.hidden(schema)
    for f in schema.fields:
        if f.type in COMPUTED_TYPES and f.pk not in hidden:
            values.append({"id": f"cv-{f.slug}", "text": _computed_text(f, draft.value(f), locale)})
    for f in schema.child_fields:
        if f.pk in hidden or f.slug not in state.lines:
            continue
        child = registry.entity_by_id(f.options["target_id"])
        child_hidden = access.hidden(child)
        computed = [
            c for c in child.fields if c.type in COMPUTED_TYPES and c.pk not in child_hidden
        ]
        if not computed:
            continue
        for row, line in zip(state.lines[f.slug], draft.lines(f), strict=False):
            for c in computed:
                values.append(
                    {
                        "id": f"cv-{f.slug}-{row.key}-{c.slug}",
                        "text": _computed_text(c, line.value(c), locale),
                    }
                )
    return render(request, "ui/_card_computed.html", {"values": values})


def _computed_text(f: Field, value: Any, locale: str) -> str:
    if value is None:
        return ""
    try:
        return get_field_type(f.type).format(f, runtime_to_internal(f, value), locale=locale)
    except (CardfileError, TypeError, ValueError, KeyError):
        return str(value)


@require_GET
@card_view
def record_history_view(request: HttpRequest, entity: str, record_id: int) -> HttpResponse:
    registry, schema = _entity(entity)
    entries = record_history(entity, record_id, user=request.user)
    access = access_for(request.user)
    titles = Titles(registry, access)
    shown = [_history_entry(registry, schema, titles, entry) for entry in reversed(entries)]
    return render(request, "ui/_card_history.html", {"entries": shown})


def _history_value(registry: SchemaRegistry, f: Field | None, titles: Titles, value: Any) -> str:
    if value is None or value == []:
        return "—"
    if f is None:
        return json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
    return _shown_plain(registry, f, titles, value)


def _shown_plain(registry: SchemaRegistry, f: Field, titles: Titles, value: Any) -> str:
    ftype = get_field_type(f.type)
    if f.type == "link":
        return titles.of(registry.entity_by_id(f.options["target_id"]), value)
    if f.type == "multi_link":
        target = registry.entity_by_id(f.options["target_id"])
        return ", ".join(titles.of(target, pk) for pk in value)
    if f.type == "user":
        return titles.users().get(value) or f"#{value}"
    try:
        internal = ftype.to_internal(f, value) if f.type not in COMPUTED_TYPES else None
    except CardfileError:
        internal = None
    if internal is None:
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return ftype.format(f, internal, locale=get_language())


def _history_entry(
    registry: SchemaRegistry, schema: EntitySchema, titles: Titles, entry: dict[str, Any]
) -> dict[str, Any]:
    changes = []
    for slug, change in entry["changes"].items():
        f = schema.by_slug.get(slug)
        label = f.label if f is not None else slug
        if "before" in change or "after" in change:
            changes.append(
                {
                    "label": label,
                    "before": _history_value(registry, f, titles, change.get("before")),
                    "after": _history_value(registry, f, titles, change.get("after")),
                }
            )
            continue
        child = (
            registry.entity_by_id(f.options["target_id"])
            if f is not None and f.type == "child_table"
            else None
        )
        lines = {
            "added": [_line_text(registry, child, titles, v) for v in change.get("added", [])],
            "removed": [_line_text(registry, child, titles, v) for v in change.get("removed", [])],
            "changed": [
                {
                    "id": line.get("id"),
                    "changes": [
                        {
                            "label": (
                                child.by_slug[k].label if child and k in child.by_slug else k
                            ),
                            "before": _history_value(
                                registry,
                                child.by_slug.get(k) if child else None,
                                titles,
                                v.get("before"),
                            ),
                            "after": _history_value(
                                registry,
                                child.by_slug.get(k) if child else None,
                                titles,
                                v.get("after"),
                            ),
                        }
                        for k, v in line.get("changes", {}).items()
                        if isinstance(v, dict)
                    ],
                }
                for line in change.get("changed", [])
            ],
        }
        changes.append({"label": label, "lines": lines})
    moment = parse_datetime(entry["at"])
    try:
        action_label = RecordHistory.Action(entry["action"]).label
    except ValueError:
        action_label = entry["action"]
    return {
        **entry,
        "changes": changes,
        "at_text": get_field_type("datetime").format(None, moment, locale=get_language()),
        "action_label": action_label,
    }


def _line_text(
    registry: SchemaRegistry, child: EntitySchema | None, titles: Titles, values: dict[str, Any]
) -> str:
    parts = []
    for key, value in values.items():
        if key == "id" or value in (None, "", []):
            continue
        f = child.by_slug.get(key) if child is not None else None
        parts.append(f"{f.label if f else key}: {_history_value(registry, f, titles, value)}")
    return "; ".join(parts)


@require_GET
@card_view
def link_options(request: HttpRequest, entity: str, field_slug: str) -> HttpResponse:
    """Records of a link field's target matching what the user typed (top ten)."""
    registry = get_registry()
    schema = registry.entity(entity)
    access = access_for(request.user)
    if not access.can("read", schema):
        raise PermissionDenied(
            _("Your roles do not allow you to read %(entity)s records.") % {"entity": entity}
        )
    f = schema.by_slug.get(field_slug)
    if f is None or f.type not in ("link", "multi_link") or f.pk in access.hidden(schema):
        raise NotFound(_("There is no such link field."))
    target = registry.entity_by_id(f.options["target_id"])
    name = request.GET.get("name", field_slug)[:200]
    query = (
        request.GET.get("q")
        or request.GET.get(f"{name}__label")
        or request.GET.get(f"{name}__search")
        or ""
    ).strip()[:200]
    options: list[dict[str, Any]] = []
    if access.can("read", target):
        params = {"search": query} if query else {}
        try:
            rows = list(record_list(target.slug, params, user=request.user)[:LINK_OPTIONS])
        except ListParamsError:
            rows = []
        titles = Titles(registry, access)
        options = [{"id": obj.pk, "label": titles.title(target, obj)} for obj in rows]
    return render(
        request,
        "ui/_card_link_options.html",
        {
            "options": options,
            "field": f,
            "name": name,
            "multiple": f.type == "multi_link",
            "query": query,
        },
    )


@require_POST
@card_view
def record_delete_view(request: HttpRequest, entity: str, record_id: int) -> HttpResponse:
    registry, schema = _entity(entity)
    try:
        record_delete(entity=entity, record_id=record_id, user=request.user)
    except RecordProtected as error:
        messages.error(request, error.message)
        return _redirect(request, reverse("ui:record_card", args=[entity, record_id]))
    messages.success(
        request,
        _("%(entity)s #%(id)s was moved to the trash.")
        % {"entity": schema.entity.label, "id": record_id},
    )
    return _redirect(request, reverse("ui:record_list", args=[entity]))


@require_POST
@card_view
def record_restore_view(request: HttpRequest, entity: str, record_id: int) -> HttpResponse:
    _registry, schema = _entity(entity)
    record_restore(entity=entity, record_id=record_id, user=request.user)
    messages.success(
        request,
        _("%(entity)s #%(id)s was restored.") % {"entity": schema.entity.label, "id": record_id},
    )
    return _redirect(request, reverse("ui:record_card", args=[entity, record_id]))


@require_GET
@card_view
def record_trashed(request: HttpRequest, entity: str, record_id: int) -> HttpResponse:
    """A record in the trash: what it was, and a restore button for those who may."""
    registry, schema = _entity(entity)
    obj = record_list(entity, {}, in_trash=True, user=request.user).filter(pk=record_id).first()
    if obj is None:
        raise NotFound(_("There is no %(entity)s #%(id)s.") % {"entity": entity, "id": record_id})
    access = access_for(request.user)
    titles = Titles(registry, access)
    return render(
        request,
        "ui/card_trashed.html",
        {
            "schema": schema,
            "obj": obj,
            "title": titles.title(schema, obj),
            "can_restore": access.can("delete", schema),
            "entity_slug": entity,
        },
    )


urlpatterns = [
    path("<slug:entity>/new/", record_new, name="record_new"),
    path("<slug:entity>/draft/", record_draft, name="record_draft_new"),
    path("<slug:entity>/fields/<slug:field_slug>/options/", link_options, name="link_options"),
    path("<slug:entity>/<int:record_id>/", record_card, name="record_card"),
    path("<slug:entity>/<int:record_id>/draft/", record_draft, name="record_draft"),
    path("<slug:entity>/<int:record_id>/history/", record_history_view, name="record_history"),
    path("<slug:entity>/<int:record_id>/delete/", record_delete_view, name="record_delete"),
    path("<slug:entity>/<int:record_id>/restore/", record_restore_view, name="record_restore"),
    path("<slug:entity>/<int:record_id>/trash/", record_trashed, name="record_trashed"),
]
