"""The first-start wizard: the trade, the company, currency and language, branches, the owner's
account and demo data; then the setup runs as a job behind a progress bar and the new owner
lands in the app, signed in.

Open only while the installation is not set up and nobody has an account
(`cardfile.web.installation` sends every UI page here then). The browser that sent the wizard
gets a signed cookie naming its job; only that browser's progress page signs the owner in, and
only once (while the new account has never signed in). Two wizards sent at once both start a
job; the setup's lock lets one finish and refuses the other, whose page says so.
"""

from __future__ import annotations

from typing import Any

from babel import Locale, UnknownLocaleError
from babel import numbers as babel_numbers
from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model, login
from django.core import signing
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.translation import get_language, gettext_lazy, to_locale
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from cardfile.core.models import Job
from cardfile.core.selectors import installation_get
from cardfile.presets.setup import OWNER_ROLE, SetupInvalid, Trade, setup_trades, setup_validate
from cardfile.web.jobs import SETUP_JOB, job_live_progress, setup_job_start

COOKIE = "cardfile_setup"
COOKIE_SALT = "cardfile.web.setup"
COOKIE_MAX_AGE = 24 * 3600
POLL_SECONDS = 1
LOGIN_BACKEND = "django.contrib.auth.backends.ModelBackend"
# Offered first in the currency list; the trades' own currencies are added to them.
COMMON_CURRENCIES = (
    "EUR",
    "USD",
    "GBP",
    "CHF",
    "PLN",
    "CZK",
    "HUF",
    "RON",
    "SEK",
    "NOK",
    "DKK",
    "RUB",
    "UAH",
    "BYN",
    "KZT",
    "GEL",
    "AMD",
    "AZN",
    "UZS",
    "TRY",
    "ILS",
    "AED",
    "SAR",
    "EGP",
    "MAD",
    "INR",
    "CNY",
    "JPY",
    "KRW",
    "CAD",
    "AUD",
    "NZD",
    "BRL",
    "MXN",
    "ZAR",
)
# The service's keys -> the form's fields (the password is checked as typed the first time).
FORM_FIELDS = {"owner_password": "password1", "owner_roles": "owner_username"}


def _currency_choices(trades: list[Trade]) -> list[tuple[str, str]]:
    try:
        locale = Locale.parse(to_locale(get_language() or settings.LANGUAGE_CODE))
    except (UnknownLocaleError, ValueError):
        locale = Locale.parse("en")
    known = babel_numbers.list_currencies()
    codes = list(COMMON_CURRENCIES)
    codes += sorted({t.currency for t in trades if t.currency and t.currency not in codes})
    return [
        (code, f"{code} · {babel_numbers.get_currency_name(code, locale=locale)}")
        for code in codes
        if code in known
    ]


class SetupForm(forms.Form):
    trade = forms.ChoiceField(label=gettext_lazy("Trade"), widget=forms.RadioSelect)
    company = forms.CharField(label=gettext_lazy("Company name"), max_length=200)
    currency = forms.ChoiceField(label=gettext_lazy("Currency"))
    locale = forms.ChoiceField(label=gettext_lazy("Language"), choices=settings.LANGUAGES)
    branches = forms.CharField(
        label=gettext_lazy("Branches"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("One shop or location per line; leave empty if there is one."),
    )
    owner_username = forms.CharField(label=gettext_lazy("Username"), max_length=150)
    owner_email = forms.CharField(label=gettext_lazy("Email"), required=False, max_length=254)
    password1 = forms.CharField(
        label=gettext_lazy("Password"), strip=False, widget=forms.PasswordInput
    )
    password2 = forms.CharField(
        label=gettext_lazy("Password again"), strip=False, widget=forms.PasswordInput
    )
    demo_data = forms.BooleanField(
        label=gettext_lazy("Load demo data (clients, orders, payments) to try things out"),
        required=False,
    )

    def __init__(self, *args: Any, trades: list[Trade], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.trades = trades
        self.fields["trade"].choices = [(t.name, t.title) for t in trades]
        self.fields["currency"].choices = _currency_choices(trades)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        first, second = cleaned.get("password1"), cleaned.get("password2")
        if first and second and first != second:
            self.add_error("password2", _("The two passwords differ."))
        return cleaned

    def choices(self) -> dict[str, Any]:
        """The service's keyword arguments from a valid form."""
        data = self.cleaned_data
        return {
            "trade": data["trade"],
            "company": data["company"],
            "currency": data["currency"],
            "locale": data["locale"],
            "branches": data["branches"].splitlines(),
            "owner_username": data["owner_username"],
            "owner_email": data["owner_email"],
            "owner_password": data["password1"],
            "demo_data": data["demo_data"],
        }


def _wizard_open() -> bool:
    return not installation_get().is_set_up and not get_user_model().objects.exists()


def _own_job(request: HttpRequest) -> Job | None:
    """The setup job this browser started (named in its signed cookie), if any."""
    try:
        job_id = int(request.get_signed_cookie(COOKIE, salt=COOKIE_SALT, max_age=COOKIE_MAX_AGE))
    except (KeyError, ValueError, signing.BadSignature):
        return None
    return Job.objects.filter(pk=job_id, kind=SETUP_JOB).first()


@require_http_methods(["GET", "POST"])
def setup(request: HttpRequest) -> HttpResponse:
    job = _own_job(request)
    if job is not None and job.status not in (Job.Status.FAILED, Job.Status.CANCELLED):
        return HttpResponseRedirect(reverse("ui:setup-progress"))
    if not _wizard_open():
        return HttpResponseRedirect(reverse("ui:home"))
    trades = setup_trades()
    if request.method == "POST":
        form = SetupForm(request.POST, trades=trades)
        if form.is_valid():
            try:
                choices = setup_validate(**form.choices())
            except SetupInvalid as error:
                for key, messages in error.errors.items():
                    name = FORM_FIELDS.get(key, key)
                    for message in messages:
                        form.add_error(name if name in form.fields else None, message)
            else:
                started = setup_job_start(choices)
                response = HttpResponseRedirect(reverse("ui:setup-progress"))
                response.set_signed_cookie(
                    COOKIE,
                    str(started.pk),
                    salt=COOKIE_SALT,
                    max_age=COOKIE_MAX_AGE,
                    httponly=True,
                    samesite="Lax",
                    secure=request.is_secure(),
                )
                return response
        status = 400
    else:
        first = trades[0]
        form = SetupForm(
            trades=trades,
            initial={
                "trade": first.name,
                "currency": first.currency or settings.CARDFILE_CURRENCY,
                "locale": _offered_language(request),
            },
        )
        status = 200
    return render(request, "ui/setup/wizard.html", {"form": form, "trades": trades}, status=status)


def _offered_language(request: HttpRequest) -> str:
    current = getattr(request, "LANGUAGE_CODE", "") or get_language() or settings.LANGUAGE_CODE
    offered = [code for code, _name in settings.LANGUAGES]
    return current if current in offered else offered[0]


@require_http_methods(["GET"])
def setup_progress(request: HttpRequest) -> HttpResponse:
    job = _own_job(request)
    if job is None:
        return HttpResponseRedirect(reverse("ui:setup" if _wizard_open() else "ui:home"))
    if job.status == Job.Status.DONE:
        _sign_in_owner(request, job)
        response = _go(request, reverse("ui:home"))
        response.delete_cookie(COOKIE, samesite="Lax")
        return response
    percent, message = job_live_progress(job)
    failed = job.status in (Job.Status.FAILED, Job.Status.CANCELLED)
    context = {"job": job, "percent": percent, "message": message, "failed": failed}
    context["poll_seconds"] = POLL_SECONDS
    template = "ui/setup/_progress.html" if request.htmx else "ui/setup/progress.html"
    return render(request, template, context)


def _go(request: HttpRequest, url: str) -> HttpResponse:
    """To ``url``: a redirect, or for htmx's poll a full-page redirect it follows."""
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url)


def _sign_in_owner(request: HttpRequest, job: Job) -> None:
    """Sign this browser in as the owner the job made, once: only while that account has
    never signed in (so a copied cookie is worth nothing afterwards)."""
    owner = (
        get_user_model()
        .objects.filter(
            username=job.params.get("owner_username", ""),
            groups__name=OWNER_ROLE,
            is_active=True,
            last_login__isnull=True,
        )
        .first()
    )
    if owner is not None and not request.user.is_authenticated:
        login(request, owner, backend=LOGIN_BACKEND)


urlpatterns = [
    path("", setup, name="setup"),
    path("progress/", setup_progress, name="setup-progress"),
]
