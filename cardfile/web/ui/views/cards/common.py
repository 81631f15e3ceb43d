"""What every card view shares: the sign-in and error wrapper and the redirect that works for
htmx and plain posts alike (the entity of the URL is `cardfile.web.ui.display.screen_entity`)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from ..common import ui_view

# Signed in; the domain's refusals become 403 and 404 (as on every UI screen).
card_view = ui_view


def redirect(request: HttpRequest, url: str) -> HttpResponse:
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url)
