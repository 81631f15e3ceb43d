"""Shared fixtures: users, a database fit for schema changes; clean-up of generated tables."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import translation

from cardfile.metamodel.schema.dynamic import clear_cache


def pytest_collection_modifyitems(items):
    """Give every test that asks for ``schema_db`` the database it needs on this backend.

    On PostgreSQL each test runs in a transaction rolled back at the end, DDL included. SQLite
    cannot run Django's schema editor inside a transaction with foreign keys on, so there the
    test runs without the wrapping transaction and its tables are flushed afterwards. pytest-django
    decides this from markers at collection, hence a hook rather than the fixture itself.
    """
    transactional = connection.vendor == "sqlite"
    for item in items:
        if "schema_db" in getattr(item, "fixturenames", ()) and not item.get_closest_marker(
            "django_db"
        ):
            item.add_marker(pytest.mark.django_db(transaction=transactional))


@pytest.fixture
def schema_db():
    """A database in which DDL may run (see `pytest_collection_modifyitems`)."""
    assert connection.vendor != "sqlite" or not connection.in_atomic_block


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item, nextitem):
    """Drop generated tables a test committed, before pytest-django flushes the database.

    Flush knows only Django's own tables and cannot truncate ``auth_user`` while generated
    tables point at it. Tests run inside a rolled-back transaction need nothing.
    """
    clear_cache()
    if "django_db_blocker" not in item.fixturenames and "_django_db_helper" not in getattr(
        item, "fixturenames", ()
    ):
        return
    blocker = item.funcargs.get("django_db_blocker") or item._request.getfixturevalue(
        "django_db_blocker"
    )
    with blocker.unblock():
        if connection.in_atomic_block or connection.connection is None:
            return
        with connection.cursor() as cursor:
            names = connection.introspection.table_names(cursor)
            generated = [t for t in names if t.startswith(("cf_e", "cf_m"))]
            sqlite = connection.vendor == "sqlite"
            if sqlite:  # tables still point at each other; order does not matter then
                cursor.execute("PRAGMA foreign_keys = OFF")
            for table in generated:
                suffix = "" if sqlite else " CASCADE"
                cursor.execute(f"DROP TABLE IF EXISTS {connection.ops.quote_name(table)}{suffix}")
            if sqlite:
                cursor.execute("PRAGMA foreign_keys = ON")


@pytest.fixture
def owner(schema_db):
    return get_user_model().objects.create_user(
        username="owner", password="s3cret-pass!", is_staff=True, is_superuser=True
    )


@pytest.fixture
def clerk(schema_db):
    return get_user_model().objects.create_user(username="clerk", password="s3cret-pass!")


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the default language: a request leaves the language its middleware
    activated (Accept-Language, the installation's) on the thread, as Django does by design."""
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _jobs_run_eagerly(settings):
    """Jobs run inline when their transaction commits: `make test` starts no Celery worker."""
    settings.CARDFILE_TASK_MODE = "eager"
