"""Health, readiness against migrations, metrics, the first admin token, racing writers."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from rollwise.server import ServerSettings, create_app

from ._support import ADMIN, app_for, bearer, live_server, seed


def test_healthz_and_readyz_follow_the_migrations(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    app = app_for(url)
    bare = TestClient(app)  # no lifespan: nothing migrated yet
    assert bare.get("/healthz").json() == {"status": "ok"}
    not_ready = bare.get("/readyz")
    assert not_ready.status_code == 503
    assert not_ready.json()["database"]["migration"] is None
    with TestClient(app) as started:
        ready = started.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["database"]["migration"] == ready.json()["database"]["head"]


def test_unreachable_database_is_not_ready() -> None:
    app = create_app(
        ServerSettings(database_url="postgresql+psycopg://x@127.0.0.1:1/none?connect_timeout=2")
    )
    response = TestClient(app).get("/readyz")
    assert response.status_code == 503
    assert response.json()["database"]["reachable"] is False


def test_metrics_count_requests_by_route_template(client: TestClient) -> None:
    seed(client)
    client.get("/api/v1/flags/checkout", headers=bearer(ADMIN))
    client.get("/api/v1/flags/nope", headers=bearer(ADMIN))
    text = client.get("/metrics").text
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    key = (
        "rollwise_http_requests_total",
        (("method", "GET"), ("route", "/api/v1/flags/{key}"), ("status", "200")),
    )
    assert samples[key] == 1
    missing = (
        "rollwise_http_requests_total",
        (("method", "GET"), ("route", "/api/v1/flags/{key}"), ("status", "404")),
    )
    assert samples[missing] == 1
    assert samples[("rollwise_config_revision", (("environment", "production"),))] >= 1


def test_first_start_prints_a_generated_admin_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'first.db'}"
    with TestClient(create_app(ServerSettings(database_url=url))) as client:
        printed = capsys.readouterr().err
        secret = printed.split("store it now):")[1].split()[0]
        assert client.get("/api/v1/tokens", headers=bearer(secret)).status_code == 200
    with TestClient(create_app(ServerSettings(database_url=url))):
        assert "store it now" not in capsys.readouterr().err  # only on the first start


def test_racing_writers_over_http_exactly_one_wins(database_url: str) -> None:
    app = app_for(database_url)
    with TestClient(app) as setup:
        seed(setup)
    results: list[int] = []
    barrier = threading.Barrier(2)
    with live_server(app) as url:

        def write(share: int) -> None:
            body = {"split": {"legacy": 10000 - share, "domain": share}, "version": 1}
            with httpx.Client(base_url=url, headers=bearer(ADMIN), timeout=30) as http:
                barrier.wait(10)
                results.append(
                    http.put(
                        "/api/v1/flags/checkout/environments/production", json=body
                    ).status_code
                )

        threads = [threading.Thread(target=write, args=(s,)) for s in (2000, 3000)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        with httpx.Client(base_url=url, headers=bearer(ADMIN)) as http:
            audit = http.get("/api/v1/audit?action=flag_state.update").json()
    assert sorted(results) == [200, 409]
    assert len(audit) == 2  # the seed's and the winner's
