"""Shared fixtures: users, a database fit for schema changes, and clean-up of generated tables."""

from __future__ import annotations

import pytest
from django.db import connection

from cardfile.metamodel.schema.dynamic import clear_cache


@pytest.fixture
def schema_db(request):
    """A database in which DDL may run.

    On PostgreSQL each test runs in a transaction rolled back at the end (DDL included). SQLite
    cannot run Django's schema editor inside a transaction with foreign keys on, so there the
    test runs without the wrapping transaction and the tables are flushed afterwards.
    """
    if connection.vendor == "sqlite":
        request.getfixturevalue("transactional_db")
    else:
        request.getfixturevalue("db")


@pytest.fixture(autouse=True)
def _drop_generated_tables(request):
    """Transactional tests commit DDL; flush does not know generated tables, so drop them."""
    yield
    clear_cache()
    if "transactional_db" not in request.fixturenames and "live_server" not in request.fixturenames:
        return
    with connection.cursor() as cursor:
        tables = [
            t
            for t in connection.introspection.table_names(cursor)
            if t.startswith(("cf_e", "cf_m"))
        ]
    if not tables:
        return
    with connection.cursor() as cursor:
        for table in sorted(tables, key=lambda t: not t.startswith("cf_m")):
            suffix = " CASCADE" if connection.vendor == "postgresql" else ""
            cursor.execute(f"DROP TABLE IF EXISTS {connection.ops.quote_name(table)}{suffix}")


@pytest.fixture
def owner(django_user_model):
    return django_user_model.objects.create_user(
        username="owner", password="s3cret-pass!", is_staff=True, is_superuser=True
    )


@pytest.fixture
def clerk(django_user_model):
    return django_user_model.objects.create_user(username="clerk", password="s3cret-pass!")
