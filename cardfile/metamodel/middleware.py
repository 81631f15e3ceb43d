"""Check the schema version once per request and keep it for the request; work the user's
rights out at most once per request."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from .access.rights import access_memo
from .schema.dynamic import pinned_schema


class SchemaVersionMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with pinned_schema(), access_memo():
            return self.get_response(request)
