"""Login throttling (django-axes) on the API's sign-in: a name is locked out from an address after
too many failed attempts, even with the right password; other names and addresses are not."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

SIGN_IN = "/api/v1/auth/token/"
PASSWORD = "s3cret-pass!"


@pytest.fixture
def users():
    model = get_user_model()
    return [
        model.objects.create_user(username=name, password=PASSWORD) for name in ("olga", "ivan")
    ]


def _sign_in(username, password, address="127.0.0.1"):
    return APIClient(REMOTE_ADDR=address).post(
        SIGN_IN, {"username": username, "password": password}, format="json"
    )


def _fail(username, times, address="127.0.0.1"):
    return [_sign_in(username, "wrong", address).status_code for _ in range(times)]


def test_too_many_failures_lock_the_name_out_from_the_address(users, settings):
    limit = settings.AXES_FAILURE_LIMIT
    assert limit == 5
    # when
    statuses = _fail("olga", limit)
    # then: the failures are told as such, the last one locks
    assert statuses == [400] * (limit - 1) + [429]
    right = _sign_in("olga", PASSWORD)
    assert right.status_code == 429
    assert right.json()["code"] == "locked_out"
    assert right.json()["detail"]
    assert "token" not in right.json()

    # another name from the same address, and the name from another address, still sign in
    assert _sign_in("ivan", PASSWORD).status_code == 200
    assert _sign_in("olga", PASSWORD, address="10.0.0.7").status_code == 200
    # and the lock holds on
    assert _sign_in("olga", PASSWORD).status_code == 429


def test_a_successful_sign_in_forgets_earlier_failures(users, settings):
    limit = settings.AXES_FAILURE_LIMIT
    assert _fail("olga", limit - 1) == [400] * (limit - 1)
    assert _sign_in("olga", PASSWORD).status_code == 200
    # when
    statuses = _fail("olga", limit - 1)
    # then
    assert statuses == [400] * (limit - 1)
    assert _sign_in("olga", PASSWORD).status_code == 200


def test_the_admin_sign_in_is_throttled_too(users, client, settings):
    settings.AXES_FAILURE_LIMIT = 2
    model = get_user_model()
    model.objects.filter(username="olga").update(is_staff=True)
    for _ in range(2):
        client.post("/admin/login/", {"username": "olga", "password": "wrong"})
    # when
    response = client.post("/admin/login/", {"username": "olga", "password": PASSWORD})
    # then
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
