"""Property-based run of the whole OpenAPI spec against a real server.

Schemathesis generates valid and invalid requests for every operation; none may cause a
server error, and every response must match its documented status, content type and
schema. The event stream is excluded (it never ends by design; test_sdk_delivery covers it).
Schemathesis is driven through its Python API (its pytest plugin lags behind pytest).
"""

from __future__ import annotations

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ._support import ADMIN, app_for, bearer, live_server, seed

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXCLUDED = {"/api/v1/sdk/stream"}


@pytest.mark.slow  # hundreds of generated requests against every operation
def test_every_operation_conforms_to_its_schema(database_url: str) -> None:
    app = app_for(database_url)
    with TestClient(app) as setup:
        seed(setup)
    with live_server(app) as url:
        schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
        checked = []
        for result in schema.get_all_operations():
            operation = result.ok()
            if operation.path in EXCLUDED:
                continue

            @given(case=operation.as_strategy())
            @settings(
                max_examples=25,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def conforms(case: schemathesis.Case) -> None:
                case.call_and_validate(base_url=url, headers=bearer(ADMIN), checks=CHECKS)

            conforms()
            checked.append(f"{operation.method.upper()} {operation.path}")
    assert len(checked) >= 18, checked
