"""Driving the controller in real processes: `rollwise controller` as a subprocess, a
control plane seeded over HTTP, a rollout started, its traffic reported, and bounded waits on
its phase or a process's log (shared by test_processes and test_failover)."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from ..e2e._serve import ROLLWISE
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
