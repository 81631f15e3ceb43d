"""What every UI view shares: signed in, and the domain's refusals shown as 403 and 404 pages."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as Forbidden
from django.http import Http404, HttpRequest, HttpResponse

from cardfile.core.exceptions import NotFound, PermissionDenied


def ui_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed in; `PermissionDenied` and `NotFound` from the services become 403 and 404."""

    @login_required
    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except PermissionDenied as error:
            raise Forbidden(error.message) from None
        except NotFound as error:
            raise Http404(error.message) from None

    return wrapped
