"""The SDK's side (through the app, SQLite and PostgreSQL): the document names running
experiments, the first evaluation of a unit logs one exposure, ``track`` records events,
the reporter ships both, the control plane counts a retried batch once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from rollwise import Client
from rollwise.core.telemetry import TelemetryBatch
from rollwise.core.validation import parse_document
from rollwise.errors import ConfigError
from rollwise.sdk.experiments import ExperimentLog, ExperimentPlan
from rollwise.sdk.reporter import Reporter, ReporterOptions
from rollwise.sdk.sources import HttpSource

from ..server._support import bearer, make_token
from ._api import ADMIN_HEADERS, seed_api, start

FLAG = "checkout_page"


def _client(test_client: TestClient, token: str) -> Client:
    transport: httpx.BaseTransport = test_client._transport
    return Client(HttpSource("http://testserver", token, transport=transport))


def _reporter(test_client: TestClient, client: Client, token: str) -> Reporter:
    options = ReporterOptions(url="http://testserver", token=token, ticks=False)
    transport: httpx.BaseTransport = test_client._transport
    return Reporter(options, client=client, transport=transport)


def test_exposures_are_deduplicated_and_events_tracked_end_to_end(client: TestClient) -> None:
    seed_api(client)
    other = client.post(
        "/api/v1/flags", json={"key": "plain", "variants": ["off", "on"]}, headers=ADMIN_HEADERS
    )
    assert other.status_code == 201
    start(client)
    token = make_token(client, "sdk", "production")
    sdk = _client(client, token)
    assert set(sdk.experiments.plan.by_flag) == {FLAG}
    assert sdk._evaluators["plain"] is sdk._base["plain"]  # no experiment: not wrapped
    arms: dict[str, str] = {}
    for _round in range(3):
        for number in range(60):
            context = {"user_id": f"user-{number}"}
            arms[context["user_id"]] = sdk.variant(FLAG, context)
    sdk.variant(FLAG, {})  # no unit: no exposure
    assert sdk.experiments.pending() == (60, 0)
    for number in range(0, 60, 3):
        sdk.track("purchase", {"user_id": f"user-{number}"})
        sdk.track("revenue", {"user_id": f"user-{number}"}, value=25.0)
    sdk.track("not_a_metric", {"user_id": "user-1"})  # read by no experiment: not kept
    sdk.track("purchase", {})  # no unit: not kept
    sdk.track("revenue", {"user_id": "user-2"}, value=float("nan"))  # not kept, no raise
    sdk.track(None, None)  # type: ignore[arg-type]  # never raises
    assert sdk.experiments.pending() == (60, 40)

    reporter = _reporter(client, sdk, token)
    assert reporter.flush(timeout=10)
    assert sdk.experiments.pending() == (0, 0)
    for number in range(5):  # seen before in this process: no new exposure
        sdk.variant(FLAG, {"user_id": f"user-{number}"})
    assert sdk.experiments.pending() == (0, 0)

    results = client.get("/api/v1/experiments/checkout-test/results", headers=ADMIN_HEADERS)
    assert results.status_code == 200, results.text
    body = results.json()
    assert sum(body["units"].values()) == 60
    expected = {arm: sum(1 for a in arms.values() if a == arm) for arm in body["units"]}
    assert body["units"] == expected
    converted = {
        arm: sum(1 for n in range(0, 60, 3) if arms[f"user-{n}"] == arm) for arm in expected
    }
    for arm, count in converted.items():
        stats = body["per_arm"][arm]["conversion"]
        assert stats["units"] == expected[arm]
        assert stats["value"] == pytest.approx(count / expected[arm])
    assert body["results"]["sample_ratio"] is not None
    sdk.close()


def test_a_retried_batch_counts_once(client: TestClient) -> None:
    seed_api(client)
    start(client)
    token = make_token(client, "sdk", "production")
    now = datetime.now(UTC).isoformat()
    batch: dict[str, Any] = {
        "batch_id": "retry-batch-0001",
        "instance": "test:1",
        "sent_at": now,
        "exposures": [{"experiment": "checkout-test", "unit": "u1", "arm": "variant_b", "at": now}],
        "events": [{"event": "revenue", "unit": "u1", "value": 10.0, "at": now}],
    }
    TelemetryBatch.model_validate(batch)
    for _ in range(2):
        sent = client.post("/api/v1/sdk/telemetry", json=batch, headers=bearer(token))
        assert sent.status_code == 202, sent.text
    body = client.get("/api/v1/experiments/checkout-test/results", headers=ADMIN_HEADERS).json()
    assert body["units"]["variant_b"] == 1
    assert body["per_arm"]["variant_b"]["revenue"]["value"] == 10.0
    assert body["per_arm"]["variant_b"]["conversion"]["value"] == 0.0


def test_the_dedupe_memory_is_bounded_and_buffers_drop_counted() -> None:
    document = {
        "environment": "production",
        "flags": [
            {
                "key": FLAG,
                "variants": ["control", "treatment"],
                "environments": {"production": {"split": {"control": 5000, "treatment": 5000}}},
            }
        ],
        "experiments": [
            {"key": "e", "flag": FLAG, "arms": ["control", "treatment"], "events": ["buy"]}
        ],
    }
    sdk = Client(document)
    log = ExperimentLog(max_seen=10, max_pending=15)
    sdk.experiments = log
    sdk.config_received(document, "test")
    for number in range(20):
        sdk.variant(FLAG, {"user_id": number})
    assert len(log._seen["e"]) == 10
    assert log.pending() == (15, 0)
    assert log.dropped_exposures == 5
    sdk.variant(FLAG, {"user_id": 0})  # forgotten (oldest): logged again, and dropped
    assert log.dropped_exposures == 6
    for _ in range(20):
        sdk.track("buy", {"user_id": 1})
    assert log.pending() == (15, 15)
    assert log.dropped_events == 5
    assert sdk.health().errors["events_dropped"] == 5


def test_unknown_top_level_keys_are_ignored_from_the_control_plane_only() -> None:
    document = {"flags": [], "future_feature": {"x": 1}}
    with pytest.raises(ConfigError):
        parse_document(document)  # a file a person wrote: a misspelt key is an error
    assert parse_document(document, strict=False).flags == []
    with pytest.raises(ConfigError):  # a known key with a bad value is still refused
        parse_document({"flags": "nope", "future_feature": 1}, strict=False)


def test_the_http_source_accepts_a_newer_control_planes_document() -> None:
    document = {
        "revision": "production:3",
        "environment": "production",
        "flags": [],
        "something_new": [1, 2, 3],
    }

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=document, headers={"ETag": '"x"'})

    sdk = Client(HttpSource("http://cp", "token", transport=httpx.MockTransport(handler)))
    assert sdk.revision == "production:3"
    assert sdk.health().source_status == "ok"


def test_the_plan_skips_experiments_on_unknown_flags() -> None:
    plan = ExperimentPlan(
        parse_document(
            {"experiments": [{"key": "e", "flag": "gone", "arms": ["a"], "events": ["x"]}]}
        ).experiments,
        {},
        "production",
    )
    assert plan.by_flag == {}
    assert plan.units_of_event == {}
