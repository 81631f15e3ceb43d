"""Record cards' HTML form fields <-> the JSON-like ``data`` the record services take.

A card's form state (`FormState`) holds what the inputs show: text as typed, ids of links with
the labels shown next to them, and the lines of each child table with a key per row. It is
made from a stored record (`form_from_record`) or from a POST (`form_from_post`, keeping what
the user typed when the form comes back with errors), and turned into service ``data`` by
`data_from_form`.

Input names: ``<slug>`` for a field of the record, ``<child>.<key>.<slug>`` for a line's
field; ``<child>.rows`` lists the line keys in their order on the page, ``<child>.<key>.id``
the id of a stored line. A money amount's currency is ``<name>__currency``, a link's shown
label ``<name>__label``, a file's "remove" box ``<name>__clear``. A list input (multiple
choice, several links) and a child table send a marker so that "none" is told from "absent".
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import phonenumbers
from django.http import QueryDict
from django.utils import timezone
from django.utils.datastructures import MultiValueDict
from django.utils.dateparse import parse_datetime, parse_duration
from django.utils.translation import gettext as _

from cardfile.metamodel.fields import FieldValueError, get_field_type
from cardfile.metamodel.models import Field
from cardfile.metamodel.records.cleaning import POSITION_SLUG
from cardfile.metamodel.schema.dynamic import EntitySchema, SchemaRegistry

LIST_TYPES = frozenset({"multi_choice", "multi_link"})
FILE_TYPES = frozenset({"file", "image"})
_KEY = re.compile(r"^[A-Za-z0-9_]{1,40}$")


def field_name(prefix: str, slug: str) -> str:
    return f"{prefix}{slug}"


def line_prefix(child_slug: str, key: str) -> str:
    return f"{child_slug}.{key}."


@dataclass
class LineState:
    """One row of a child-table grid."""

    key: str
    id: int | None = None
    values: dict[str, Any] = field(default_factory=dict)
    labels: dict[str, Any] = field(default_factory=dict)


@dataclass
class FormState:
    """What a card's inputs hold."""

    values: dict[str, Any] = field(default_factory=dict)
    labels: dict[str, Any] = field(default_factory=dict)
    lines: dict[str, list[LineState]] = field(default_factory=dict)
    version: str = ""
    # problems found before the service is asked (JSON that does not parse), by error key
    errors: dict[str, list[str]] = field(default_factory=dict)


def line_fields(child: EntitySchema) -> list[Field]:
    """The fields of a line shown as grid columns (the position is the row's place)."""
    return [
        f
        for f in child.fields
        if f.type != "child_table" and not (f.slug == POSITION_SLUG and f.type == "integer")
    ]


# -- stored record -> form --------------------------------------------------------------------


def _duration_text(serialized: str) -> str:
    value = parse_duration(serialized)
    if value is None:
        return serialized
    seconds = int(value.total_seconds())
    sign = "-" if seconds < 0 else ""
    hours, rest = divmod(abs(seconds), 3600)
    return f"{sign}{hours}:{rest // 60:02d}:{rest % 60:02d}"


def input_value(f: Field, serialized: Any) -> Any:
    """A field's value as the API serializes it -> what its input shows."""
    if serialized is None:
        return [] if f.type in LIST_TYPES else ""
    if f.type == "money":
        return serialized.get("amount", "")
    if f.type == "datetime":
        moment = parse_datetime(serialized)
        if moment is None:
            return serialized
        return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")
    if f.type == "duration":
        return _duration_text(serialized)
    if f.type == "json":
        return json.dumps(serialized, indent=2, ensure_ascii=False)
    if f.type == "boolean":
        return bool(serialized)
    if f.type in LIST_TYPES:
        return [str(v) for v in serialized]
    if f.type in FILE_TYPES:
        return serialized
    if f.type == "phone":  # as people write it; it is stored in E.164 again when saved
        try:
            return get_field_type("phone").format(f, serialized)
        except phonenumbers.NumberParseException:
            return str(serialized)
    return str(serialized)


def _fill(fields: list[Field], prefix: str, record: dict[str, Any], values: dict[str, Any]) -> None:
    for f in fields:
        if f.type == "child_table" or f.slug not in record:
            continue
        serialized = record[f.slug]
        values[field_name(prefix, f.slug)] = input_value(f, serialized)
        if f.type == "money":
            currency = (serialized or {}).get("currency") or f.options.get("currency") or ""
            values[field_name(prefix, f.slug) + "__currency"] = currency


def form_from_record(
    registry: SchemaRegistry, schema: EntitySchema, record: dict[str, Any]
) -> FormState:
    """The form of a stored record (``record`` as `record_to_dict` gives it, or defaults)."""
    state = FormState(version=str(record.get("version") or ""))
    _fill(schema.fields, "", record, state.values)
    for f in schema.child_fields:
        if f.slug not in record:
            continue
        child = registry.entity_by_id(f.options["target_id"])
        rows = []
        for number, line in enumerate(record[f.slug] or [], start=1):
            row = LineState(key=f"r{number}", id=line.get("id"))
            _fill(line_fields(child), "", line, row.values)
            rows.append(row)
        state.lines[f.slug] = rows
    return state


# -- POST -> form ------------------------------------------------------------------------------


def _read(fields: list[Field], prefix: str, post: QueryDict, values: dict, labels: dict) -> None:
    for f in fields:
        name = field_name(prefix, f.slug)
        if f.type == "child_table":
            continue
        if f.type in LIST_TYPES:
            if name in post:
                values[name] = [v for v in post.getlist(name) if v != ""]
                if f.type == "multi_link":
                    labels[name] = post.getlist(name + "__label")
            continue
        if f.type == "boolean":
            if name in post:
                values[name] = post.getlist(name)[-1] in ("true", "on", "1")
            continue
        if name in post:
            values[name] = post.get(name, "")
        for suffix in ("__currency", "__label", "__clear"):
            if name + suffix in post:
                values[name + suffix] = post.get(name + suffix, "")
        if f.type == "link" and name + "__label" in post:
            labels[name] = post.get(name + "__label", "")


def form_from_post(registry: SchemaRegistry, schema: EntitySchema, post: QueryDict) -> FormState:
    """The form as the user submitted it (every key exactly as typed)."""
    state = FormState(version=post.get("version", ""))
    _read(schema.fields, "", post, state.values, state.labels)
    for f in schema.child_fields:
        if f"{f.slug}.present" not in post:
            continue
        child = registry.entity_by_id(f.options["target_id"])
        rows = []
        for key in post.getlist(f"{f.slug}.rows"):
            if not _KEY.match(key):
                continue
            prefix = line_prefix(f.slug, key)
            row = LineState(key=key)
            raw_id = post.get(prefix + "id", "")
            row.id = int(raw_id) if raw_id.isdigit() else None
            scratch: dict[str, Any] = {}
            _read(line_fields(child), prefix, post, scratch, row.labels)
            row.values = {name[len(prefix) :]: value for name, value in scratch.items()}
            row.labels = {name[len(prefix) :]: value for name, value in row.labels.items()}
            rows.append(row)
        state.lines[f.slug] = rows
    return state


# -- form -> service data ----------------------------------------------------------------------


def _value(f: Field, values: dict[str, Any], name: str, key: str, errors: dict) -> Any:
    raw = values[name]
    if f.type in LIST_TYPES:
        if f.type == "multi_link":
            return [int(v) if str(v).isdigit() else v for v in raw]
        return raw
    if f.type == "boolean":
        return bool(raw)
    if isinstance(raw, str):
        raw = raw.strip() if f.type not in ("long_text", "json") else raw
    if raw == "":
        return None
    if f.type == "money":
        currency = values.get(name + "__currency") or f.options.get("currency") or None
        return {"amount": raw, "currency": currency} if currency else {"amount": raw}
    if f.type in ("link", "user"):
        return int(raw) if raw.isdigit() else raw
    if f.type == "json":
        try:
            return json.loads(raw)
        except ValueError as error:
            errors.setdefault(key, []).append(
                _("This is not valid JSON (%(problem)s).") % {"problem": error}
            )
            return None
    return raw


def _row_data(
    fields: list[Field],
    prefix: str,
    values: dict[str, Any],
    files: MultiValueDict | None,
    errors: dict,
    error_prefix: str,
) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for f in fields:
        if f.type == "child_table" or not get_field_type(f.type).writable:
            if f.type != "child_table" and field_name(prefix, f.slug) in values:
                # sent although it cannot be written: the service says why
                data[f.slug] = values[field_name(prefix, f.slug)]
            continue
        name = field_name(prefix, f.slug)
        if f.type in FILE_TYPES:
            uploads = files.getlist(name) if files is not None else []
            if uploads:
                data[f.slug] = uploads if f.options.get("multiple") else uploads[0]
            elif values.get(name + "__clear"):
                data[f.slug] = None
            continue
        if name not in values:
            continue
        data[f.slug] = _value(f, values, name, error_prefix + f.slug, errors)
    return data


def data_from_form(
    registry: SchemaRegistry,
    schema: EntitySchema,
    state: FormState,
    files: MultiValueDict | None = None,
) -> dict[str, Any]:
    """The service ``data`` of a submitted form; problems the form itself finds go to
    ``state.errors`` keyed as the service keys its own."""
    errors = state.errors
    data = _row_data(schema.fields, "", state.values, files, errors, "")
    for f in schema.child_fields:
        if f.slug not in state.lines:
            continue
        child = registry.entity_by_id(f.options["target_id"])
        lines = []
        for number, row in enumerate(state.lines[f.slug], start=1):
            prefix = line_prefix(f.slug, row.key)
            scoped = {prefix + name: value for name, value in row.values.items()}
            line = _row_data(
                line_fields(child), prefix, scoped, files, errors, f"{f.slug}[{number}]."
            )
            if row.id is not None:
                line["id"] = row.id
            lines.append(line)
        data[f.slug] = lines
    return data


def same_input(f: Field, mine: Any, theirs: Any) -> bool:
    """Whether two values in the API's form are the same value of ``f``."""
    ftype = get_field_type(f.type)
    try:
        return ftype.serialize(f, ftype.to_internal(f, mine)) == theirs
    except (FieldValueError, TypeError, ValueError):  # refused: unlike any stored value
        return False
