"""The company (owners only): what the first-start wizard asked about it — the company's name,
its currency and its working language — changed through `installation_update`, whose errors
come back by field."""

from __future__ import annotations

from typing import Any

from babel import Locale, UnknownLocaleError
from babel import numbers as babel_numbers
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import path
from django.utils import translation
from django.utils.translation import gettext as _

from cardfile.core.exceptions import CardfileError
from cardfile.core.models import Installation
from cardfile.core.selectors import installation_get
from cardfile.presets.company import INSTALLATION_KEYS, installation_update
from cardfile.web.installation import installation_language
from cardfile.web.ui.views.setup import COMMON_CURRENCIES

from .common import owner_view, render_form


def _babel_locale() -> Locale:
    try:
        return Locale.parse(translation.to_locale(translation.get_language() or "en"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


def currency_choices(current: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """``(common, others)``: the wizard's common currencies (and ``current``, whatever it is)
    first, then every other code babel knows, each as ``(code, "EUR · Euro")`` in the page's
    language."""
    locale = _babel_locale()
    known = babel_numbers.list_currencies()

    def named(code: str) -> tuple[str, str]:
        return code, f"{code} · {babel_numbers.get_currency_name(code, locale=locale)}"

    common = [c for c in COMMON_CURRENCIES if c in known]
    if current and current not in common:
        common.insert(0, current)
    others = sorted(known - set(common))
    return [named(c) for c in common], [named(c) for c in others]


def _render(
    request: HttpRequest,
    installation: Installation,
    values: dict[str, Any],
    error: CardfileError | None = None,
) -> HttpResponse:
    common, others = currency_choices(values.get("currency") or installation.currency)
    context = {
        "installation": installation,
        "values": values,
        "common_currencies": common,
        "other_currencies": others,
        "languages": settings.LANGUAGES,
        "fallback_currency": settings.CARDFILE_CURRENCY,
        "section": "company",
    }
    return render_form(request, "ui/config/company.html", context, error=error)


@owner_view
def company_edit(request: HttpRequest) -> HttpResponse:
    installation = installation_get()
    if request.method != "POST":
        values = {key: getattr(installation, key) for key in INSTALLATION_KEYS}
        return _render(request, installation, values)
    data = {key: request.POST.get(key, "").strip() for key in INSTALLATION_KEYS}
    try:
        saved = installation_update(data=data, user=request.user)
    except CardfileError as error:
        return _render(request, installation, data, error=error)
    # said in the language the next page will speak
    language = installation_language(request, saved.language) or (
        translation.get_language_from_request(request)
    )
    with translation.override(language):
        messages.success(request, _("Company settings saved."))
    return redirect("ui:config-company")


urlpatterns = [
    path("company/", company_edit, name="config-company"),
]
