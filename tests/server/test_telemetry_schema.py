"""Schemathesis against the telemetry endpoints, steered at real data.

The whole-spec run (test_schemathesis.py) mostly meets 400/404 on these endpoints (random
environments); here generated batches are aimed at a seeded environment, a known flag and
the current time, so the ingest path itself (sketch parsing, merging, caps) and the query
paths with data behind them face arbitrary input: never a 500, always the documented schema.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

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

from rollwise.stats.sketch import LatencySketch

from ._support import ADMIN, app_for, bearer, live_server, seed

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
PATHS = {"/api/v1/sdk/telemetry", "/api/v1/metrics", "/api/v1/monitoring/health"}
PATHS.add("/api/v1/monitoring/metrics")
_sketch = LatencySketch()
for _value in (0.01, 0.02, 0.5):
    _sketch.add(_value)
SKETCH = _sketch.to_dict()


def _steer(case: schemathesis.Case, example: int) -> None:
    """Every other case points at production, the flag 'checkout' and the present."""
    if example % 2:
        return
    if case.query is not None and "environment" in case.query:
        case.query["environment"] = "production"
    if case.query is not None and "flag" in case.query:
        case.query["flag"] = "checkout"
    body: Any = case.body
    if case.path == "/api/v1/sdk/telemetry":
        case.query = {"environment": "production"}
    if isinstance(body, dict):
        now = datetime.now(UTC).isoformat()
        for window in body.get("windows") or []:
            if isinstance(window, dict):
                window["start"] = now
                for item in window.get("series") or []:
                    if isinstance(item, dict):
                        item["flag"], item["variant"] = "checkout", "legacy"
                        if example % 4 == 0:  # a valid sketch and counts: the merge path
                            item["latency"] = SKETCH
                            item["requests"] = 3
                            item["errors"] = item["client_errors"] = 1


@pytest.mark.slow  # hundreds of generated batches stored for real
def test_telemetry_endpoints_conform_with_real_data_behind_them(database_url: str) -> None:
    app = app_for(database_url)
    with TestClient(app) as setup:
        seed(setup)
    with live_server(app) as url:
        schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
        checked = []
        examples = itertools.count()
        for result in schema.get_all_operations():
            operation = result.ok()
            if operation.path not in PATHS:
                continue

            @given(case=operation.as_strategy())
            @settings(
                max_examples=60,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def conforms(case: schemathesis.Case) -> None:
                _steer(case, next(examples))
                case.call_and_validate(base_url=url, headers=bearer(ADMIN), checks=CHECKS)

            conforms()
            checked.append(operation.path)
    assert sorted(checked) == sorted(PATHS)
