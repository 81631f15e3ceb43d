"""Fixtures of the API tests: clients signed in as the owner and as the clerk."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient


@pytest.fixture
def api(owner):
    client = APIClient()
    client.force_authenticate(owner)
    return client


@pytest.fixture
def clerk_api(clerk):
    client = APIClient()
    client.force_authenticate(clerk)
    return client
