"""What the reminder and notification-rule forms share: the message part (condition,
recipients, channels, subject, template), what the chosen entity offers (recipient paths,
template variables, formula names), the form's values to and from the API's shape, and the
views' flow (`NotifyForm`: show, reload the part, save, delete).

The forms speak the API's shape to `cardfile.metamodel.notify.services`, which checks
everything; its errors come back keyed as the API keys them (``recipients[2].field``,
``offset.amount``) and are shown at the input they belong to."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from cardfile.core.accounts import user_list
from cardfile.core.exceptions import CardfileError, NotFound, PermissionDenied
from cardfile.metamodel.access import access_for
from cardfile.metamodel.access.services import role_list
from cardfile.metamodel.notify.recipients import REACHES, SYSTEM_USERS
from cardfile.metamodel.schema.dynamic import EntitySchema, get_registry

from .common import FormErrors, checkbox, configurable, form_errors, render_form
from .deliveries import channel_labels
from .formula import formula_names

MESSAGE_KEYS = ("label", "condition", "recipients", "channels", "subject", "template", "active")
# Types a template shows as lists, not values.
LIST_TYPES = ("child_table", "multi_link")


@dataclass
class RecipientRow:
    """One row of the recipients editor: ``kind:name`` and the errors the service gave it."""

    value: str
    errors: list[str] = field(default_factory=list)
    offered: bool = True  # among the choices; else shown as it is, to keep it


def recipients_from_post(request: HttpRequest) -> list[dict[str, str]]:
    """The rows ``kind:name`` as the API's ``[{"field": "client.email"}, ...]`` (empty rows
    dropped; a row without a kind is sent as it is, for the service to name it)."""
    recipients = []
    for raw in request.POST.getlist("recipient"):
        raw = raw.strip()
        if not raw:
            continue
        kind, _sep, name = raw.partition(":")
        recipients.append({kind: name})
    return recipients


def recipient_rows(recipients: list[dict[str, Any]], errors: FormErrors) -> list[RecipientRow]:
    rows = []
    for number, spec in enumerate(recipients, start=1):
        kind, name = next(iter(spec.items())) if isinstance(spec, dict) and spec else ("", "")
        key = f"recipients[{number}]"
        found = [*errors.get(key, []), *errors.get(f"{key}.{kind}", [])]
        rows.append(RecipientRow(f"{kind}:{name}", found))
    return rows


def recipient_choices(schema: EntitySchema | None) -> list[tuple[str, list[tuple[str, str]]]]:
    """The recipients offered: the record's email, phone, text and user fields, those of the
    records its links lead to (one link deep), who created or changed it, roles, users."""
    fields: list[tuple[str, str]] = []
    if schema is not None:
        registry = get_registry()
        for f in schema.fields:
            if f.type in REACHES:
                fields.append((f"field:{f.slug}", f"{f.label} ({f.type})"))
        labels = {"created_by": _("Created by"), "updated_by": _("Last changed by")}
        fields += [(f"field:{slug}", labels.get(slug, slug)) for slug in SYSTEM_USERS]
        for f in schema.fields:
            if f.type != "link" or "target_id" not in f.options:
                continue
            target = registry.entity_by_id(f.options["target_id"])
            fields += [
                (f"field:{f.slug}.{g.slug}", f"{f.label} → {g.label} ({g.type})")
                for g in target.fields
                if g.type in REACHES
            ]
    roles = [(f"role:{role.name}", role.label) for role in role_list()]
    users = [
        (f"user:{u.get_username()}", u.get_full_name() or u.get_username())
        for u in user_list()
        if u.is_active
    ]
    return [
        (_("Fields of the record"), fields),
        (_("Roles (their members)"), roles),
        (_("Users"), users),
    ]


def template_variables(schema: EntitySchema | None) -> list[tuple[str, str]]:
    """What a message template may print, as ``(expression, what it is)``."""
    if schema is None:
        return []
    registry = get_registry()
    found = [
        ("{{ record.id }}", _("the record's number")),
        ("{{ url }}", _("the link to the record")),
        ("{{ entity }}", _("the entity's name")),
    ]
    for f in schema.fields:
        if f.type in LIST_TYPES:
            target = registry.entity_by_id(f.options["target_id"])
            first = next((g.slug for g in target.fields if g.type not in LIST_TYPES), "id")
            found.append(
                (
                    f"{{% for line in record.{f.slug} %}}{{{{ line.{first} }}}}{{% endfor %}}",
                    f.label,
                )
            )
            continue
        found.append((f"{{{{ record.{f.slug} }}}}", f.label))
        if f.type == "link" and "target_id" in f.options:
            target = registry.entity_by_id(f.options["target_id"])
            found += [
                (f"{{{{ record.{f.slug}.{g.slug} }}}}", f"{f.label} → {g.label}")
                for g in target.fields
                if g.type not in LIST_TYPES
            ]
    return found


def entity_choice(request: HttpRequest, slug: str | None) -> tuple[list[EntitySchema], Any]:
    """The entities the user may configure, and the one ``slug`` names among them (the
    first when none is named; None when that one is not the user's to configure)."""
    entities = configurable(access_for(request.user))
    if not slug:
        return entities, entities[0] if entities else None
    return entities, next((s for s in entities if s.slug == slug), None)


def message_values(request: HttpRequest) -> dict[str, Any]:
    """The message part of a posted form, as the form holds it."""
    post = request.POST
    return {
        "label": post.get("label", "").strip(),
        "condition": post.get("condition", ""),
        "recipients": recipients_from_post(request),
        "channels": post.getlist("channels"),
        "subject": post.get("subject", ""),
        "template": post.get("template", ""),
        "active": checkbox(request, "active"),
    }


def message_data(values: dict[str, Any]) -> dict[str, Any]:
    """The message part in the API's shape."""
    return {key: values[key] for key in MESSAGE_KEYS}


def message_context(
    request: HttpRequest, schema: EntitySchema | None, values: dict[str, Any], errors: FormErrors
) -> dict[str, Any]:
    """What the message part of the form shows for ``schema``."""
    choices = recipient_choices(schema)
    offered = {value for _group, options in choices for value, _label in options}
    rows = recipient_rows(values.get("recipients") or [], errors)
    for row in rows:
        row.offered = row.value in offered
    return {
        "schema": schema,
        "formula_names": formula_names(request.user, schema) if schema is not None else [],
        "recipient_rows": rows,
        "recipient_choices": choices,
        "channel_choices": list(channel_labels().items()),
        "variables": template_variables(schema),
        "variables_help": _(
            "What the message can show (Jinja2: {{ … }} prints a value, {% if %} and {% for %} "
            "decide and repeat)"
        ),
    }


def whole(raw: str) -> Any:
    """A whole number typed, or the text as typed (the service then names the problem)."""
    text = (raw or "").strip()
    try:
        return int(text)
    except ValueError:
        return text


def channel_names(definitions: list[Any]) -> list[Any]:
    """``definitions`` with ``channel_labels``: their channels as the list shows them."""
    labels = channel_labels()
    for definition in definitions:
        definition.channel_labels = [labels.get(c, c) for c in definition.channels]
    return definitions


ContextOf = Callable[[HttpRequest, dict[str, Any], FormErrors], dict[str, Any]]


@dataclass(frozen=True)
class NotifyForm:
    """The views' flow of one kind of definition (reminder, notification rule): the form page
    with the services' errors at their inputs (the rest above the form), the part htmx
    reloads, saving and deleting. Each kind's module says what differs."""

    name: str  # the context name of the definition edited: "reminder", "rule"
    template: str
    part_template: str
    list_url: str
    section: str
    context: ContextOf  # the form's context for (request, values, errors)
    known_keys: frozenset[str]  # the error keys an input of the form shows

    def render(
        self,
        request: HttpRequest,
        values: dict[str, Any],
        obj: models.Model | None = None,
        error: CardfileError | None = None,
    ) -> HttpResponse:
        errors = FormErrors(*form_errors(error)) if error else FormErrors()
        context = {**self.context(request, values, errors), self.name: obj}
        known = self.known_keys | {k for k in errors if k.startswith("recipients[")}
        context["other_errors"] = errors.other(known) if error else []
        return render_form(request, self.template, context, error=error)

    def part(self, request: HttpRequest, values: dict[str, Any]) -> HttpResponse:
        return render(request, self.part_template, self.context(request, values, FormErrors()))

    def save(
        self,
        request: HttpRequest,
        values: dict[str, Any],
        obj: models.Model | None,
        write: Callable[[], Any],
        done: Callable[[Any], str],
    ) -> HttpResponse:
        """``write()`` the definition; the list with ``done(saved)`` said, or the form again
        with the errors."""
        try:
            saved = write()
        except (PermissionDenied, NotFound):
            raise  # 403 and 404 pages, as `ui_view` makes them
        except CardfileError as error:
            return self.render(request, values, obj, error=error)
        messages.success(request, done(saved))
        return redirect(self.list_url)

    def remove(
        self,
        request: HttpRequest,
        obj: Any,
        *,
        kind: str,
        delete: Callable[[], Any],
        done: str,
    ) -> HttpResponse:
        """Ask, then ``delete()``; the list with ``done`` said."""
        template = "ui/config/notify_delete.html"
        context = {"object": obj, "kind": kind, "back": self.list_url, "section": self.section}
        if request.method != "POST":
            return render_form(request, template, context)
        try:
            delete()
        except (PermissionDenied, NotFound):
            raise  # 403 and 404 pages, as `ui_view` makes them
        except CardfileError as error:
            return render_form(request, template, context, error=error)
        messages.success(request, done)
        return redirect(self.list_url)
