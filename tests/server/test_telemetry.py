"""POST /api/v1/sdk/telemetry on SQLite and PostgreSQL: what is stored is what the metrics
API returns, retries count once, scopes, and every invalid batch is a 4xx JSON error."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from rollwise.stats.sketch import LatencySketch
from rollwise.store import Store

from .._support.clock import FakeClock
from ..store._telemetry import (
    NOW,
    T0,
    batch,
    comparison,
    mismatch_sample,
    series,
    sketch,
    window,
)
from ._support import ADMIN, bearer, live_server, make_token, seed, settings

ADMIN_H = bearer(ADMIN)
LEGACY = [0.010, 0.011, 0.012, 0.013, 0.200]
DOMAIN = [0.030, 0.031, 0.500]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def store(database_url: str, clock: FakeClock) -> Iterator[Store]:
    opened = Store(database_url, clock=clock)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def app(database_url: str, store: Store) -> Any:
    from rollwise.server import create_app

    return create_app(settings(database_url), store=store)


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        seed(test_client)
        yield test_client


def body(*windows: dict[str, Any], **extra: Any) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(batch(*windows, **extra).model_dump_json())
    return result


def windows() -> list[dict[str, Any]]:
    return [
        window(
            T0,
            series=[
                series("checkout", "legacy", LEGACY, errors=1),
                series("checkout", "domain", DOMAIN, client_errors=1),
            ],
            usage=[
                {"flag": "checkout", "variant": "legacy", "count": 9},
                {"flag": "checkout", "variant": "domain", "count": 1},
            ],
            comparisons=[comparison("checkout", "domain", match=4, mismatch=1, fallback=2)],
        ),
        window(T0 + timedelta(seconds=70), series=[series("checkout", "legacy", LEGACY)]),
    ]


def metrics(client: TestClient, **params: str) -> dict[str, Any]:
    query = {
        "flag": "checkout",
        "environment": "production",
        "from": T0.isoformat(),
        "to": (T0 + timedelta(minutes=2)).isoformat(),
        "step": "1m",
        **params,
    }
    response = client.get("/api/v1/metrics", params=query, headers=ADMIN_H)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_ingested_counts_come_back_from_the_metrics_api(client: TestClient) -> None:
    sdk = bearer(make_token(client, "sdk", "production"))
    sent = body(*windows())
    response = client.post("/api/v1/sdk/telemetry", json=sent, headers=sdk)
    assert response.status_code == 202, response.text
    assert response.json()["accepted"] is True
    assert response.json()["duplicate"] is False
    assert response.json()["windows"] == 2

    got = metrics(client)
    assert (got["step_seconds"], got["resolution_seconds"]) == (60, 10)
    assert [v["variant"] for v in got["variants"]] == ["legacy", "domain"]
    legacy, domain = got["variants"]
    assert [p["requests"] for p in legacy["points"]] == [5, 5]
    assert [p["start"][:19] for p in legacy["points"]] == [
        T0.isoformat()[:19],
        (T0 + timedelta(minutes=1)).isoformat()[:19],
    ]
    assert legacy["points"][0]["request_rate"] == pytest.approx(5 / 60)
    assert legacy["points"][0]["error_rate"] == pytest.approx(0.2)
    assert legacy["points"][1]["error_rate"] == 0.0
    assert legacy["totals"]["requests"] == 10
    assert legacy["totals"]["errors"] == 1
    assert legacy["totals"]["success_rate"] == pytest.approx(0.9)
    assert legacy["totals"]["usage_share"] == pytest.approx(0.9)
    merged = LatencySketch.merged([sketch(LEGACY), sketch(LEGACY)])
    for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
        assert legacy["totals"][name] == merged.quantile(q)
        assert domain["points"][0][name] == sketch(DOMAIN).quantile(q)
    assert domain["points"][1]["requests"] == 0
    assert domain["points"][1]["error_rate"] is None  # no data is not a zero error rate
    assert domain["points"][1]["p50"] is None
    assert domain["totals"]["client_errors"] == 1
    assert domain["totals"]["error_rate"] == 0.0
    assert (domain["totals"]["mismatches"], domain["totals"]["fallbacks"]) == (1, 2)
    assert domain["totals"]["compared"] == 5
    assert domain["totals"]["comparison_outcomes"] == {"fallback": 2, "match": 4, "mismatch": 1}

    retried = client.post("/api/v1/sdk/telemetry", json=sent, headers=sdk)
    assert retried.status_code == 202
    assert retried.json()["duplicate"] is True
    assert metrics(client)["variants"][0]["totals"]["requests"] == 10


def test_mismatch_samples_can_be_read_back_newest_first(client: TestClient) -> None:
    sdk = bearer(make_token(client, "sdk", "production"))
    reader = bearer(make_token(client, "read"))
    samples = [
        mismatch_sample(0, "prices"),
        mismatch_sample(1, "prices"),
        mismatch_sample(2, "stock"),
    ]
    sent = client.post("/api/v1/sdk/telemetry", json=body(samples=samples), headers=sdk)
    assert sent.status_code == 202, sent.text
    url = "/api/v1/mismatch-samples"
    every = client.get(url, params={"environment": "production"}, headers=reader).json()
    assert [(s["name"], s["input"]) for s in every] == [
        ("stock", {"order": 2}),
        ("prices", {"order": 1}),
        ("prices", {"order": 0}),
    ]
    assert every[1]["candidate"] == {"value": -1}
    assert every[1]["at"].startswith(T0.isoformat()[:18])
    prices = client.get(
        url, params={"environment": "production", "name": "prices", "limit": 1}, headers=reader
    ).json()
    assert [s["input"] for s in prices] == [{"order": 1}]
    older = client.get(
        url,
        params={"environment": "production", "name": "prices", "before_id": prices[0]["id"]},
        headers=reader,
    ).json()
    assert [s["input"] for s in older] == [{"order": 0}]
    other_flag = {"environment": "production", "flag": "search"}
    assert client.get(url, params=other_flag, headers=reader).json() == []
    unknown = client.get(url, params={"environment": "nope"}, headers=reader)
    assert unknown.status_code == 404
    assert client.get(url, params={"environment": "production"}, headers=sdk).status_code == 403


def test_steps_and_defaults(client: TestClient, clock: FakeClock) -> None:
    sdk = bearer(make_token(client, "sdk", "production"))
    client.post("/api/v1/sdk/telemetry", json=body(*windows()), headers=sdk)
    fine = metrics(client, step="10s")
    assert len(fine["variants"][0]["points"]) == 12
    assert sum(p["requests"] for p in fine["variants"][0]["points"]) == 10
    coarse = metrics(client, step="5m")
    assert coarse["resolution_seconds"] == 300
    assert coarse["variants"][0]["points"][0]["requests"] == 10
    odd = metrics(client, step="45")  # rounded up to a multiple of 10 s
    assert odd["step_seconds"] == 50
    clock.now = T0 + timedelta(minutes=20)
    default = client.get(
        "/api/v1/metrics", params={"flag": "checkout", "environment": "production"}, headers=ADMIN_H
    ).json()
    assert default["step_seconds"] == 30  # the last hour, at most 240 points
    assert default["to"][:16] == (T0 + timedelta(minutes=20)).isoformat()[:16]
    assert sum(p["requests"] for p in default["variants"][0]["points"]) == 10
    epoch = metrics(
        client, **{"from": str(int(T0.timestamp())), "to": str(int(T0.timestamp()) + 120)}
    )
    assert epoch["variants"][0]["totals"]["requests"] == 10


def _error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    payload = response.json()
    assert set(payload["error"]) == {"code", "message", "details"}
    assert payload["error"]["code"] == code
    detail: dict[str, Any] = payload["error"]
    return detail


def test_scopes(client: TestClient) -> None:
    sdk = bearer(make_token(client, "sdk", "production"))
    reader = bearer(make_token(client, "read"))
    writer = bearer(make_token(client, "write"))
    sent = body(*windows())
    url = "/api/v1/sdk/telemetry"
    _error(client.post(url, json=sent), 401, "unauthorized")
    _error(client.post(url, json=sent, headers=reader), 403, "forbidden")
    _error(client.post(f"{url}?environment=staging", json=sent, headers=sdk), 403, "forbidden")
    _error(client.post(url, json=sent, headers=writer), 400, "bad_request")
    _error(client.post(f"{url}?environment=nowhere", json=sent, headers=writer), 404, "not_found")
    assert client.post(f"{url}?environment=staging", json=sent, headers=writer).status_code == 202
    assert client.post(url, json=sent, headers=sdk).json()["duplicate"] is False  # per env
    query = {"flag": "checkout", "environment": "production"}
    _error(client.get("/api/v1/metrics", params=query, headers=sdk), 403, "forbidden")
    _error(client.get("/api/v1/metrics", params=query), 401, "unauthorized")
    assert client.get("/api/v1/metrics", params=query, headers=reader).status_code == 200
    for path in ("/api/v1/monitoring/health", "/api/v1/monitoring/metrics"):
        params = {"environment": "production"}
        _error(client.get(path, params=params, headers=sdk), 403, "forbidden")
        assert client.get(path, params=params, headers=reader).status_code == 200


def test_invalid_batches_are_422_naming_the_field(client: TestClient) -> None:
    url = "/api/v1/sdk/telemetry?environment=production"
    good = body(*windows())

    def broken(**changes: Any) -> dict[str, Any]:
        copy: dict[str, Any] = json.loads(json.dumps(good))
        series_0 = copy["windows"][0]["series"][0]
        for key, value in changes.items():
            if key.startswith("latency_"):
                series_0["latency"][key.removeprefix("latency_")] = value
            else:
                series_0[key] = value
        return copy

    cases = [
        (broken(latency_count=1), "body.windows.0.series.0.latency"),
        (broken(latency_bins="nope"), "body.windows.0.series.0.latency.bins"),
        (broken(latency_accuracy=0.05), "body.windows.0.series.0.latency"),
        (broken(latency_offset=99_000), "body.windows.0.series.0.latency"),
        (broken(errors=99), "body.windows.0.series.0.errors"),
        (broken(requests=-1), "body.windows.0.series.0.requests"),
        (broken(flag="bad\x00flag"), "body.windows.0.series.0.flag"),
        ({**good, "batch_id": "short"}, "body.batch_id"),
        ({**good, "surprise": 1}, "body.surprise"),
    ]
    for payload, path in cases:
        error = _error(client.post(url, json=payload, headers=ADMIN_H), 422, "validation_error")
        paths = [e["path"] for e in error["details"]["errors"]]
        assert path in paths, (path, error)
    not_json = client.post(
        url, content=b"{not json", headers={**ADMIN_H, "Content-Type": "application/json"}
    )
    _error(not_json, 422, "validation_error")
    assert metrics(client)["variants"][0]["totals"]["requests"] == 0


def test_metrics_api_validation(client: TestClient) -> None:
    base = {"flag": "checkout", "environment": "production"}

    def get(**params: str) -> httpx.Response:
        response: httpx.Response = client.get(
            "/api/v1/metrics", params={**base, **params}, headers=ADMIN_H
        )
        return response

    t = T0.isoformat()
    _error(get(**{"from": t, "to": t}), 422, "validation_error")
    _error(get(**{"from": "0001-01-01T00:00:00Z"}), 422, "validation_error")
    _error(get(step="1x"), 422, "validation_error")
    _error(get(step="0"), 422, "validation_error")
    too_many = get(**{"from": t, "to": (T0 + timedelta(days=1)).isoformat(), "step": "10s"})
    assert "points" in _error(too_many, 422, "validation_error")["message"]
    _error(get(flag="nope"), 404, "not_found")
    _error(get(environment="nope"), 404, "not_found")
    missing = client.get("/api/v1/metrics", params={"flag": "checkout"}, headers=ADMIN_H)
    _error(missing, 422, "validation_error")


def test_concurrent_posts_over_http_lose_nothing(app: Any) -> None:
    with TestClient(app) as setup:
        seed(setup)
        sdk = bearer(make_token(setup, "sdk", "production"))
    batches = [body(*windows()) for _ in range(8)]
    batches.append(batches[0])  # and a retry racing its original
    with live_server(app) as url:
        barrier = threading.Barrier(len(batches))
        answers: list[Any] = [None] * len(batches)

        def post(index: int) -> None:
            with httpx.Client(base_url=url, timeout=30) as http:
                barrier.wait(10)
                answers[index] = http.post(
                    "/api/v1/sdk/telemetry", json=batches[index], headers=sdk
                ).json()

        threads = [threading.Thread(target=post, args=(i,)) for i in range(len(batches))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert sorted(a["duplicate"] for a in answers) == [False] * 8 + [True]
        with httpx.Client(base_url=url, timeout=30) as http:
            got = http.get(
                "/api/v1/metrics",
                params={
                    "flag": "checkout",
                    "environment": "production",
                    "from": T0.isoformat(),
                    "to": (T0 + timedelta(hours=1)).isoformat(),
                    "step": "1h",
                },
                headers=ADMIN_H,
            ).json()
    legacy, domain = got["variants"]
    assert legacy["totals"]["requests"] == 8 * 10
    assert legacy["totals"]["usage"] == 8 * 9
    assert domain["totals"]["comparison_outcomes"]["fallback"] == 8 * 2


def test_the_server_purges_expired_telemetry(database_url: str, clock: FakeClock) -> None:
    from rollwise.server import create_app

    store = Store(database_url, clock=clock)
    app = create_app(settings(database_url, retention_interval_seconds=0.05), store=store)
    with TestClient(app) as first:
        seed(first)
        sdk = bearer(make_token(first, "sdk", "production"))
        assert first.post("/api/v1/sdk/telemetry", json=body(*windows()), headers=sdk).is_success
    clock.advance(days=100)  # beyond every retention
    with TestClient(app) as second:
        deadline = time.monotonic() + 30
        while True:
            with store.transaction("check") as tx:
                left = tx.telemetry.variant_window(
                    "production", "checkout", T0, T0 + timedelta(hours=1)
                )
                batches = tx.telemetry.reporting_stats("production", T0 - timedelta(days=1)).batches
            if (not left and not batches) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert left == {}
        assert batches == 0
        assert second.get("/readyz").status_code == 200
    store.close()


def test_retention_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from rollwise.errors import ConfigError
    from rollwise.server import ServerSettings

    monkeypatch.setenv("ROLLWISE_RETENTION_10S", "36h")
    monkeypatch.setenv("ROLLWISE_RETENTION_1H", "30d")
    monkeypatch.setenv("ROLLWISE_SAMPLES_PER_NAME", "7")
    policy = ServerSettings.from_env().telemetry
    assert (policy.keep_10s, policy.keep_1h, policy.samples_per_name) == (
        timedelta(hours=36),
        timedelta(days=30),
        7,
    )
    monkeypatch.setenv("ROLLWISE_RETENTION_5M", "soon")
    with pytest.raises(ConfigError) as bad:
        ServerSettings.from_env()
    assert bad.value.path == "ROLLWISE_RETENTION_5M"
    monkeypatch.setenv("ROLLWISE_RETENTION_5M", "1h")  # shorter than the 10 s retention
    with pytest.raises(ConfigError) as short:
        ServerSettings.from_env()
    assert short.value.path == "ROLLWISE_RETENTION_5M"
    assert "at least ROLLWISE_RETENTION_10S (1d12h), got 1h" in short.value.reason
    monkeypatch.setenv("ROLLWISE_RETENTION_5M", "14d")
    monkeypatch.setenv("ROLLWISE_RETENTION_BATCH_IDS", "2d")  # longer than the 10 s retention
    with pytest.raises(ConfigError) as long:
        ServerSettings.from_env()
    assert long.value.path == "ROLLWISE_RETENTION_BATCH_IDS"
    assert "must not exceed ROLLWISE_RETENTION_10S" in long.value.reason


def _nested(depth: int) -> str:
    return "[" * depth + "1" + "]" * depth


def test_deeply_nested_samples_are_capped_and_never_break_the_list(
    client: TestClient, store: Store
) -> None:
    sdk = bearer(make_token(client, "sdk", "production"))
    reader = bearer(make_token(client, "read"))
    sample = json.dumps(mismatch_sample(0)).replace('{"order": 0}', _nested(300))
    sent = json.dumps(body()).replace('"samples": []', f'"samples": [{sample}]')
    headers = sdk | {"Content-Type": "application/json"}
    posted = client.post("/api/v1/sdk/telemetry", content=sent, headers=headers)
    assert posted.status_code == 202, posted.text
    url = "/api/v1/mismatch-samples"
    listed = client.get(url, params={"environment": "production"}, headers=reader)
    assert listed.status_code == 200, listed.text
    assert listed.json()[0]["input"] == {"rollwise_omitted": "nested deeper than 32 levels"}
    assert listed.json()[0]["control"] == {"value": 0}  # the other sides are kept
    # A row stored before the cap existed (written directly, as the old ingest did).
    from rollwise.store.tables import mismatch_samples

    with store.engine.begin() as connection:
        row = connection.execute(mismatch_samples.select()).mappings().one()
        connection.execute(
            mismatch_samples.insert(),
            {**{k: v for k, v in row.items() if k != "id"}, "input": json.loads(_nested(900))},
        )
    listed = client.get(url, params={"environment": "production"}, headers=reader)
    assert listed.status_code == 200, listed.text
    assert [s["input"] for s in listed.json()] == [
        {"rollwise_omitted": "nested deeper than 32 levels"}
    ] * 2


def test_a_lone_surrogate_in_a_batch_is_a_422_naming_the_field_on_both_databases(
    client: TestClient,
) -> None:
    """JSON may carry ``"\\ud800"`` (a lone surrogate). The SDK ships such text escaped
    (``core.text``); a batch that still holds one is refused before any database sees it,
    with the same answer on SQLite and PostgreSQL, and nothing of it is stored."""
    url = "/api/v1/sdk/telemetry?environment=production"
    good = body(*windows())
    good["windows"][0]["series"][0]["route"] = "/cameras/ROUTE"
    raw = json.dumps(good).replace("ROUTE", "\\ud800x").encode()
    response = client.post(
        url, content=raw, headers={**ADMIN_H, "Content-Type": "application/json"}
    )
    error = _error(response, 422, "validation_error")
    assert [e["path"] for e in error["details"]["errors"]] == ["body.windows.0.series.0.route"]
    assert metrics(client)["variants"][0]["totals"]["requests"] == 0
