"""The company settings under /api/v1/meta/: ``installation/``, read (GET) and changed (PATCH)
by owners; anyone else gets 403.

The body is ``{"company_name", "currency", "language", "preset", "set_up_at", "updated_at"}``;
a PATCH names what it changes of ``company_name``, ``currency`` and ``language`` (blank: each
browser's language). The service checks the input and writes the audit log; 400 errors are
keyed by the JSON key.
"""

from __future__ import annotations

from typing import Any

from django.urls import path
from django.utils.translation import gettext as _
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cardfile.core.exceptions import PermissionDenied
from cardfile.core.selectors import installation_get
from cardfile.metamodel.access import access_for
from cardfile.presets.company import installation_as_dict, installation_update


def _data(request: Request) -> Any:
    data = request.data
    return data.dict() if hasattr(data, "dict") else data


class InstallationView(APIView):
    permission_classes = [IsAuthenticated]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if not access_for(request.user).is_owner:
            raise PermissionDenied(
                _("Only owners may see or change the company's settings."), operation="configure"
            )

    def get(self, request: Request) -> Response:
        return Response(installation_as_dict(installation_get()))

    def patch(self, request: Request) -> Response:
        installation = installation_update(data=_data(request), user=request.user)
        return Response(installation_as_dict(installation))


urlpatterns = [
    path("installation/", InstallationView.as_view(), name="meta-installation"),
]
