"""The scratch database the benchmarks run in, on the server DATABASE_URL names.

It is created empty, migrated, and dropped at the end (also after a failure or Ctrl+C), so the
benchmarks never read or write the user's data.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql

# What Django adds to psycopg's connection parameters for itself; a plain connection omits it.
_DJANGO_ONLY = ("context", "cursor_factory", "prepare_threshold")
_MAX_NAME = 63


def scratch_name(base: str | None) -> str:
    suffix = f"_bench_{os.getpid()}"
    return (base or "cardfile")[: _MAX_NAME - len(suffix)] + suffix


def plain_params(django_params: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """Django's psycopg connection parameters without Django's own additions."""
    params = {k: v for k, v in django_params.items() if k not in _DJANGO_ONLY}
    params.update(changes)
    return params


def _admin_connection(params: dict[str, Any]) -> psycopg.Connection:
    """An autocommit connection for CREATE/DROP DATABASE: the maintenance database if the
    user may reach it, else the database DATABASE_URL names."""
    try:
        return psycopg.connect(**plain_params(params, dbname="postgres"), autocommit=True)
    except psycopg.OperationalError:
        return psycopg.connect(**plain_params(params), autocommit=True)


@contextmanager
def scratch_database(params: dict[str, Any], name: str) -> Iterator[None]:
    """Create database ``name`` next to the one ``params`` reach; drop it when the block ends."""
    with _admin_connection(params) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield
    finally:
        from django.db import connections

        connections.close_all()
        with _admin_connection(params) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
