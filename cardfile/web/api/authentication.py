"""How API clients sign in: ``Authorization: Token <key>`` with a key from `ApiToken`, and the
answer given when too many failed sign-ins locked a name out (django-axes)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from cardfile.core.accounts import token_authenticate

KEYWORD = "Token"
LOCKED_OUT = "locked_out"


class ApiTokenAuthentication(BaseAuthentication):
    """``Authorization: Token <key>``: an unrevoked key of an active user, or 401."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != KEYWORD.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                _("Send the header as: Authorization: Token <key>, with no spaces in the key.")
            )
        try:
            key = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("This API token is not valid.")) from None
        token = token_authenticate(key)
        if token is None:
            raise exceptions.AuthenticationFailed(
                _("This API token is not valid: unknown, or revoked.")
            )
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("The user of this API token is deactivated."))
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        # makes DRF answer 401 (with this challenge) rather than 403 to unauthenticated calls
        return KEYWORD


def lockout_message() -> str:
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return _(
        "Too many failed sign-ins with this name from this address. Try again in %(minutes)d "
        "minutes, or ask an owner to unlock it."
    ) % {"minutes": minutes}


def lockout_body() -> dict[str, str]:
    return {"detail": lockout_message(), "code": LOCKED_OUT}


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """``AXES_LOCKOUT_CALLABLE``: the API's error shape under /api/, a plain page elsewhere
    (the admin sign-in). Status 429, as axes answers by default."""
    status = settings.AXES_HTTP_RESPONSE_CODE
    if request.path.startswith("/api/"):
        return JsonResponse(lockout_body(), status=status)
    if request.path.startswith("/accounts/"):  # the UI's sign-in page says it in place
        return render(
            request, "ui/login.html", {"lockout": lockout_message(), "next": ""}, status=status
        )
    return HttpResponse(lockout_message(), status=status, content_type="text/plain; charset=utf-8")
