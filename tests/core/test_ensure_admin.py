"""`manage.py ensure_admin`: the first admin account, with its password shown once."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

ADMIN_LINE = re.compile(r"Admin account: (\S+) / (\S+)")


def _ensure_admin(*args: str) -> str:
    out = StringIO()
    call_command("ensure_admin", *args, stdout=out)
    return out.getvalue()


@pytest.mark.embedded
@pytest.mark.django_db
def test_creates_one_superuser_and_shows_its_password_once() -> None:
    user_model = get_user_model()

    # when
    first = _ensure_admin()
    second = _ensure_admin()

    # then the first run printed exactly one line, with a password that works
    lines = first.splitlines()
    assert len(lines) == 1
    match = ADMIN_LINE.fullmatch(lines[0])
    assert match, first
    username, password = match.groups()
    admin = user_model.objects.get(is_superuser=True)
    assert admin.get_username() == username == "admin"
    assert admin.is_staff
    assert admin.check_password(password)
    assert len(password) >= 16
    # and the second run created nobody and did not show the password again
    assert user_model.objects.filter(is_superuser=True).count() == 1
    assert user_model.objects.count() == 1
    assert password not in second
    assert "already exists" in second


@pytest.mark.embedded
@pytest.mark.django_db
def test_username_and_password_can_be_given() -> None:
    # when
    output = _ensure_admin("--username", "owner", "--password", "correct horse battery")

    # then
    assert output.strip() == "Admin account: owner / correct horse battery"
    owner = get_user_model().objects.get(is_superuser=True)
    assert owner.get_username() == "owner"
    assert owner.check_password("correct horse battery")


@pytest.mark.embedded
@pytest.mark.django_db
def test_an_existing_superuser_of_another_name_counts() -> None:
    # given
    get_user_model().objects.create_superuser(username="boss", password="x" * 20)

    # when
    output = _ensure_admin()

    # then
    assert "already exists" in output
    assert not get_user_model().objects.filter(username="admin").exists()


@pytest.mark.embedded
@pytest.mark.django_db
def test_refuses_to_promote_an_ordinary_user_with_the_same_name() -> None:
    # given
    get_user_model().objects.create_user(username="admin", password="x" * 20)

    # when / then
    with pytest.raises(CommandError, match="not an admin"):
        _ensure_admin()
    assert not get_user_model().objects.filter(is_superuser=True).exists()
