"""What every scenario gets: the options, the loaded data, an API client, a plain connection."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg

from .dataset import Dataset


@dataclass
class BenchContext:
    repeat: int
    creates: int
    dataset: Dataset
    # psycopg.connect() keyword arguments for the scratch database, without Django's additions
    plain_params: dict[str, Any]
    rows: int = 0  # --rows: the size of the tables the list, schema and formula scenarios use
    _token: str | None = None

    def plain_connection(self) -> psycopg.Connection:
        """A connection as hand-written code would open it: psycopg's defaults, autocommit,
        in UTC like Django's (so datetimes come back in the same zone)."""
        connection = psycopg.connect(**self.plain_params, autocommit=True)
        connection.execute("SET TIME ZONE 'UTC'")
        return connection

    def api_client(self) -> Any:
        """Django's test client, in process, sending the benchmark user's API token."""
        from django.test import Client

        from cardfile.core.accounts import token_create

        if self._token is None:
            self._token = token_create(user=self.dataset.user, name="bench")[1]
        # Requests go with ``secure=True`` (see `API`), so CARDFILE_TLS may stay on.
        return Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Token {self._token}")
