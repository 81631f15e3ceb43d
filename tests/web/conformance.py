"""Schemathesis over part of the API's own OpenAPI document, as plain hypothesis tests.

schemathesis' pytest integration (``from_fixture``) does not run under pytest 9 (it sets
``Function._nodeid``), so each operation runs as a hypothesis test here; every operation is
tried and all failures are reported together.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance


def operations_under(api_schema: Any, path_regex: str) -> list[Any]:
    return [
        result.ok() for result in api_schema.include(path_regex=path_regex).get_all_operations()
    ]


def conformance_failures(
    operations: list[Any], headers: dict[str, str], *, max_examples: int
) -> list[str]:
    """Each operation's examples must neither fail on the server nor break the document."""
    failures = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=max_examples,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def call(case: Any) -> None:
            case.call_and_validate(
                headers=headers, checks=[not_a_server_error, response_schema_conformance]
            )

        try:
            call()
        except Exception as error:  # noqa: BLE001 - every operation is tried, then reported
            failures.append(f"{operation.label}: {error}")
    return failures
