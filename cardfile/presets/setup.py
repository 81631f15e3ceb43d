"""First-start setup: what the wizard asks and `cardfile setup` takes as flags, checked as a
whole, then applied all or nothing.

`setup_run` checks every choice first (errors keyed by choice: ``trade``, ``company``,
``currency``, ``locale``, ``branches``, ``owner_username``, ``owner_email``,
``owner_password``), then in one transaction: takes the installation row's lock and refuses if
the installation is set up (or, unless told otherwise, if anyone has an account), creates the
owner's account with the built-in ``owner`` role, installs the trade's preset as the owner,
creates the branches and records the installation. Two setups started at once run one after the
other; the second finds the first's work and is refused.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cardfile.core.accounts import AccountValidationError, user_create
from cardfile.core.exceptions import CardfileError, InvalidInput, Problems
from cardfile.core.installation import currency_clean, language_clean
from cardfile.core.models import Branch, Installation
from cardfile.core.selectors import installation_get
from cardfile.core.services import branch_create
from cardfile.metamodel.access.services import role_create
from cardfile.metamodel.schema.sync import schema_atomic

from .selectors import preset_list
from .services import preset_install

EMPTY_TRADE = "empty"
OWNER_ROLE = "owner"
# setup_run reports progress in percent: the preset's own steps fill most of the bar.
PROGRESS_TOTAL = 100
_PRESET_START, _PRESET_END = 10, 90

Progress = Callable[[int, int, str], None]


class SetupInvalid(InvalidInput):
    """A setup choice was refused; ``errors`` is keyed by the choice (``owner_password``)."""


class SetupRefused(CardfileError):
    """The installation is set up already (or in use): the first-start setup runs only once."""

    code = "already_set_up"


@dataclass(frozen=True)
class Trade:
    """A choice of trade: a shipped preset, or the empty installation."""

    name: str
    title: str
    description: str
    currency: str
    locale: str


@dataclass(frozen=True)
class SetupChoices:
    """The choices, checked and completed with their defaults."""

    trade: str
    company: str
    currency: str
    locale: str  # blank: the preset's label language; each browser's UI language
    branches: tuple[str, ...]
    owner_username: str
    owner_email: str
    owner_password: str
    demo_data: bool


def setup_trades() -> list[Trade]:
    """The trades to choose from: the shipped presets, then the empty installation."""
    trades = [
        Trade(
            name=item["name"],
            title=item["title"],
            description=item["description"],
            currency=item["currency"],
            locale=item["locale"],
        )
        for item in preset_list()
    ]
    trades.append(
        Trade(
            name=EMPTY_TRADE,
            title=_("Empty"),
            description=_("No entities yet: build your own in the configurator."),
            currency=settings.CARDFILE_CURRENCY,
            locale="",
        )
    )
    return trades


def setup_validate(
    *,
    trade: Any,
    company: Any,
    currency: Any,
    locale: Any,
    branches: Any,
    owner_username: Any,
    owner_email: Any,
    owner_password: Any,
    demo_data: Any,
) -> SetupChoices:
    """Every choice checked; all problems raised together as `SetupInvalid`. A blank currency
    becomes the trade's; a blank locale stays blank."""
    problems = Problems(SetupInvalid)
    trades = {t.name: t for t in setup_trades()}
    chosen = trades.get(trade) if isinstance(trade, str) else None
    if chosen is None:
        problems.add(
            "trade",
            _("There is no trade %(trade)s; choose one of: %(trades)s.")
            % {"trade": trade, "trades": ", ".join(trades)},
        )

    max_length = Installation._meta.get_field("company_name").max_length
    name = problems.text("company", company, max_length)
    if name == "":
        problems.add("company", _("Give the company's name."))

    code = _clean_currency(currency, chosen, problems)
    language = _clean_locale(locale, problems)
    branch_names = _clean_branches(branches, problems)
    username, email = _clean_owner(owner_username, owner_email, owner_password, problems)

    if not isinstance(demo_data, bool):
        problems.add("demo_data", _("Use true or false."))
    problems.raise_any()
    return SetupChoices(
        trade=trade,
        company=name or "",
        currency=code,
        locale=language,
        branches=branch_names,
        owner_username=username,
        owner_email=email,
        owner_password=owner_password,
        demo_data=demo_data,
    )


def _clean_currency(value: Any, trade: Trade | None, problems: Problems) -> str:
    if value is None or value == "":
        return (trade.currency if trade else "") or settings.CARDFILE_CURRENCY
    return currency_clean(value, problems, "currency")


def _clean_locale(value: Any, problems: Problems) -> str:
    return language_clean(value, problems, "locale")


def _clean_branches(value: Any, problems: Problems) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        problems.add("branches", _("Branches are a list of names."))
        return ()
    max_length = Branch._meta.get_field("name").max_length
    names: list[str] = []
    seen: set[str] = set()
    for raw in value:
        name = raw.strip()
        if not name:
            continue
        if len(name) > max_length:
            problems.add(
                "branches",
                _("%(name)s…: a branch name has at most %(n)d characters.")
                % {"name": name[:20], "n": max_length},
            )
        elif name.casefold() in seen:
            problems.add("branches", _("%(name)s is named twice.") % {"name": name})
        elif Branch.objects.filter(name__iexact=name).exists():
            problems.add(
                "branches", _("There is already a branch named %(name)s.") % {"name": name}
            )
        seen.add(name.casefold())
        names.append(name)
    return tuple(names)


def _clean_owner(username: Any, email: Any, password: Any, problems: Problems) -> tuple[str, str]:
    model = get_user_model()
    name = problems.text("owner_username", username)
    if name == "":
        problems.add("owner_username", _("The owner needs a username."))
    elif name:
        try:
            model._meta.get_field("username").clean(name, None)
        except ValidationError as error:
            for message in error.messages:
                problems.add("owner_username", str(message))
        if model.objects.filter(username__iexact=name).exists():
            problems.add(
                "owner_username",
                _("There is already a user named %(username)s.") % {"username": name},
            )
    address = problems.text("owner_email", email, 254) or ""
    if address:
        try:
            validate_email(address)
        except ValidationError as error:
            for message in error.messages:
                problems.add("owner_email", str(message))
    if not isinstance(password, str) or not password:
        problems.add("owner_password", _("Give the owner a password."))
    else:
        try:
            validate_password(password, user=model(username=name or "", email=address))
        except ValidationError as error:
            for message in error.messages:
                problems.add("owner_password", str(message))
    return name or "", address


def setup_run(
    *,
    trade: str,
    company: str,
    currency: str | None,
    locale: str | None,
    branches: list[str] | tuple[str, ...],
    owner_username: str,
    owner_email: str,
    owner_password: str,
    demo_data: bool,
    progress: Progress | None = None,
    allow_existing_users: bool = False,
) -> Installation:
    """Set the installation up (see the module's docstring); the recorded `Installation`.

    ``progress(done, total, message)`` is called inside the transaction, in percent.
    ``allow_existing_users`` lets the command line set up a database where someone already
    made an account (with `cardfile manage createsuperuser`); the web wizard never does.
    """
    current = installation_get()
    if current.is_set_up:  # said before any choice is checked; checked again under the lock
        _claim_refused(current)
    choices = setup_validate(
        trade=trade,
        company=company,
        currency=currency,
        locale=locale,
        branches=list(branches) if branches is not None else None,
        owner_username=owner_username,
        owner_email=owner_email,
        owner_password=owner_password,
        demo_data=demo_data,
    )
    report = progress or _no_progress
    with schema_atomic():
        installation = _claim(allow_existing_users=allow_existing_users)
        report(1, PROGRESS_TOTAL, _("Creating the owner's account"))
        owner = _owner_create(choices)
        if choices.trade != EMPTY_TRADE:
            report(_PRESET_START, PROGRESS_TOTAL, _("Installing the preset"))
            preset_install(
                source=choices.trade,
                demo_data=choices.demo_data,
                locale=choices.locale or None,
                currency=choices.currency,
                user=owner,
                progress=_scaled(report),
            )
        report(_PRESET_END, PROGRESS_TOTAL, _("Creating the branches"))
        for name in choices.branches:
            owner.branches.add(branch_create(name=name, user=owner))
        installation.company_name = choices.company
        installation.currency = choices.currency
        installation.language = choices.locale
        installation.preset = "" if choices.trade == EMPTY_TRADE else choices.trade
        installation.set_up_at = timezone.now()
        installation.save()
        report(PROGRESS_TOTAL, PROGRESS_TOTAL, _("Cardfile is set up."))
    return installation


def setup_demo(*, trade: str, user: Any, progress: Progress | None = None) -> Installation | None:
    """`cardfile demo`: install ``trade``'s preset with its demo data as ``user`` (the demo's
    admin) and record the installation as set up, all or nothing; None when it is set up
    already (a second start of the demo keeps its data)."""
    if installation_get().is_set_up:
        return None
    known = {t.name: t for t in setup_trades() if t.name != EMPTY_TRADE}
    if trade not in known:
        raise SetupInvalid(
            {
                "trade": [
                    _("Unknown trade %(trade)s; expected one of %(known)s.")
                    % {"trade": trade, "known": ", ".join(sorted(known))}
                ]
            }
        )
    with schema_atomic():
        installation = _claim(allow_existing_users=True)
        preset_install(source=trade, demo_data=True, user=user, progress=progress or _no_progress)
        installation.company_name = _("Cardfile demo")
        installation.currency = known[trade].currency
        installation.preset = trade
        installation.set_up_at = timezone.now()
        installation.save()
    return installation


def _no_progress(done: int, total: int, message: str) -> None:
    return None


def _scaled(report: Progress) -> Progress:
    """The preset's ``progress(done, total)`` drawn on the setup's bar between its marks."""

    def scaled(done: int, total: int, message: str) -> None:
        share = min(max(done, 0), total) / total if total > 0 else 0
        report(_PRESET_START + int(share * (_PRESET_END - _PRESET_START)), PROGRESS_TOTAL, message)

    return scaled


def _claim(*, allow_existing_users: bool) -> Installation:
    """The installation row, locked to the end of the transaction; refused if set up."""
    installation = _locked_installation()
    if installation.is_set_up:
        _claim_refused(installation)
    if not allow_existing_users and get_user_model().objects.exists():
        raise SetupRefused(
            _("Cardfile is already in use: someone has an account. Sign in instead.")
        )
    return installation


def _claim_refused(installation: Installation) -> None:
    raise SetupRefused(
        _("Cardfile is already set up (since %(when)s); the first-start setup runs once.")
        % {"when": f"{installation.set_up_at:%Y-%m-%d %H:%M} UTC"}
    )


def _locked_installation() -> Installation:
    rows = Installation.objects.select_for_update()
    found = rows.filter(pk=Installation.SINGLETON_ID).first()
    if found is not None:
        return found
    # A setup running at the same moment inserts the row too: its insert waits for ours (or
    # ours for its), and the loser reads the winner's row once that commits.
    try:
        with transaction.atomic():
            Installation.objects.create(pk=Installation.SINGLETON_ID)
    except IntegrityError:
        pass
    return rows.get(pk=Installation.SINGLETON_ID)


def _owner_create(choices: SetupChoices) -> Any:
    if not Group.objects.filter(name=OWNER_ROLE, cardfile_role__is_owner=True).exists():
        # made by a migration in every installation; a database emptied since gets it again
        role_create(data={"name": OWNER_ROLE, "label": _("Owner"), "is_owner": True})
    try:
        return user_create(
            data={
                "username": choices.owner_username,
                "email": choices.owner_email,
                "password": choices.owner_password,
                "roles": [OWNER_ROLE],
            }
        )
    except AccountValidationError as error:
        raise SetupInvalid(
            {f"owner_{key}": messages for key, messages in error.errors.items()}
        ) from None


# -- the command line ----------------------------------------------------------------------------

# How the command line names each choice in its error messages.
_OPTIONS = {
    "trade": "--trade",
    "company": "--company",
    "currency": "--currency",
    "locale": "--locale",
    "branches": "--branch",
    "owner_username": "--owner-username",
    "owner_email": "--owner-email",
    "owner_password": "--owner-password-env",
    "owner_roles": "--owner-username",
    "demo_data": "--demo-data",
}


def setup_command(options: argparse.Namespace) -> int:
    """`cardfile setup`: 0 when set up; 2 with the problems on stderr."""
    password = os.environ.get(options.owner_password_env, "")
    if not password:
        print(
            _("%(option)s: set the environment variable %(name)s to the owner's password.")
            % {"option": "--owner-password-env", "name": options.owner_password_env},
            file=sys.stderr,
        )
        return 2
    shown: list[str] = []

    def progress(done: int, total: int, message: str) -> None:
        if message and (not shown or shown[-1] != message):
            shown.append(message)
            print(f"[{done * 100 // max(total, 1):3d}%] {message}", flush=True)

    try:
        installation = setup_run(
            trade=options.trade,
            company=options.company,
            currency=options.currency,
            locale=options.locale,
            branches=options.branch,
            owner_username=options.owner_username,
            owner_email=options.owner_email,
            owner_password=password,
            demo_data=options.demo_data,
            progress=progress,
            allow_existing_users=True,
        )
    except InvalidInput as error:
        for key, messages in error.errors.items():
            for message in messages:
                print(f"{_OPTIONS.get(key, key)}: {message}", file=sys.stderr)
        return 2
    except CardfileError as error:
        print(str(error), file=sys.stderr)
        return 2
    print(
        _("%(company)s is set up: sign in as %(username)s.")
        % {"company": installation.company_name, "username": options.owner_username}
    )
    return 0
