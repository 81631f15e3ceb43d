"""Page-number pagination without COUNT(*): a page reads ``page_size + 1`` rows to know whether
there is a next one. ``?count=true`` adds the total, at the price of a count query."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import models
from django.utils.translation import gettext as _
from rest_framework.request import Request
from rest_framework.utils.urls import remove_query_param, replace_query_param

from .errors import BadRequest

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
# Far enough for any screen; deeper offsets mean a filter is missing.
MAX_PAGE = 1_000_000


@dataclass
class Page:
    objects: list[models.Model]
    next: str | None
    previous: str | None
    count: int | None

    def body(self, results: list[dict[str, Any]]) -> dict[str, Any]:
        data: dict[str, Any] = {"results": results, "next": self.next, "previous": self.previous}
        if self.count is not None:
            data["count"] = self.count
        return data


def parse_flag(request: Request, name: str) -> bool:
    raw = request.query_params.get(name)
    if raw is None:
        return False
    text = raw.strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no", ""):
        return False
    raise BadRequest({name: [_("Expected true or false, got %(value)r.") % {"value": raw}]})


def _positive(request: Request, name: str, default: int, maximum: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or not raw.strip():
        return default
    text = raw.strip()
    if not text.isdigit() or not 1 <= int(text) <= maximum:
        raise BadRequest(
            {
                name: [
                    _("Expected a whole number from 1 to %(max)d, got %(value)r.")
                    % {"max": maximum, "value": raw}
                ]
            }
        )
    return int(text)


def paginate(request: Request, queryset: models.QuerySet) -> Page:
    """One page of an ordered queryset, with links to its neighbours."""
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    for name, default, maximum in (
        ("page", 1, MAX_PAGE),
        ("page_size", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE),
    ):
        try:
            values[name] = _positive(request, name, default, maximum)
        except BadRequest as error:
            errors.update(error.errors)
    try:
        counted = parse_flag(request, "count")
    except BadRequest as error:
        errors.update(error.errors)
    if errors:
        raise BadRequest(errors)
    page, size = values["page"], values["page_size"]
    start = (page - 1) * size
    rows = list(queryset[start : start + size + 1])
    url = request.build_absolute_uri()
    next_url = replace_query_param(url, "page", page + 1) if len(rows) > size else None
    previous_url = None
    if page == 2:
        previous_url = remove_query_param(url, "page")
    elif page > 2:
        previous_url = replace_query_param(url, "page", page - 1)
    return Page(
        objects=rows[:size],
        next=next_url,
        previous=previous_url,
        count=queryset.count() if counted else None,
    )
