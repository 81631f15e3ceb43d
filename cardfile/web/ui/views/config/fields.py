"""Fields of an entity: list and reorder, create one of every type, edit (a type change shows
what would convert first and waits for a confirm), delete to the trash, archived columns."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from cardfile.core.exceptions import CardfileError, NotFound
from cardfile.metamodel.access import access_for
from cardfile.metamodel.access.definitions import refuse_side_channels, require_configure
from cardfile.metamodel.fields import field_type_names, get_field_type
from cardfile.metamodel.fields.computed import COMPUTED_TYPES
from cardfile.metamodel.models import Field
from cardfile.metamodel.schema.conversion import (
    ConversionRefused,
    archived_column_restore,
    conversion_preview,
    field_archived_columns,
)
from cardfile.metamodel.schema.dynamic import EntitySchema, get_registry
from cardfile.metamodel.schema.services import (
    entity_get,
    field_create,
    field_delete,
    field_get,
    field_public_options,
    field_update,
)

from .common import FormErrors, checkbox, config_view, json_list, render_form, toast
from .formula import formula_names, sample_records
from .statuses import (
    STATUS_KINDS,
    status_editor_context,
    status_error_key,
    status_input_value,
    status_kind,
    status_options_from_post,
)

# Options the services keep for themselves (the target by id, a computed field's result type).
INTERNAL_OPTIONS = ("target_id", "result")
LINKING_TYPES = ("link", "multi_link", "child_table")
# Inputs of the field form itself; errors under other keys are listed at the top.
FIELD_INPUTS = {
    "slug",
    "label",
    "type",
    "required",
    "unique",
    "indexed",
    "default",
    "default_formula",
    "help_text",
}


# What people read for each option and enum value (the schema names are for machines).
OPTION_LABELS = {
    "max_length": gettext_lazy("Maximum length"),
    "barcode": gettext_lazy("Scanned code (barcode, IMEI, serial number)"),
    "decimal_places": gettext_lazy("Decimal places"),
    "min_value": gettext_lazy("Minimum"),
    "max_value": gettext_lazy("Maximum"),
    "currency": gettext_lazy("Currency (ISO code)"),
    "pattern": gettext_lazy("Number pattern"),
    "target": gettext_lazy("Target entity"),
    "on_delete": gettext_lazy("When the linked record is deleted"),
    "expression": gettext_lazy("Formula"),
    "through": gettext_lazy("Through"),
    "field": gettext_lazy("Field of the linked records"),
    "aggregate": gettext_lazy("Aggregate"),
    "multiple": gettext_lazy("Several files"),
    "max_size_mb": gettext_lazy("Maximum size (MB)"),
    "extensions": gettext_lazy("Allowed extensions (comma separated)"),
    "region": gettext_lazy("Default phone region (ISO code)"),
    "choices": gettext_lazy("Choices"),
    "states": gettext_lazy("States"),
    "initial": gettext_lazy("Initial state"),
    "transitions": gettext_lazy("Transitions"),
}
ENUM_LABELS = {
    "protect": gettext_lazy("Refuse to delete it"),
    "set_null": gettext_lazy("Clear the link"),
    "cascade": gettext_lazy("Delete this record too"),
    "sum": gettext_lazy("Sum"),
    "count": gettext_lazy("Count"),
    "avg": gettext_lazy("Average"),
    "min": gettext_lazy("Minimum"),
    "max": gettext_lazy("Maximum"),
}


@dataclass
class OptionInput:
    """One option of a field type as a form input, worked out from its JSON Schema."""

    name: str
    kind: str  # text, integer, number, boolean, enum, list, choices, entity, formula, through
    value: Any = None
    choices: list[tuple[str, str]] = field(default_factory=list)
    required: bool = False
    errors: list[str] = field(default_factory=list)

    @property
    def input_name(self) -> str:
        return f"option-{self.name}"

    @property
    def label(self) -> str:
        return str(OPTION_LABELS.get(self.name, self.name))


def type_choices() -> list[tuple[str, str]]:
    return [(name, str(get_field_type(name).label)) for name in field_type_names()]


def _kind(name: str, spec: dict[str, Any], type_name: str) -> str:
    if (status := status_kind(name, type_name)) is not None:
        return status
    if name == "choices":
        return "choices"
    if name == "target":
        return "entity"
    if name == "expression":
        return "formula"
    if name == "through":
        return "through"
    if "enum" in spec:
        return "enum"
    kind = spec.get("type")
    if kind == "array":
        return "list"
    if kind in ("integer", "number", "boolean"):
        return kind
    return "text"


def option_inputs(
    type_name: str,
    schema: EntitySchema,
    values: dict[str, Any],
    errors: FormErrors,
    user: Any = None,
) -> list[OptionInput]:
    """The inputs for ``type_name``'s options, filled with ``values``, each with its errors."""
    try:
        options_schema = get_field_type(type_name).options_schema
    except CardfileError:
        return []
    required = set(options_schema.get("required", []))
    for alternative in options_schema.get("anyOf", []):
        required.update(k for k in alternative.get("required", []) if k not in INTERNAL_OPTIONS)
    inputs = []
    for name, spec in options_schema.get("properties", {}).items():
        if name in INTERNAL_OPTIONS:
            continue
        kind = _kind(name, spec, type_name)
        value = values.get(name, spec.get("default"))
        choices: list[tuple[str, str]] = []
        if kind == "enum":
            choices = [(str(v), str(ENUM_LABELS.get(v, v))) for v in spec["enum"]]
        elif kind == "entity":
            choices = [(s.slug, str(s.entity.label)) for s in get_registry().entities()]
        elif kind == "through":
            allowed = ("link",) if type_name == "lookup" else ("child_table", "multi_link")
            choices = [
                (f.slug, f"{f.label} ({f.slug})") for f in schema.fields if f.type in allowed
            ]
        elif kind == "choices":
            value = [
                {"value": c, "label": c, "color": ""} if isinstance(c, str) else c
                for c in (value or [])
            ]
        elif kind in STATUS_KINDS:
            value = status_input_value(kind, value)
        elif type_name == "status" and name == "initial":
            choices = [(v, v) for v in status_editor_context(schema, values)["state_values"][1:]]
        elif name == "field":
            choices = _linked_fields(schema, user)
        elif kind == "list" and isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        messages_ = [
            message
            for key, found in errors.items()
            if key == f"options.{name}" or key.startswith(f"options.{name}.")
            for message in found
        ]
        if kind in STATUS_KINDS:  # rows' errors, each naming its row
            messages_ = [
                message
                if key == f"options.{name}"
                else f"{key.removeprefix('options.')}: {message}"
                for key, found in errors.items()
                if status_error_key(name, key)
                for message in found
            ]
        inputs.append(OptionInput(name, kind, value, choices, name in required, messages_))
    return inputs


def _linked_fields(schema: EntitySchema, user: Any) -> list[tuple[str, str]]:
    """Fields a lookup or rollup may read: those of the entities this one links to, as far
    as the user may read them."""
    access = access_for(user)
    registry = get_registry()
    found: dict[str, str] = {}
    for f in schema.fields:
        if f.type in LINKING_TYPES and "target_id" in f.options:
            target = registry.entity_by_id(f.options["target_id"])
            if not access.is_owner and not access.can("read", target):
                continue
            hidden = access.hidden(target)
            for other in target.fields:
                if other.pk not in hidden:
                    found.setdefault(other.slug, f"{other.label} ({target.entity.label})")
    return sorted(found.items())


def _number(raw: str, kind: str) -> Any:
    try:
        return int(raw) if kind == "integer" else float(raw) if "." in raw else int(raw)
    except ValueError:
        return raw  # the options schema names what was expected


# Options whose blank input means "keep": what the field points at is not cleared from a form.
_KEPT_WHEN_BLANK = ("entity", "through")


def options_from_post(
    type_name: str, post: QueryDict, *, clear_blank: bool = False
) -> dict[str, Any]:
    """The options a field form sent for ``type_name``, in the API's shape. With
    ``clear_blank`` (editing a field of that type) an input the form had and the user emptied
    is sent as ``None``, which `field_update` takes as "remove the option"."""
    try:
        options_schema = get_field_type(type_name).options_schema
    except CardfileError:
        return {}
    options: dict[str, Any] = {}
    for name, spec in options_schema.get("properties", {}).items():
        if name in INTERNAL_OPTIONS:
            continue
        kind = _kind(name, spec, type_name)
        key = f"option-{name}"
        if kind == "choices":
            options[name] = _choices_from_post(post)
        elif kind in STATUS_KINDS:
            options[name] = status_options_from_post(kind, post)
        elif kind == "boolean":
            options[name] = post.get(key) in ("on", "true", "1")
        elif kind == "list":
            raw = post.get(key, "")
            if raw.strip():
                options[name] = [p.strip() for p in raw.split(",") if p.strip()]
            elif clear_blank and key in post:
                options[name] = None
        elif kind == "formula":
            if key in post:
                options[name] = post.get(key, "")
        else:
            raw = post.get(key, "").strip()
            if raw:
                options[name] = _number(raw, kind) if kind in ("integer", "number") else raw
            elif clear_blank and key in post and kind not in _KEPT_WHEN_BLANK:
                options[name] = None
    return options


def _choices_from_post(post: QueryDict) -> list[dict[str, str]]:
    rows = zip(
        post.getlist("choice_value"),
        post.getlist("choice_label"),
        post.getlist("choice_color"),
        strict=False,
    )
    choices = []
    for value, label, color in rows:
        if not value.strip():
            continue
        choice = {"value": value.strip()}
        if label.strip():
            choice["label"] = label.strip()
        if color.strip():
            choice["color"] = color.strip()
        choices.append(choice)
    return choices


def _field_data(request: HttpRequest, type_name: str, *, current: Field | None) -> dict[str, Any]:
    """The form as the services' keyword arguments (the API's attributes)."""
    post = request.POST
    ftype = get_field_type(type_name)
    data: dict[str, Any] = {
        "slug": post.get("slug", "").strip(),
        "label": post.get("label", "").strip(),
        "required": checkbox(request, "required"),
        "help_text": post.get("help_text", ""),
        "options": options_from_post(
            type_name, post, clear_blank=current is not None and current.type == type_name
        ),
    }
    if ftype.can_be_unique and type_name != "autonumber":
        data["unique"] = checkbox(request, "unique")
    if ftype.can_be_indexed:
        data["indexed"] = checkbox(request, "indexed")
    if type_name not in COMPUTED_TYPES and ftype.writable:
        default = post.get("default", "")
        if default != "" or current is not None:
            data["default"] = default if default != "" else None
        if "default_formula" in post:
            data["default_formula"] = post.get("default_formula", "")
    return data


def _form_context(
    request: HttpRequest,
    schema: EntitySchema,
    type_name: str,
    values: dict[str, Any],
    errors: FormErrors,
    current: Field | None = None,
) -> dict[str, Any]:
    ftype = get_field_type(type_name) if type_name in field_type_names() else None
    options = option_inputs(type_name, schema, values.get("options") or {}, errors, request.user)
    shown = {f"options.{o.name}" for o in options}
    return {
        "schema": schema,
        "current": current,
        "type_name": type_name,
        "ftype": ftype,
        "types": type_choices(),
        "values": values,
        "options": options,
        "computed": type_name in COMPUTED_TYPES,
        # errors no input shows (another option, the options as a whole) go above the form
        "other_errors": errors.other(
            FIELD_INPUTS
            | {
                k
                for k in errors
                if k in shown or any(k.startswith((f"{o}.", f"{o}[")) for o in shown)
            }
        ),
        "status_editor": status_editor_context(schema, values.get("options") or {})
        if type_name == "status"
        else {},
        "records": sample_records(request.user, schema),
        "formula_names": formula_names(request.user, schema),
    }


def _render(
    request: HttpRequest,
    context: dict[str, Any],
    error: CardfileError | None = None,
    status: int | None = None,
) -> HttpResponse:
    response = render_form(request, "ui/config/field_form.html", context, error=error)
    if status is not None:
        response.status_code = status
    return response


@config_view
def field_new(request: HttpRequest, entity: str) -> HttpResponse:
    access = require_configure(request.user, entity)
    schema = get_registry().entity(entity)
    type_name = request.POST.get("type") or request.GET.get("type") or "text"
    if request.method != "POST":
        context = _form_context(request, schema, type_name, {"type": type_name}, FormErrors())
        return _render(request, context)
    data = _field_data(request, type_name, current=None) if type_name in field_type_names() else {}
    values = {**data, "type": type_name}
    try:
        refuse_side_channels(access, entity, {**data, "type": type_name})
        created = field_create(
            entity=entity,
            slug=data.pop("slug", request.POST.get("slug", "")),
            label=data.pop("label", request.POST.get("label", "")),
            type=type_name,
            user=request.user,
            **data,
        )
    except CardfileError as error:
        context = _form_context(request, schema, type_name, values, _errors_of(error))
        return _render(request, context, error)
    messages.success(request, _("Field %(label)s created.") % {"label": created.label})
    return redirect("ui:config-entity", entity=entity)


def _errors_of(error: CardfileError) -> FormErrors:
    from .common import form_errors

    return FormErrors(*form_errors(error))


@config_view
def field_options(request: HttpRequest, entity: str) -> HttpResponse:
    """The options and flags of the type chosen in the form (htmx swaps them in), keeping
    what the form already holds; when editing, the field's own options for its own type."""
    require_configure(request.user, entity)
    schema = get_registry().entity(entity)
    get = request.GET
    type_name = get.get("type", "text")
    values: dict[str, Any] = {
        "type": type_name,
        **{key: get.get(key) == "on" for key in ("required", "unique", "indexed")},
        **{key: get.get(key, "") for key in ("help_text", "default", "default_formula")},
    }
    current = schema.by_slug.get(get.get("field", ""))
    if current is not None and current.type == type_name:
        values["options"] = field_public_options(current)
    context = _form_context(request, schema, type_name, values, FormErrors(), current)
    return render(request, "ui/config/_field_options.html", context)


def _default_text(f: Field) -> str:
    """The stored default as the text the form shows (and accepts back)."""
    if f.default is None:
        return ""
    ftype = get_field_type(f.type)
    try:
        text = ftype.to_text(f, ftype.to_internal(f, f.default))
    except (CardfileError, TypeError, ValueError):
        text = None
    return text if isinstance(text, str) else json.dumps(f.default, ensure_ascii=False)


def _current_values(f: Field) -> dict[str, Any]:
    return {
        "slug": f.slug,
        "label": f.label,
        "type": f.type,
        "required": f.required,
        "unique": f.unique,
        "indexed": f.indexed,
        "default": _default_text(f),
        "default_formula": f.default_formula,
        "help_text": f.help_text,
        "options": field_public_options(f),
    }


@config_view
def field_edit(request: HttpRequest, entity: str, field: str) -> HttpResponse:
    """Rename, relabel, change options; a type change first shows the conversion preview and
    is applied only with ``confirm``, as is an option change that values no longer fit."""
    access = require_configure(request.user, entity)
    schema = get_registry().entity(entity)
    f = field_get(entity_get(entity), field)
    if request.method != "POST":
        context = _form_context(request, schema, f.type, _current_values(f), FormErrors(), f)
        return _render(request, context)
    type_name = request.POST.get("type") or f.type
    if type_name not in field_type_names():
        type_name = f.type
    changes = _field_data(request, type_name, current=f)
    values = {**changes, "type": type_name}
    # a confirm holds for the type whose preview was shown, not for one chosen after it
    confirm = checkbox(request, "confirm") and request.POST.get("previewed_type") == type_name
    if type_name != f.type:
        changes["type"] = type_name
    try:
        if not access.can_configure():
            refuse_side_channels(access, entity, changes, current=f)
        if type_name != f.type and not confirm:
            preview = conversion_preview(
                entity=entity, field=field, new_type=type_name, options=changes["options"]
            )
            context = _form_context(request, schema, type_name, values, FormErrors(), f)
            return _render(request, {**context, "preview": asdict(preview)})
        updated = field_update(
            entity=entity, field=field, confirm=confirm, user=request.user, **changes
        )
    except ConversionRefused as refused:
        context = _form_context(request, schema, type_name, values, FormErrors(), f)
        preview = {
            key: refused.details.get(key)
            for key in ("total", "failed_count", "sample", "needs_new_column")
        }
        return _render(
            request, {**context, "preview": preview, "refusal": refused.message}, status=409
        )
    except CardfileError as error:
        context = _form_context(request, schema, type_name, values, _errors_of(error), f)
        return _render(request, context, error)
    messages.success(request, _("Field %(label)s saved.") % {"label": updated.label})
    return redirect("ui:config-entity", entity=entity)


@config_view
def field_remove(request: HttpRequest, entity: str, field: str) -> HttpResponse:
    require_configure(request.user, entity)
    f = field_get(entity_get(entity), field)
    context = {"entity": f.entity, "field": f}
    if request.method != "POST":
        return render_form(request, "ui/config/field_delete.html", context)
    try:
        field_delete(entity=entity, field=field, user=request.user)
    except CardfileError as error:
        return render_form(request, "ui/config/field_delete.html", context, error=error)
    messages.success(request, _("Field %(label)s moved to the trash.") % {"label": f.label})
    return redirect("ui:config-entity", entity=entity)


@require_POST
@config_view
def field_reorder(request: HttpRequest, entity: str) -> HttpResponse:
    """``order``: the field slugs in their new order (JSON); each moved one gets its place."""
    require_configure(request.user, entity)
    schema = get_registry().entity(entity)
    slugs = [s for s in json_list(request.POST.get("order", "")) if s in schema.by_slug]
    for position, slug in enumerate(slugs, start=1):
        if schema.by_slug[slug].position != position:
            field_update(entity=entity, field=slug, position=position, user=request.user)
    return HttpResponse(status=204, headers=toast(_("Order saved.")))


@config_view
def archived_columns(request: HttpRequest, entity: str, field: str) -> HttpResponse:
    """The columns kept by earlier type changes; POST ``archived`` restores one."""
    require_configure(request.user, entity)
    f = field_get(entity_get(entity), field)
    columns = field_archived_columns(f)
    if request.method == "POST":
        try:
            archived_id = int(request.POST.get("archived", ""))
        except ValueError:
            archived_id = 0
        if all(a.pk != archived_id for a in columns):
            raise NotFound(_("%(field)s has no such archived column.") % {"field": f})
        try:
            restored = archived_column_restore(archived_id=archived_id, user=request.user)
        except CardfileError as error:
            context = {"entity": f.entity, "field": f, "columns": columns}
            return render_form(request, "ui/config/archived.html", context, error=error)
        messages.success(request, _("Field %(label)s restored.") % {"label": restored.label})
        return redirect("ui:config-entity", entity=entity)
    context = {"entity": f.entity, "field": f, "columns": columns}
    return render_form(request, "ui/config/archived.html", context)


_FIELD = "entities/<slug:entity>/fields/<slug:field>/"

urlpatterns = [
    path("entities/<slug:entity>/fields/new/", field_new, name="config-field-new"),
    path("entities/<slug:entity>/fields/options/", field_options, name="config-field-options"),
    path("entities/<slug:entity>/fields/reorder/", field_reorder, name="config-field-reorder"),
    path(_FIELD, field_edit, name="config-field"),
    path(_FIELD + "delete/", field_remove, name="config-field-delete"),
    path(_FIELD + "archived/", archived_columns, name="config-field-archived"),
]
