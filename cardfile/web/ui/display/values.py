"""Values as text for the user's language: linked records by their titles, users by their
names, anything else by its field type's ``format``. One rule for every screen: list cells,
board cards, read-only card fields, history and conflicts."""

from __future__ import annotations

import json
from typing import Any

from cardfile.core.exceptions import CardfileError
from cardfile.metamodel.fields import get_field_type
from cardfile.metamodel.fields.computed import COMPUTED_TYPES
from cardfile.metamodel.models import Field
from cardfile.metamodel.records import record_to_dict
from cardfile.metamodel.schema.dynamic import EntitySchema

from .titles import Titles

# Values written left to right whatever the language (numbers of phones, addresses); shown in
# a right-to-left page they keep their order only when marked so.
LEFT_TO_RIGHT_TYPES = frozenset({"phone", "email", "url"})


def linked_ids(titles: Titles, schema: EntitySchema, f: Field, obj: Any) -> list[int]:
    """The ids a stored record's multi-link holds (loaded with the row, else read)."""
    ids = obj.__dict__.get("_cf_links", {}).get(f.pk)
    if ids is None:
        ids = record_to_dict(schema, obj, registry=titles.registry).get(f.slug) or []
    return list(ids)


def stored_text(
    titles: Titles, schema: EntitySchema, f: Field, obj: Any, *, bare: bool = False
) -> str:
    """Field ``f`` of ``obj``, a stored record of ``schema``, as text ("" for no value;
    ``bare``: see `Titles`)."""
    if obj is None:
        return ""
    if f.type == "multi_link":
        return _reference_text(titles, f, linked_ids(titles, schema, f, obj), bare)
    ftype = get_field_type(f.type)
    value = ftype.get_value(f, obj)
    if value is None:
        return ""
    if f.type in ("link", "user"):
        return _reference_text(titles, f, value, bare)
    return ftype.format(f, value, locale=titles.locale)


def value_text(titles: Titles, f: Field, value: Any, *, bare: bool = False) -> str:
    """A value in the API's shape (``record_to_dict``, history, a form's ``data``) as text;
    what does not read as a value of the field is shown as it is."""
    if f.type in ("link", "multi_link", "user"):
        return _reference_text(titles, f, value, bare)
    ftype = get_field_type(f.type)
    try:
        internal = ftype.to_internal(f, value) if f.type not in COMPUTED_TYPES else None
    except CardfileError:
        internal = None
    if internal is None:
        return raw_text(value)
    return ftype.format(f, internal, locale=titles.locale)


def raw_text(value: Any) -> str:
    """A value that is no value of a known field, as it is."""
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _reference_text(titles: Titles, f: Field, value: Any, bare: bool) -> str:
    if f.type == "user":
        return titles.user(value)
    target = titles.registry.entity_by_id(f.options["target_id"])
    if f.type == "link":
        return titles.of(target, value, bare=bare)
    ids = value if isinstance(value, list) else [value] if value not in (None, "") else []
    titles.load(target, ids)
    return ", ".join(titles.of(target, pk, bare=bare) for pk in ids)
