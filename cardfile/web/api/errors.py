"""One mapping from the error tree to HTTP, so every endpoint answers errors the same way:
400 ``{"errors": {"<field>": [...]}}``; 401/403/404/409 ``{"detail", "code"}``."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from rest_framework import exceptions as drf_exceptions
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from cardfile.core.exceptions import CardfileError, InvalidInput, NotFound, PermissionDenied
from cardfile.formula_engine import FormulaError
from cardfile.metamodel.access.definitions import FormulaProblem
from cardfile.metamodel.fields.base import FieldOptionsError, FieldValueError
from cardfile.metamodel.records.exceptions import (
    RecordConflict,
    RecordProtected,
    RecordValidationError,
)
from cardfile.metamodel.schema.sync import SchemaChangeError

NON_FIELD = "non_field_errors"


class BadRequest(InvalidInput):
    """Input the API itself rejects (an unknown filter, a malformed parameter)."""

    code = "bad_request"


def bad_formula(key: str, error: FormulaError) -> BadRequest:
    """A formula the caller gave under ``key`` is wrong: the message names the position, and
    ``formula`` carries it with the caret picture and what was expected."""
    return BadRequest({key: [error.message]}, formula=error.as_dict())


def _errors_of(error: CardfileError) -> dict[str, list[str]]:
    errors = getattr(error, "errors", None) or error.details.get("errors")
    return dict(errors) if errors else {NON_FIELD: [error.message]}


def error_response(error: CardfileError) -> Response:
    if isinstance(error, NotFound):
        return Response(
            {"detail": error.message, "code": error.code}, status=status.HTTP_404_NOT_FOUND
        )
    if isinstance(error, PermissionDenied):
        return Response(
            {"detail": error.message, "code": error.code}, status=status.HTTP_403_FORBIDDEN
        )
    if isinstance(error, RecordConflict):
        return Response(
            {"detail": error.message, "code": error.code, "current": error.current},
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(error, RecordProtected | SchemaChangeError):
        body: dict[str, Any] = {"detail": error.message, "code": error.code}
        details = {k: v for k, v in error.details.items() if k != "errors"}
        if details:
            body["details"] = details
        return Response(body, status=status.HTTP_409_CONFLICT)
    if isinstance(
        error,
        RecordValidationError | FieldValueError | FieldOptionsError | InvalidInput,
    ):
        body = {"errors": _errors_of(error), "code": error.code}
        if getattr(error, "formula", None):
            body["formula"] = error.formula
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(error, FormulaError):
        return error_response(bad_formula(NON_FIELD, error))
    if isinstance(error, FormulaProblem):
        return error_response(bad_formula(error.key, error.error))
    return Response({"errors": _errors_of(error), "code": error.code}, status=400)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER: our errors by type, DRF's own reshaped to the contract."""
    if isinstance(exc, CardfileError):
        return error_response(exc)
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, drf_exceptions.ValidationError):
        data = exc.detail if isinstance(exc.detail, dict) else {NON_FIELD: exc.detail}
        response.data = {
            "errors": {k: v if isinstance(v, list) else [v] for k, v in data.items()},
            "code": "invalid",
        }
    elif isinstance(response.data, dict) and "detail" in response.data:
        response.data["code"] = getattr(exc, "default_code", "error")
    return response
