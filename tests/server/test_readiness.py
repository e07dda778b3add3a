"""/readyz says whether the store can write (a full disk, a read-only filesystem, a read-only
PostgreSQL: 503 with the reason, never a traceback), and, like ``/metrics`` and
``/api/v1/monitoring/controller``, which controller replica leads, or that none does."""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from rollwise.controller import ControllerSettings
from rollwise.server.routers import health
from rollwise.store import Store
from rollwise.store.leases import claim
from rollwise.store.writability import check_writable

from ._support import ADMIN, app_for, bearer, make_token


@pytest.fixture
def sqlite_client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(app_for(f"sqlite:///{tmp_path / 'rollwise.db'}")) as client:
        yield client


def inject(monkeypatch: pytest.MonkeyPatch, **fakes: Any) -> None:
    """The readiness check, with filesystem calls replaced (failure injection)."""
    monkeypatch.setattr(health, "check_writable", functools.partial(check_writable, **fakes))


def test_a_healthy_store_is_ready_and_says_nobody_leads(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready"
    assert body["reasons"] == []
    assert body["database"]["writable"] is True
    assert body["controller"]["status"] == "no_leader"
    assert body["controller"]["leader"] is None
    assert body["controller"]["this_replica"] is None  # no controller in this process


def test_a_full_disk_under_sqlite_is_not_ready(
    sqlite_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    inject(monkeypatch, disk_usage=lambda path: SimpleNamespace(free=8192))
    response = sqlite_client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    body = response.json()
    assert body["status"] == "not_ready"
    assert body["database"]["writable"] is False
    assert body["database"]["free_bytes"] == 8192
    [reason] = body["reasons"]
    assert "is full: 0.0 MiB free, at least 64.0 MiB needed" in reason


def test_a_read_only_filesystem_under_sqlite_is_not_ready(
    sqlite_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    inject(monkeypatch, statvfs=lambda path: SimpleNamespace(f_flag=os.ST_RDONLY))
    response = sqlite_client.get("/readyz")
    assert response.status_code == 503
    [reason] = response.json()["reasons"]
    assert reason.endswith("is mounted read-only")


def test_an_unwritable_database_file_is_not_ready(
    sqlite_client: TestClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    database = tmp_path / "rollwise.db"
    inject(monkeypatch, writable=lambda path: path != database)
    response = sqlite_client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["reasons"] == [f"{database} is not writable"]


def test_a_failing_check_is_a_reason_not_a_traceback(
    sqlite_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: Store) -> None:
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(Store, "status", broken)
    response = sqlite_client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["reasons"] == [
        "the readiness check failed: OSError: [Errno 30] Read-only file system"
    ]


def test_a_read_only_postgresql_refuses_the_probe_write(postgres_url: str) -> None:
    url = make_url(postgres_url)
    read_only = url.update_query_dict({"options": "-c default_transaction_read_only=on"})
    store = Store(read_only.render_as_string(hide_password=False))
    try:
        check = check_writable(store)
    finally:
        store.close()
    assert not check.writable
    assert check.reason is not None
    assert "read-only transaction" in check.reason
    writable = Store(postgres_url)
    try:
        assert check_writable(writable).writable
    finally:
        writable.close()


def take_lease(client: TestClient, holder: str) -> None:
    store: Store = client.app.state.store  # type: ignore[attr-defined]
    with store.engine.begin() as connection:
        claim(connection, "controller", holder, None, 60.0)


def test_who_leads_over_http_and_in_metrics(client: TestClient) -> None:
    metrics = client.get("/metrics").text
    assert "rollwise_controller_led 0.0" in metrics
    assert "rollwise_controller_lease_age_seconds NaN" in metrics

    take_lease(client, "replica-a")
    body = client.get("/readyz").json()["controller"]
    assert body["status"] == "led"
    assert (body["leader"]["replica"], body["leader"]["epoch"]) == ("replica-a", 1)
    assert 0 <= body["leader"]["age_seconds"] < 60

    reader = bearer(make_token(client, "read"))
    assert client.get("/api/v1/monitoring/controller").status_code == 401
    seen = client.get("/api/v1/monitoring/controller", headers=reader).json()
    assert (seen["status"], seen["leader"]["replica"]) == ("led", "replica-a")

    metrics = client.get("/metrics").text
    assert 'rollwise_controller_leader{replica="replica-a"} 1.0' in metrics
    assert "rollwise_controller_led 1.0" in metrics
    assert "rollwise_controller_lease_epoch 1.0" in metrics


def test_a_replica_running_the_controller_says_whether_it_leads(database_url: str) -> None:
    settings = ControllerSettings(tick_seconds=0.1, dispatch_seconds=0.1, replica="me")
    with TestClient(app_for(database_url, controller=settings)) as client:
        deadline = time.monotonic() + 60
        while not (body := client.get("/readyz").json()["controller"])["this_replica"]["leading"]:
            assert time.monotonic() < deadline, body
            time.sleep(0.05)
        assert body["status"] == "led"
        assert body["leader"]["replica"] == "me"
        assert body["this_replica"]["replica"] == "me"
        metrics = client.get("/metrics", headers=bearer(ADMIN)).text
        assert 'rollwise_controller_leader{replica="me"} 1.0' in metrics
