"""Fixtures of the record screens' tests (lists, boards): the shop with orders of every kind
of value, and test clients signed in as a given user."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

import pytest
from django.http import HttpResponse
from django.test import Client

from cardfile.metamodel.records import record_create
from cardfile.metamodel.schema.services import field_create
from tests.builders import build_shop_with_tags


class Browser(Client):
    """A test client signed in as one user."""

    def query(self, url: str, **params: str | list[str]) -> HttpResponse:
        """GET ``url`` with ``params`` as its query string (lists repeat the key)."""
        return self.get(url + ("?" + urlencode(params, doseq=True) if params else ""))


@pytest.fixture
def signed_in() -> Callable[..., Browser]:
    """Makes a `Browser` signed in as the given user."""

    def make(user) -> Browser:
        browser = Browser()
        browser.force_login(user)
        return browser

    return make


@pytest.fixture
def shop_schema(owner):
    """The shop with tags, plus on order a total (money), paid (yes/no), a due date and a
    colourful priority (one colour that is no colour)."""
    build_shop_with_tags(owner)
    field_create(
        entity="order",
        slug="total",
        label="Total",
        type="money",
        options={"currency": "EUR"},
        user=owner,
    )
    field_create(entity="order", slug="paid", label="Paid", type="boolean", user=owner)
    field_create(entity="order", slug="due", label="Due", type="date", user=owner)
    field_create(
        entity="order",
        slug="priority",
        label="Priority",
        type="choice",
        options={
            "choices": [
                {"value": "high", "label": "High", "color": "#dc3545"},
                {"value": "low", "label": "Low", "color": "red; background: url(x)"},
            ]
        },
        user=owner,
    )


@pytest.fixture
def shop(owner, shop_schema):
    """`shop_schema` with two clients, Ann and Bob, and three orders. (Test modules with a
    shop of their own, such as the card's and the configurator's, define their own ``shop``.)"""
    ann = record_create(
        entity="client", data={"name": "Ann Archer", "phone": "+4930901820"}, user=owner
    )
    bob = record_create(
        entity="client", data={"name": "Bob Baker", "phone": "+4940123456"}, user=owner
    )
    orders = [
        record_create(
            entity="order",
            data={
                "client": ann.pk,
                "state": "new",
                "total": {"amount": "1234.50", "currency": "EUR"},
                "paid": True,
                "priority": "high",
            },
            user=owner,
        ),
        record_create(
            entity="order",
            data={"client": bob.pk, "state": "ready", "total": "80", "paid": False},
            user=owner,
        ),
        record_create(
            entity="order",
            data={"client": ann.pk, "state": "in_work", "total": "300", "priority": "low"},
            user=owner,
        ),
    ]
    return {"ann": ann, "bob": bob, "orders": orders}
