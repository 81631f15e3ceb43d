"""Users, branches and API tokens: the reads and writes the API and the UI call.

A user is ``{"username", "password" (write only), "email", "first_name", "last_name",
"roles": [role names], "branches": [branch ids], "is_active"}``. Roles are the Django groups that
carry a Cardfile role (``group.cardfile_role``, defined by the metamodel); this package only
names the relation, it does not import upwards. Input is checked as a whole and every problem
reported at once. Changes write audit entries; a password never reaches the log.

An API token is a random key shown once; only its SHA-256 and its first characters are kept.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from .exceptions import InvalidInput, NotFound, Problems
from .models import ApiToken, AuditLog, Branch
from .services import audit_log_record, branch_create

USER_KEYS = (
    "username",
    "password",
    "email",
    "first_name",
    "last_name",
    "roles",
    "branches",
    "is_active",
)
BRANCH_KEYS = ("name", "address", "phone")
NON_FIELD = "non_field_errors"
TOKEN_PREFIX_LENGTH = 8
# How often a token's ``last_used_at`` is written: at most once a minute, not on every request.
TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)
# What the audit log holds instead of a password.
PASSWORD_CHANGED = "changed"  # noqa: S105 - a marker, not a password

Actor = AbstractBaseUser | AnonymousUser | None


class AccountValidationError(InvalidInput):
    """Bad input for a user, a branch or a token; ``errors`` maps attributes to messages."""


def _unknown_keys(data: dict[str, Any], allowed: tuple[str, ...], problems: Problems) -> None:
    for key in data:
        if key not in allowed:
            problems.add(
                key,
                _("Unknown attribute; expected one of: %(keys)s.") % {"keys": ", ".join(allowed)},
            )


def _role_groups() -> QuerySet[Group]:
    return Group.objects.filter(cardfile_role__isnull=False).order_by("name")


# -- users -------------------------------------------------------------------------------------


def _users() -> QuerySet:
    return (
        get_user_model()
        .objects.prefetch_related(
            Prefetch("groups", queryset=_role_groups(), to_attr="role_groups"),
            Prefetch("branches", queryset=Branch.objects.order_by("id"), to_attr="branch_list"),
        )
        .order_by("username")
    )


def user_list() -> list[Any]:
    """Every user with their roles and branches (three queries)."""
    return list(_users())


def user_get(username: str) -> Any:
    found = _users().filter(username=username).first()
    if found is None:
        raise NotFound(
            _("There is no user %(username)s.") % {"username": username}, code="unknown_user"
        )
    return found


def user_as_dict(user: Any) -> dict[str, Any]:
    """The API shape of ``user`` (from `user_get` or `user_list`, which load roles and
    branches); never the password."""
    groups = getattr(user, "role_groups", None)
    if groups is None:
        groups = list(_role_groups().filter(user=user))
    branches = getattr(user, "branch_list", None)
    if branches is None:
        branches = list(Branch.objects.filter(users=user).order_by("id"))
    return {
        "id": user.pk,
        "username": user.username,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "roles": [group.name for group in groups],
        "branches": [branch.pk for branch in branches],
        "is_active": user.is_active,
        "is_superuser": user.is_superuser,
        "last_login": user.last_login.isoformat() if user.last_login else None,
        "date_joined": user.date_joined.isoformat(),
    }


def _audited(user_dict: dict[str, Any]) -> dict[str, Any]:
    """What the audit log keeps of a user: no login times, which are not changes."""
    return {k: v for k, v in user_dict.items() if k not in ("last_login", "date_joined")}


@transaction.atomic
def user_create(*, data: Any, user: Actor = None) -> Any:
    """A new user from the API shape; ``username`` and ``password`` are required."""
    cleaned = _clean_user(data, target=None)
    new = get_user_model()(
        username=cleaned["username"],
        email=cleaned.get("email", ""),
        first_name=cleaned.get("first_name", ""),
        last_name=cleaned.get("last_name", ""),
        is_active=cleaned.get("is_active", True),
    )
    new.set_password(cleaned["password"])
    new.save()
    if cleaned.get("roles"):
        new.groups.set(cleaned["roles"])
    if cleaned.get("branches"):
        new.branches.set(cleaned["branches"])
    created = user_get(new.username)
    audit_log_record(
        user=user,
        action=AuditLog.Action.CREATE,
        object_type="user",
        object_id=created.pk,
        object_repr=created.username,
        after={**_audited(user_as_dict(created)), "password": PASSWORD_CHANGED},
    )
    return created


@transaction.atomic
def user_update(*, username: str, data: Any, user: Actor = None) -> Any:
    """Change what ``data`` names; ``roles`` and ``branches``, when given, replace the lists."""
    model = get_user_model()
    target = model.objects.select_for_update().filter(username=username).first()
    if target is None:
        raise NotFound(
            _("There is no user %(username)s.") % {"username": username}, code="unknown_user"
        )
    before = _audited(user_as_dict(target))
    cleaned = _clean_user(data, target=target)
    _refuse_self_lockout(target, cleaned, user)
    for key in ("username", "email", "first_name", "last_name", "is_active"):
        if key in cleaned:
            setattr(target, key, cleaned[key])
    if "password" in cleaned:
        target.set_password(cleaned["password"])
    target.save()
    if "roles" in cleaned:
        # only role groups are replaced; other Django groups the user is in stay
        target.groups.remove(*_role_groups().filter(user=target))
        target.groups.add(*cleaned["roles"])
    if "branches" in cleaned:
        target.branches.set(cleaned["branches"])
    changed = user_get(target.username)
    after = _audited(user_as_dict(changed))
    if "password" in cleaned:
        before["password"], after["password"] = None, PASSWORD_CHANGED
    audit_log_record(
        user=user,
        action=AuditLog.Action.UPDATE,
        object_type="user",
        object_id=changed.pk,
        object_repr=changed.username,
        before=before,
        after=after,
    )
    return changed


def _refuse_self_lockout(target: Any, cleaned: dict[str, Any], user: Actor) -> None:
    """Nobody deactivates themselves or drops their own owner role: there might be no one left
    to undo it. Another owner can."""
    if user is None or getattr(user, "pk", None) != target.pk:
        return
    problems = Problems(AccountValidationError)
    if cleaned.get("is_active") is False:
        problems.add("is_active", _("You cannot deactivate your own account."))
    if "roles" in cleaned and not target.is_superuser:
        owner_roles = {g.pk for g in _role_groups().filter(cardfile_role__is_owner=True)}
        held = {g.pk for g in _role_groups().filter(user=target)}
        if held & owner_roles and not {g.pk for g in cleaned["roles"]} & owner_roles:
            problems.add(
                "roles",
                _("You cannot take your own owner role away; ask another owner to do it."),
            )
    problems.raise_any()


def _clean_user(data: Any, *, target: Any) -> dict[str, Any]:
    """``data`` checked; ``roles`` become groups and ``branches`` Branch rows."""
    problems = Problems(AccountValidationError)
    if not isinstance(data, dict):
        problems.add(NON_FIELD, _("Send a JSON object."))
        problems.raise_any()
    _unknown_keys(data, USER_KEYS, problems)
    model = get_user_model()
    cleaned: dict[str, Any] = {}
    creating = target is None

    if "username" in data or creating:
        username = data.get("username")
        if not isinstance(username, str) or not username.strip():
            problems.add("username", _("A user needs a username."))
        else:
            username_field = model._meta.get_field("username")
            try:
                username_field.run_validators(username)
            except ValidationError as error:
                for message in error.messages:
                    problems.add("username", str(message))
            taken = model.objects.filter(username__iexact=username)
            if target is not None:
                taken = taken.exclude(pk=target.pk)
            if taken.exists():
                problems.add(
                    "username",
                    _("There is already a user named %(username)s.") % {"username": username},
                )
            cleaned["username"] = username

    for key, max_length in (("email", 254), ("first_name", 150), ("last_name", 150)):
        if key not in data:
            continue
        value = problems.text(key, data[key], max_length)
        if value is None:
            continue
        if key == "email" and value:
            try:
                validate_email(value)
            except ValidationError as error:
                for message in error.messages:
                    problems.add(key, str(message))
                continue
        cleaned[key] = value

    if "is_active" in data:
        active = problems.boolean("is_active", data["is_active"])
        if active is not None:
            cleaned["is_active"] = active

    if "roles" in data:
        cleaned["roles"] = _clean_roles(data["roles"], problems)
    if "branches" in data:
        cleaned["branches"] = _clean_branches(data["branches"], problems)

    if "password" in data or creating:
        password = data.get("password")
        if not isinstance(password, str) or not password:
            problems.add("password", _("Give a password."))
        else:
            # the validators compare the password with the user's names, as they will be
            current = target if target is not None else model()
            probe = model(
                **{
                    k: cleaned.get(k, getattr(current, k))
                    for k in ("username", "email", "first_name", "last_name")
                }
            )
            try:
                validate_password(password, user=probe)
            except ValidationError as error:
                for message in error.messages:
                    problems.add("password", str(message))
            cleaned["password"] = password

    problems.raise_any()
    return cleaned


def _clean_roles(value: Any, problems: Problems) -> list[Group]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.add("roles", _("Roles are a list of role names."))
        return []
    found = {group.name: group for group in _role_groups().filter(name__in=value)}
    unknown = [name for name in dict.fromkeys(value) if name not in found]
    if unknown:
        problems.add("roles", _("There is no role %(roles)s.") % {"roles": ", ".join(unknown)})
    return list(found.values())


def _clean_branches(value: Any, problems: Problems) -> list[Branch]:
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    ):
        problems.add("branches", _("Branches are a list of branch ids."))
        return []
    found = {branch.pk: branch for branch in Branch.objects.filter(pk__in=value)}
    unknown = [str(pk) for pk in dict.fromkeys(value) if pk not in found]
    if unknown:
        problems.add(
            "branches", _("There is no branch %(branches)s.") % {"branches": ", ".join(unknown)}
        )
    return list(found.values())


# -- branches ----------------------------------------------------------------------------------


def branch_list() -> QuerySet[Branch]:
    return Branch.objects.order_by("name")


def branch_as_dict(branch: Branch) -> dict[str, Any]:
    return {
        "id": branch.pk,
        "name": branch.name,
        "address": branch.address,
        "phone": branch.phone,
        "is_active": branch.is_active,
    }


def branch_get(branch_id: int) -> Branch:
    found = Branch.objects.filter(pk=branch_id).first()
    if found is None:
        raise NotFound(_("There is no branch %(id)s.") % {"id": branch_id}, code="unknown_branch")
    return found


def _clean_branch(data: Any, *, target: Branch | None) -> dict[str, Any]:
    """``data`` checked as a whole; a new branch takes every text key (blank when missing), an
    existing one only those given."""
    problems = Problems(AccountValidationError)
    if not isinstance(data, dict):
        problems.add(NON_FIELD, _("Send a JSON object."))
        problems.raise_any()
    allowed = BRANCH_KEYS if target is None else (*BRANCH_KEYS, "is_active")
    _unknown_keys(data, allowed, problems)
    cleaned: dict[str, Any] = {}
    for key in BRANCH_KEYS:
        if target is not None and key not in data:
            continue
        value = problems.text(key, data.get(key), Branch._meta.get_field(key).max_length)
        if value is not None:
            cleaned[key] = value
    if "is_active" in data and target is not None:
        active = problems.boolean("is_active", data["is_active"])
        if active is not None:
            cleaned["is_active"] = active
    name = cleaned.get("name")
    if name == "":
        problems.add("name", _("A branch needs a name."))
    elif name:
        taken = Branch.objects.filter(name__iexact=name)
        if target is not None:
            taken = taken.exclude(pk=target.pk)
        if taken.exists():
            problems.add("name", _("There is already a branch named %(name)s.") % {"name": name})
    problems.raise_any()
    return cleaned


@transaction.atomic
def branch_create_from_data(*, data: Any, user: Actor = None) -> Branch:
    """`branch_create` from the API shape ``{"name", "address", "phone"}``, checked first."""
    return branch_create(**_clean_branch(data, target=None), user=user)


@transaction.atomic
def branch_update(*, branch_id: int, data: Any, user: Actor = None) -> Branch:
    """Change what ``data`` names of ``{"name", "address", "phone", "is_active"}``; a
    deactivated branch stays on its records and users (nothing is deleted)."""
    target = Branch.objects.select_for_update().filter(pk=branch_id).first()
    if target is None:
        raise NotFound(_("There is no branch %(id)s.") % {"id": branch_id}, code="unknown_branch")
    before = branch_as_dict(target)
    cleaned = _clean_branch(data, target=target)
    for key, value in cleaned.items():
        setattr(target, key, value)
    if cleaned:
        target.save(update_fields=list(cleaned))
    after = branch_as_dict(target)
    audit_log_record(
        user=user,
        action=AuditLog.Action.UPDATE,
        object_type="branch",
        object_id=target.pk,
        object_repr=target.name,
        before={k: v for k, v in before.items() if k != "id"},
        after={k: v for k, v in after.items() if k != "id"},
    )
    return target


# -- API tokens --------------------------------------------------------------------------------


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def token_as_dict(token: ApiToken) -> dict[str, Any]:
    def when(value: Any) -> str | None:
        return value.isoformat() if value else None

    return {
        "id": token.pk,
        "name": token.name,
        "prefix": token.prefix,
        "created_at": when(token.created_at),
        "last_used_at": when(token.last_used_at),
        "revoked_at": when(token.revoked_at),
    }


@transaction.atomic
def token_create(*, user: Any, name: str = "") -> tuple[ApiToken, str]:
    """A new token for ``user``; returns it with the key, which is not kept anywhere."""
    problems = Problems(AccountValidationError)
    name = problems.text("name", name, ApiToken._meta.get_field("name").max_length)
    problems.raise_any()
    key = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name, prefix=key[:TOKEN_PREFIX_LENGTH], key_hash=_hash(key)
    )
    audit_log_record(
        user=user,
        action=AuditLog.Action.CREATE,
        object_type="api_token",
        object_id=token.pk,
        object_repr=str(token),
        after={"user": user.get_username(), "name": name, "prefix": token.prefix},
    )
    return token, key


def token_list(user: Any) -> QuerySet[ApiToken]:
    """``user``'s tokens, newest first, revoked ones included (they say when)."""
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")


@transaction.atomic
def token_revoke(*, user: Any, token_id: int, as_owner: bool = False) -> ApiToken:
    """Revoke a token of ``user``, or anyone's when ``as_owner``. Revoking twice changes
    nothing. Someone else's token is not found, so its existence is not told."""
    tokens = ApiToken.objects.select_for_update().select_related("user")
    if not as_owner:
        tokens = tokens.filter(user=user)
    token = tokens.filter(pk=token_id).first()
    if token is None:
        raise NotFound(_("There is no API token %(id)s.") % {"id": token_id}, code="unknown_token")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_log_record(
            user=user,
            action=AuditLog.Action.UPDATE,
            object_type="api_token",
            object_id=token.pk,
            object_repr=str(token),
            before={"revoked_at": None},
            after={"revoked_at": token.revoked_at.isoformat()},
        )
    return token


def token_authenticate(key: str) -> ApiToken | None:
    """The live token with this key (its user loaded), or None for an unknown or revoked one.

    Notes the use, at most once a minute per token, so a busy script costs no write per call.
    The user's state (inactive) is the caller's to judge."""
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=_hash(key), revoked_at__isnull=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= TOKEN_TOUCH_INTERVAL:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
