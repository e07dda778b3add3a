"""/api/v1/monitoring/metrics and /health: an environment's numbers and verdicts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from rollwise.server import create_app
from rollwise.store import Store

from .._support.clock import FakeClock
from ..store._telemetry import T0, batch, comparison, series, window
from ._support import ADMIN, bearer, make_token, seed, settings

ADMIN_H = bearer(ADMIN)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(now=T0 + timedelta(minutes=2))


@pytest.fixture
def client(database_url: str, clock: FakeClock) -> Iterator[TestClient]:
    store = Store(database_url, clock=clock)
    with TestClient(create_app(settings(database_url), store=store)) as test_client:
        seed(test_client)
        admin = {"Authorization": f"Bearer {ADMIN}"}
        test_client.post("/api/v1/flags", json={"key": "search"}, headers=admin)
        yield test_client
    store.close()


def _post(client: TestClient, sdk: dict[str, str], *windows: dict[str, Any], **extra: Any) -> None:
    payload = json.loads(batch(*windows, **extra).model_dump_json())
    response = client.post("/api/v1/sdk/telemetry", json=payload, headers=sdk)
    assert response.status_code == 202, response.text


def _traffic(client: TestClient) -> None:
    sdk = bearer(make_token(client, "sdk", "production"))
    fast, slow = [0.01] * 100, [0.05] * 100
    _post(
        client,
        sdk,
        window(
            T0 + timedelta(seconds=30),
            series=[
                series("checkout", "legacy", fast, errors=1),
                series("checkout", "domain", slow, errors=10),
                series("search", "on", fast),
            ],
            usage=[
                {"flag": "checkout", "variant": "legacy", "count": 300},
                {"flag": "checkout", "variant": "domain", "count": 100},
            ],
            comparisons=[comparison("checkout", "domain", match=50, mismatch=5, fallback=3)],
        ),
        overrides=[
            {"flag": "checkout", "outcome": "honoured", "variant": "domain", "count": 2},
            {"flag": "checkout", "outcome": "rejected", "reason": "bad_signature", "count": 1},
        ],
        dropped={"batches": 1},
    )


def test_environment_metrics(client: TestClient) -> None:
    _traffic(client)
    response = client.get(
        "/api/v1/monitoring/metrics",
        params={"environment": "production", "window": "5m"},
        headers=ADMIN_H,
    )
    assert response.status_code == 200, response.text
    got = response.json()
    assert got["window_seconds"] == 300
    assert (got["reporting"]["batches"], got["reporting"]["dropped_batches"]) == (1, 1)
    flags = {f["flag"]: f for f in got["flags"]}
    assert list(flags) == ["checkout", "search"]
    checkout = flags["checkout"]
    assert checkout["baseline"] == "legacy"
    assert checkout["overrides"] == {"honoured": 2, "rejected": 1}
    legacy, domain = checkout["variants"]
    assert (legacy["variant"], domain["variant"]) == ("legacy", "domain")
    assert domain["error_rate"] == pytest.approx(0.1)
    assert domain["usage_share"] == pytest.approx(0.25)
    assert domain["p95"] == pytest.approx(0.05, rel=0.01)
    assert domain["request_rate"] == pytest.approx(100 / 300)
    assert (domain["mismatches"], domain["fallbacks"]) == (5, 3)


def test_environment_health(client: TestClient, clock: FakeClock) -> None:
    params = {"environment": "production", "window": "5m"}
    empty = client.get("/api/v1/monitoring/health", params=params, headers=ADMIN_H).json()
    assert empty["status"] == "no_data"
    assert empty["flags"] == []
    _traffic(client)
    health = client.get("/api/v1/monitoring/health", params=params, headers=ADMIN_H).json()
    assert health["status"] == "degraded"
    assert health["thresholds"]["max_error_rate"] == 0.05
    assert any("dropped" in reason for reason in health["reasons"])
    flags = {f["flag"]: f for f in health["flags"]}
    assert flags["search"]["status"] == "ok"
    assert flags["checkout"]["status"] == "degraded"
    variants = {v["variant"]: v for v in flags["checkout"]["variants"]}
    assert variants["legacy"]["status"] == "ok"
    domain = variants["domain"]
    assert domain["status"] == "degraded"
    reasons = " | ".join(domain["reasons"])
    assert "error rate 10.00%" in reasons
    assert "fallbacks" in reasons
    assert "mismatches" in reasons
    assert "baseline 'legacy'" in reasons  # p95 50 ms against 10 ms
    clock.advance(minutes=10)
    later = client.get("/api/v1/monitoring/health", params=params, headers=ADMIN_H).json()
    assert later["status"] == "no_data"
    longer = client.get(
        "/api/v1/monitoring/health",
        params={**params, "window": "1h"},
        headers=ADMIN_H,
    ).json()
    assert longer["status"] == "degraded"


def test_monitoring_validation(client: TestClient) -> None:
    for path in ("/api/v1/monitoring/health", "/api/v1/monitoring/metrics"):
        for span in ("1s", "2d", "soon"):
            response = client.get(
                path, params={"environment": "production", "window": span}, headers=ADMIN_H
            )
            assert response.status_code == 422, response.text
            assert response.json()["error"]["code"] == "validation_error"
        missing = client.get(path, params={"environment": "nope"}, headers=ADMIN_H)
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "not_found"
