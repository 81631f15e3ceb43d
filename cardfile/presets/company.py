"""The company settings after the first-start setup: the company's name, its currency and its
working language, changed by an owner.

The currency is what new money fields that name none are made in (`field_create`, preset
installs). It does not relabel anything stored: a field keeps the currency it was made with, and
money fields made before any was chosen keep reading ``CARDFILE_CURRENCY``.

Who is an owner is the metamodel's to say, so this lives above it, beside the setup that first
records the installation.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.utils.translation import gettext as _

from cardfile.core.exceptions import InvalidInput, PermissionDenied, Problems
from cardfile.core.installation import currency_clean, language_clean
from cardfile.core.models import AuditLog, Installation
from cardfile.core.services import audit_log_record
from cardfile.metamodel.access import access_for

INSTALLATION_KEYS = ("company_name", "currency", "language")
NON_FIELD = "non_field_errors"


class InstallationInvalid(InvalidInput):
    """Company settings that were refused; ``errors`` by ``company_name``, ``currency`` or
    ``language``."""


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
    # ``None`` is the system to `access_for`; here it is nobody, so it is refused too.
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
