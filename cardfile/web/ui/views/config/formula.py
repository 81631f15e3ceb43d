"""The formula editor's live check: the result type, or the error with a caret under its
position, and the value on a sample record. Used by formula fields, default formulas,
validation rules, row rules and ``visible_if`` conditions."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_POST

from cardfile.core.exceptions import CardfileError, InvalidInput
from cardfile.formula_engine import FormulaError
from cardfile.formula_engine.semantics import to_text
from cardfile.metamodel.access import access_for
from cardfile.metamodel.access.definitions import (
    formula_check_as,
    formula_value_as,
    visible_rows,
)
from cardfile.metamodel.schema.dynamic import EntitySchema, get_registry
from cardfile.web.ui.display.titles import Titles

from .common import config_view

# How many records the preview offers to compute the formula on.
SAMPLE_RECORDS = 20


def sample_records(user: Any, schema: EntitySchema) -> list[tuple[int, str]]:
    """The first records the user may read, as ``(id, "#id title")``; one query."""
    access = access_for(user)
    registry = get_registry()
    queryset = schema.objects()
    if not access.is_owner:
        queryset = visible_rows(access, registry, schema, queryset)
    titles = Titles(registry, access)
    samples = []
    for obj in queryset.order_by("pk")[:SAMPLE_RECORDS]:
        title = titles.title(schema, obj, bare=True)
        samples.append((obj.pk, title if title == f"#{obj.pk}" else f"#{obj.pk} {title}"))
    return samples


def formula_names(user: Any, schema: EntitySchema) -> list[dict[str, str]]:
    """What the editor offers to insert: the entity's fields, then the fields of the entities
    its links and child tables lead to (``client.name``, ``lines.qty``), as far as the user
    may read them."""
    access = access_for(user)
    registry = get_registry()
    names = [{"slug": f.slug, "label": f.label} for f in schema.fields]
    for f in schema.fields:
        if f.type not in ("link", "child_table") or "target_id" not in f.options:
            continue
        target = registry.entity_by_id(f.options["target_id"])
        if not access.is_owner and not access.can("read", target):
            continue
        hidden = access.hidden(target)
        names.extend(
            {"slug": f"{f.slug}.{other.slug}", "label": f"{f.label}: {other.label}"}
            for other in target.fields
            if other.type not in ("child_table", "multi_link") and other.pk not in hidden
        )
    return names


@require_POST
@config_view
def formula_check_view(request: HttpRequest, entity: str) -> HttpResponse:
    """POST ``formula_field`` (the name of the input holding the formula), that input, and
    optionally ``formula_record``: the status line of the editor."""
    source = request.POST.get("formula_field", "expression")
    expression = request.POST.get(source, "")
    record = request.POST.get("formula_record", "")
    context: dict[str, Any] = {"expression": expression}
    if not expression.strip():
        return render(request, "ui/config/_formula_result.html", {**context, "empty": True})
    access = access_for(request.user)
    try:
        checked = formula_check_as(access, entity, expression)
    except FormulaError as error:
        return render(
            request,
            "ui/config/_formula_result.html",
            {**context, "error": error.message, "formula": error.as_dict()},
        )
    except InvalidInput as refused:
        messages = [m for found in refused.errors.values() for m in found]
        return render(
            request, "ui/config/_formula_result.html", {**context, "error": " ".join(messages)}
        )
    context["type"] = str(checked.type)
    context["dependencies"] = sorted(".".join(p) for p in checked.dependencies)
    if record.isdigit():
        try:
            value = formula_value_as(access, entity, checked, int(record))
        except FormulaError as error:
            context["value_error"] = error.message
        except CardfileError as error:
            context["value_error"] = error.message
        else:
            context["value"] = to_text(value, timezone.get_default_timezone())
            context["record"] = record
    return render(request, "ui/config/_formula_result.html", context)


urlpatterns = [
    path(
        "entities/<slug:entity>/formula-check/",
        formula_check_view,
        name="config-formula-check",
    ),
]
