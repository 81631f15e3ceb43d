"""The installation's company settings after the first-start setup: the company's name, its
currency and its working language, changed by an owner; and the checks of a currency and a
language that the setup (`cardfile.presets.setup`) shares.

The currency is what preset installs give money fields that name none. It does not relabel
anything stored: money fields that name no currency keep reading ``CARDFILE_CURRENCY``, so an
amount saved without a currency never changes meaning when the owner changes this.
"""

from __future__ import annotations

from typing import Any

from babel import numbers as babel_numbers
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.utils.translation import gettext as _

from .exceptions import InvalidInput, PermissionDenied, Problems
from .models import AuditLog, Installation
from .services import audit_log_record

INSTALLATION_KEYS = ("company_name", "currency", "language")
NON_FIELD = "non_field_errors"


class InstallationInvalid(InvalidInput):
    """Company settings that were refused; ``errors`` by ``company_name``, ``currency`` or
    ``language``."""


def currency_clean(value: Any, problems: Problems, key: str = "currency") -> str:
    """``value`` as an upper-case ISO 4217 code babel knows (``"eur"`` is ``EUR``); else the
    error under ``key``. Blank stays blank: the caller decides what blank means."""
    if value is None or value == "":
        return ""
    if not isinstance(value, str):
        problems.add(key, _("Send a text."))
        return ""
    code = value.strip().upper()
    if code not in babel_numbers.list_currencies():
        problems.add(
            key,
            _("%(code)s is not an ISO 4217 currency code; write one such as EUR or USD.")
            % {"code": value},
        )
    return code


def language_clean(value: Any, problems: Problems, key: str = "language") -> str:
    """``value`` if it is one of ``settings.LANGUAGES``; blank stays blank (each browser's
    language); else the error under ``key``."""
    if value is None or value == "":
        return ""
    offered = [code for code, _name in settings.LANGUAGES]
    if value not in offered:
        problems.add(
            key,
            _("There is no language %(locale)s here; choose one of: %(offered)s.")
            % {"locale": value, "offered": ", ".join(offered)},
        )
    return value if isinstance(value, str) else ""


def installation_as_dict(installation: Installation) -> dict[str, Any]:
    """The installation as the API answers it; ``language`` blank: each browser decides."""
    return {
        "company_name": installation.company_name,
        "currency": installation.currency,
        "language": installation.language,
        "preset": installation.preset,
        "set_up_at": installation.set_up_at.isoformat() if installation.set_up_at else None,
        "updated_at": installation.updated_at.isoformat() if installation.updated_at else None,
    }


def _audited(installation: Installation) -> dict[str, str]:
    return {key: getattr(installation, key) for key in INSTALLATION_KEYS}


def _require_owner(user: AbstractBaseUser | AnonymousUser | None) -> None:
    # Who is an owner is the metamodel's to say (roles live there); core sits below it, so the
    # import stays here rather than at the top of the module.
    from cardfile.metamodel.access import access_for

    if user is None or not access_for(user).is_owner:
        raise PermissionDenied(
            _("Only owners may change the company's name, currency and language."),
            operation="configure",
        )


def _clean(data: Any) -> dict[str, str]:
    """The keys ``data`` names, checked as a whole; every problem raised at once."""
    problems = Problems(InstallationInvalid)
    if not isinstance(data, dict):
        problems.add(NON_FIELD, _("Send a JSON object."))
        problems.raise_any()
    for key in data:
        if key not in INSTALLATION_KEYS:
            problems.add(
                key,
                _("Unknown attribute; expected one of: %(keys)s.")
                % {"keys": ", ".join(INSTALLATION_KEYS)},
            )
    cleaned: dict[str, str] = {}
    if "company_name" in data:
        max_length = Installation._meta.get_field("company_name").max_length
        name = problems.text("company_name", data["company_name"], max_length)
        if name == "":
            problems.add("company_name", _("Give the company's name."))
        elif name is not None:
            cleaned["company_name"] = name
    if "currency" in data:
        if data["currency"] is None or data["currency"] == "":
            problems.add("currency", _("Choose a currency: an ISO 4217 code such as EUR or USD."))
        else:
            cleaned["currency"] = currency_clean(data["currency"], problems)
    if "language" in data:
        cleaned["language"] = language_clean(data["language"], problems)
    problems.raise_any()
    return cleaned


@transaction.atomic
def installation_update(
    *, data: dict[str, Any], user: AbstractBaseUser | AnonymousUser | None
) -> Installation:
    """Change what ``data`` names of ``company_name`` (not blank), ``currency`` (an ISO 4217
    code) and ``language`` (one of ``settings.LANGUAGES``, or blank: each browser's); owners
    only. Writes one audit entry with what changed, none if nothing did.

    An installation that was never set up (its accounts made before the wizard existed) gets
    its row here; it stays not set up."""
    _require_owner(user)
    cleaned = _clean(data)
    installation, _created = Installation.objects.select_for_update().get_or_create(
        pk=Installation.SINGLETON_ID
    )
    before = _audited(installation)
    changed = [key for key, value in cleaned.items() if getattr(installation, key) != value]
    for key in changed:
        setattr(installation, key, cleaned[key])
    if changed:
        installation.save(update_fields=[*changed, "updated_at"])
    audit_log_record(
        user=user,
        action=AuditLog.Action.UPDATE,
        object_type="installation",
        object_id=installation.pk,
        object_repr=str(installation),
        before=before,
        after=_audited(installation),
    )
    return installation
