"""The installation's setup as every UI page sees it: the first-start wizard, and the language.

`InstallationMiddleware` acts on pages of the HTML UI only (the ``ui`` URL namespace); the API,
the admin, static files and the language switch are left alone.

- First start: while the installation is not set up and no user exists, every UI page sends
  the visitor to the setup wizard. Once anyone has an account (or the setup finished) the
  wizard is gone for good, so nobody can take over an installation in use.
- Language: the language the setup chose applies to every UI page, unless the visitor chose
  their own in the account menu (Django's language cookie), which wins. The installation's
  choice beats the browser's Accept-Language: a shop chose its working language on purpose,
  a browser's header is a guess. A blank choice (installations set up before the wizard)
  leaves the language to the browser, as before.

Cost: one primary-key query per UI page; one more for anonymous visitors while the
installation is not set up.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import translation

from cardfile.core.selectors import installation_get

UI_NAMESPACE = "ui"
# The wizard's own pages; they decide for themselves whether they may be shown.
SETUP_VIEWS = ("setup", "setup-progress")


def installation_language(request: HttpRequest, chosen: str) -> str | None:
    """The language to activate for ``request``: ``chosen`` (the installation's), unless the
    visitor picked a language of their own or ``chosen`` is blank or not offered."""
    offered = {code for code, _name in settings.LANGUAGES}
    own = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
    if own and own in offered:
        return None
    if chosen and chosen in offered and translation.check_for_language(chosen):
        return chosen
    return None


class InstallationMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: Any
    ) -> HttpResponse | None:
        match = request.resolver_match
        if match is None or match.namespace != UI_NAMESPACE:
            return None
        installation = installation_get()
        request.installation = installation  # the page's top bar shows its company name
        if match.url_name not in SETUP_VIEWS and _first_start(request, installation.is_set_up):
            return HttpResponseRedirect(reverse("ui:setup"))
        language = installation_language(request, installation.language)
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return None


def _first_start(request: HttpRequest, set_up: bool) -> bool:
    """Not set up, and nobody has an account yet (a signed-in visitor proves someone has)."""
    if set_up or request.user.is_authenticated:
        return False
    return not get_user_model().objects.exists()
