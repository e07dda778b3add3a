"""The controller in real processes: inside `rollwise serve`, and alone as `rollwise controller`
next to `rollwise serve` without one, handing leadership over on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from rollwise.store import Store

from .._db import empty_tables
from ..e2e._serve import ADMIN, ROLLWISE, rollwise_serve
from ..server._support import free_port
from ..store._telemetry import batch, series, window
from ._support import latencies

FAST = {"ROLLWISE_CONTROLLER_TICK": "0.2", "ROLLWISE_DISPATCH_INTERVAL": "0.2"}
SPEC: dict[str, Any] = {
    "flag": "checkout",
    "environment": "production",
    "variant": "domain",
    "strategy": {"steps": ["50%/1s"]},
    "gates": [{"metric": "error_rate", "max": 0.05}],
    "min_samples": 50,
}

pytestmark = pytest.mark.slow


def seed(admin: httpx.Client) -> None:
    assert admin.post("/api/v1/environments", json={"key": "production"}).is_success
    flag = {"key": "checkout", "variants": ["legacy", "domain"]}
    assert admin.post("/api/v1/flags", json=flag).is_success
    state = {"split": {"legacy": 10000, "domain": 0}, "version": 0}
    assert admin.put("/api/v1/flags/checkout/environments/production", json=state).is_success


def start(admin: httpx.Client) -> dict[str, Any]:
    response = admin.post("/api/v1/rollouts", json={**SPEC, "start": True})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def report_traffic(admin: httpx.Client, rollout: dict[str, Any]) -> None:
    """What an SDK would report: a healthy 10-second window in the step (its first full one)."""
    started = datetime.fromisoformat(rollout["step_clock"]["started_at"]).astimezone(UTC)
    bucket = datetime.fromtimestamp(-(-started.timestamp() // 10) * 10, UTC)
    parts = [
        series("checkout", "legacy", latencies(100, 0.05), errors=1),
        series("checkout", "domain", latencies(100, 0.05), errors=1),
    ]
    body = json.loads(batch(window(bucket, series=parts)).model_dump_json())
    response = admin.post("/api/v1/sdk/telemetry", params={"environment": "production"}, json=body)
    assert response.status_code == 202, response.text
    assert response.json()["windows"] == 1, response.text


def wait_for_phase(admin: httpx.Client, rollout_id: int, phase: str, log: Path) -> dict[str, Any]:
    deadline = time.monotonic() + 90
    while True:
        view: dict[str, Any] = admin.get(f"/api/v1/rollouts/{rollout_id}").json()
        if view["phase"] == phase:
            return view
        if time.monotonic() > deadline:
            pytest.fail(f"rollout {rollout_id} stayed {view['phase']}: {view}\n{log.read_text()}")
        time.sleep(0.2)


def drive_to_success(admin: httpx.Client, log: Path) -> None:
    rollout = start(admin)
    report_traffic(admin, rollout)
    done = wait_for_phase(admin, rollout["id"], "succeeded", log)
    assert done["share"] == 10000
    history = admin.get(f"/api/v1/rollouts/{rollout['id']}/history").json()
    assert [(h["action"], h["actor"]) for h in history][1:] == [("advance", "controller")]
    state = admin.get("/api/v1/flags/checkout/environments/production").json()
    assert state["state"]["split"] == {"legacy": 0, "domain": 10000}


def test_rollwise_serve_runs_the_controller(database_url: str, tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    with (
        rollwise_serve(database_url, free_port(), log, extra_env=FAST) as url,
        httpx.Client(base_url=url, headers={"Authorization": f"Bearer {ADMIN}"}) as admin,
    ):
        seed(admin)
        drive_to_success(admin, log)


@contextmanager
def rollwise_controller(
    database_url: str, log: Path, extra_env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    env = {**os.environ, **FAST, **(extra_env or {})}
    with log.open("ab") as output:
        process = subprocess.Popen(
            [str(ROLLWISE), "controller", "--database-url", database_url],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(30)


def wait_for_log(log: Path, text: str) -> None:
    deadline = time.monotonic() + 60
    while text not in log.read_text():
        if time.monotonic() > deadline:
            pytest.fail(f"{log.name} never said {text!r}:\n{log.read_text()}")
        time.sleep(0.1)


@pytest.fixture
def empty_postgres(postgres_url: str) -> str:
    store = Store(postgres_url)
    empty_tables(store)
    store.close()
    return postgres_url


def test_rollwise_controller_alone_next_to_serve_without_one(
    empty_postgres: str, tmp_path: Path
) -> None:
    postgres_url = empty_postgres
    serve_log, first_log, second_log = (tmp_path / f"{n}.log" for n in ("serve", "one", "two"))
    no_controller = {"ROLLWISE_CONTROLLER": "off"}
    with (
        rollwise_serve(postgres_url, free_port(), serve_log, extra_env=no_controller) as url,
        httpx.Client(base_url=url, headers={"Authorization": f"Bearer {ADMIN}"}) as admin,
    ):
        seed(admin)
        with rollwise_controller(postgres_url, first_log) as first:
            wait_for_log(first_log, "this process leads the controller")
            drive_to_success(admin, first_log)
            with rollwise_controller(postgres_url, second_log) as second:
                wait_for_log(second_log, "controller started")
                first.send_signal(signal.SIGTERM)  # stops after its round, releasing the lock
                assert first.wait(30) == 0
                wait_for_log(second_log, "this process leads the controller")
                second.send_signal(signal.SIGTERM)
                assert second.wait(30) == 0
            # nobody leads now: the next rollout waits for a controller
            rollout = start(admin)
            report_traffic(admin, rollout)
            with rollwise_controller(postgres_url, tmp_path / "three.log"):
                wait_for_phase(admin, rollout["id"], "succeeded", tmp_path / "three.log")
        assert "SIGTERM received, stopping" in first_log.read_text()


def test_a_bad_setting_stops_rollwise_controller_with_the_variable_named(tmp_path: Path) -> None:
    env = {**os.environ, "ROLLWISE_CONTROLLER_TICK": "soon"}
    url = f"sqlite:///{tmp_path / 'r.db'}"
    result = subprocess.run(
        [str(ROLLWISE), "controller", "--database-url", url],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "ROLLWISE_CONTROLLER_TICK: invalid duration 'soon'" in result.stderr
