"""Who may sign in and what they may do: roles, users and branches under /api/v1/meta/, API
tokens under /api/v1/auth/.

Roles and users are for owners (an owner role, or a superuser); any signed-in user may list the
branches. Every user lists and revokes their own tokens; an owner may revoke anyone's. The
services check the input and write the audit log; these views parse, ask and render.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate, user_logged_in
from django.urls import path
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cardfile.core.accounts import (
    AccountValidationError,
    branch_as_dict,
    branch_create_from_data,
    branch_get,
    branch_list,
    branch_update,
    token_as_dict,
    token_create,
    token_list,
    token_revoke,
    user_as_dict,
    user_create,
    user_get,
    user_list,
    user_update,
)
from cardfile.core.exceptions import PermissionDenied
from cardfile.metamodel.access import access_for
from cardfile.metamodel.access.services import (
    role_as_dict,
    role_create,
    role_delete,
    role_get,
    role_list,
    role_update,
)
from cardfile.metamodel.schema.dynamic import get_registry

from .authentication import lockout_body

# The name of the token POST /api/v1/auth/token/ makes, so a user can tell them apart.
SIGN_IN_TOKEN_NAME = "api"  # noqa: S105 - a label, not a secret


def _data(request: Request) -> Any:
    """The request's JSON object as a plain dict (the services check what is in it)."""
    data = request.data
    return data.dict() if hasattr(data, "dict") else data


def _require_owner(request: Request) -> None:
    if not access_for(request.user).is_owner:
        raise PermissionDenied(
            _("Only owners may manage roles, users and branches."), operation="manage_access"
        )


class OwnerView(APIView):
    """Signed-in owners only."""

    permission_classes = [IsAuthenticated]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        _require_owner(request)


# -- roles -------------------------------------------------------------------------------------


class RoleListView(OwnerView):
    def get(self, request: Request) -> Response:
        registry = get_registry()
        return Response([role_as_dict(role, registry) for role in role_list()])

    def post(self, request: Request) -> Response:
        role = role_create(data=_data(request), user=request.user)
        return Response(role_as_dict(role), status=status.HTTP_201_CREATED)


class RoleDetailView(OwnerView):
    def get(self, request: Request, name: str) -> Response:
        return Response(role_as_dict(role_get(name)))

    def patch(self, request: Request, name: str) -> Response:
        role = role_update(name=name, data=_data(request), user=request.user)
        return Response(role_as_dict(role))

    def delete(self, request: Request, name: str) -> Response:
        role_delete(name=name, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# -- users -------------------------------------------------------------------------------------


class UserListView(OwnerView):
    def get(self, request: Request) -> Response:
        return Response([user_as_dict(user) for user in user_list()])

    def post(self, request: Request) -> Response:
        user = user_create(data=_data(request), user=request.user)
        return Response(user_as_dict(user), status=status.HTTP_201_CREATED)


class UserDetailView(OwnerView):
    def get(self, request: Request, username: str) -> Response:
        return Response(user_as_dict(user_get(username)))

    def patch(self, request: Request, username: str) -> Response:
        user = user_update(username=username, data=_data(request), user=request.user)
        return Response(user_as_dict(user))


# -- branches ----------------------------------------------------------------------------------


class BranchListView(APIView):
    """Every signed-in user sees the branches (forms offer them); owners add them."""

    permission_classes = [IsAuthenticated]

    def get(self, request: Request) -> Response:
        return Response([branch_as_dict(branch) for branch in branch_list()])

    def post(self, request: Request) -> Response:
        _require_owner(request)
        branch = branch_create_from_data(data=_data(request), user=request.user)
        return Response(branch_as_dict(branch), status=status.HTTP_201_CREATED)


class BranchDetailView(APIView):
    """One branch for every signed-in user; owners change it (PATCH: only the attributes
    given, ``is_active`` false to retire it)."""

    permission_classes = [IsAuthenticated]

    def get(self, request: Request, branch_id: int) -> Response:
        return Response(branch_as_dict(branch_get(branch_id)))

    def patch(self, request: Request, branch_id: int) -> Response:
        _require_owner(request)
        branch = branch_update(branch_id=branch_id, data=_data(request), user=request.user)
        return Response(branch_as_dict(branch))


# -- tokens ------------------------------------------------------------------------------------


class SignInTokenView(APIView):
    """``{"username", "password"}`` -> ``{"token"}``: a new API token named "api".

    Failed attempts count towards the lockout (django-axes sees the Django request); a locked
    out name and address gets 429 ``{"detail", "code": "locked_out"}`` even with the right
    password, until the cool-off passes."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    def post(self, request: Request) -> Response:
        data = _data(request)
        if not isinstance(data, dict):
            raise AccountValidationError({"non_field_errors": [_("Send a JSON object.")]})
        errors = {
            key: [_("This field is required.")]
            for key in ("username", "password")
            if not isinstance(data.get(key), str) or not data.get(key)
        }
        if errors:
            raise AccountValidationError(errors)
        django_request = request._request
        user = authenticate(django_request, username=data["username"], password=data["password"])
        if getattr(django_request, "axes_locked_out", False):
            return Response(lockout_body(), status=status.HTTP_429_TOO_MANY_REQUESTS)
        if user is None:
            return Response(
                {
                    "errors": {
                        "non_field_errors": [_("Unable to sign in with this name and password.")]
                    },
                    "code": "invalid_credentials",
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        # a sign-in as any other: last_login is noted and axes forgets the failed attempts
        user_logged_in.send(sender=user.__class__, request=django_request, user=user)
        _token, key = token_create(user=user, name=SIGN_IN_TOKEN_NAME)
        return Response({"token": key})


class TokenListView(APIView):
    """The caller's own tokens; POST ``{"name"}`` makes one and shows its key this once."""

    permission_classes = [IsAuthenticated]

    def get(self, request: Request) -> Response:
        return Response([token_as_dict(token) for token in token_list(request.user)])

    def post(self, request: Request) -> Response:
        data = _data(request)
        if not isinstance(data, dict):
            raise AccountValidationError({"non_field_errors": [_("Send a JSON object.")]})
        unknown = {
            key: [_("Unknown attribute; expected one of: %(keys)s.") % {"keys": "name"}]
            for key in data
            if key != "name"
        }
        if unknown:
            raise AccountValidationError(unknown)
        token, key = token_create(user=request.user, name=data.get("name", ""))
        return Response({**token_as_dict(token), "key": key}, status=status.HTTP_201_CREATED)


class TokenDetailView(APIView):
    permission_classes = [IsAuthenticated]

    def delete(self, request: Request, token_id: int) -> Response:
        token_revoke(
            user=request.user, token_id=token_id, as_owner=access_for(request.user).is_owner
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


auth_urlpatterns = [
    path("token/", SignInTokenView.as_view(), name="api-token"),
    path("tokens/", TokenListView.as_view(), name="api-token-list"),
    path("tokens/<int:token_id>/", TokenDetailView.as_view(), name="api-token-detail"),
]

meta_urlpatterns = [
    path("roles/", RoleListView.as_view(), name="meta-role-list"),
    path("roles/<str:name>/", RoleDetailView.as_view(), name="meta-role-detail"),
    path("users/", UserListView.as_view(), name="meta-user-list"),
    path("users/<str:username>/", UserDetailView.as_view(), name="meta-user-detail"),
    path("branches/", BranchListView.as_view(), name="meta-branch-list"),
    path("branches/<int:branch_id>/", BranchDetailView.as_view(), name="meta-branch-detail"),
]
