"""What every card view shares: the sign-in and error wrapper and the redirect that works for
htmx and plain posts alike (the entity of the URL is `cardfile.web.ui.display.screen_entity`)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as Forbidden
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect

from cardfile.core.exceptions import NotFound, PermissionDenied


def card_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed in; the domain's refusals become 403 and 404."""

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


def redirect(request: HttpRequest, url: str) -> HttpResponse:
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url)
