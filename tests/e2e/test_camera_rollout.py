"""The whole job, for real: ``rollwise serve`` (its controller included), the camera service
syncing and reporting, traffic from a few hundred clients, and the CI flow of the CLI.

- a healthy rollout of ``domain`` reaches ``succeeded`` (``rollwise rollout wait`` exits 0)
  and, once the service has the final config, every request is served by ``domain``;
- with the domain service failing 10% of requests the controller rolls back on its own
  (``wait`` exits 1), the evidence names the failing gate, and every request sent after the
  service picked up the rollback is served by ``legacy``;
- ``USE_DOMAIN_SERVICE=false`` puts everyone on legacy from the first request, although the
  flag gives 100% to domain (and the control plane sees only legacy traffic).
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from .._support.net import free_port
from .._support.waiting import wait_until
from ._camera import (
    FLAG,
    Answer,
    CameraService,
    Traffic,
    camera_service,
    set_up_environment,
)
from ._serve import ADMIN, ROLLWISE, rollwise_serve

CONTROLLER = {"ROLLWISE_CONTROLLER_TICK": "0.5"}


@pytest.fixture(scope="module")
def plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One control plane (SQLite, as the demo runs it) for the module; each test has its own
    environment."""
    root = tmp_path_factory.mktemp("plane")
    url = f"sqlite:///{root / 'rollwise.db'}"
    with rollwise_serve(url, free_port(), root / "serve.log", extra_env=CONTROLLER) as base:
        yield base


@pytest.fixture
def admin(plane: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=plane, headers={"Authorization": f"Bearer {ADMIN}"}) as client:
        yield client


def _spec(tmp_path: Path, environment: str) -> Path:
    spec = {
        "flag": FLAG,
        "environment": environment,
        "variant": "domain",
        "baseline": "legacy",
        "strategy": {"type": "canary", "steps": ["20%/2s", "50%/2s", "100%"]},
        "gates": [
            {"name": "errors", "metric": "error_rate", "max_difference": 0.01},
            {"name": "latency", "metric": "latency_p50", "max_increase": 0.5, "alpha": 0.01},
        ],
        "min_samples": 100,
        "max_step_duration": "2m",
    }
    path = tmp_path / "rollout.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def _cli(plane: str, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ROLLWISE), "rollout", *args, "--url", plane, "--token", ADMIN],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _run_rollout(plane: str, spec: Path) -> tuple[int, subprocess.CompletedProcess[str]]:
    """``rollwise rollout start -f spec --json``, then ``rollwise rollout wait ID``."""
    started = _cli(plane, "start", "-f", str(spec), "--json")
    assert started.returncode == 0, started.stderr
    rollout_id = int(json.loads(started.stdout)["id"])
    waited = _cli(plane, "wait", str(rollout_id), "--timeout", "3m", "--interval", "1s")
    return rollout_id, waited


def _served_after_sync(
    admin: httpx.Client,
    service: CameraService,
    traffic: Traffic,
    sdk_token: str,
    split: dict[str, int],
    count: int = 150,
) -> set[str]:
    """The variants that served the ``count`` requests sent first after the service had the
    config with ``split`` (the control plane's document of that revision, over SSE)."""
    environment = service.environment

    def revision_with_split() -> str | None:
        answer = admin.get("/api/v1/sdk/config", headers={"Authorization": f"Bearer {sdk_token}"})
        document = answer.json()
        flag = next(f for f in document["flags"] if f["key"] == FLAG)
        found = flag["environments"][environment]["split"] == split
        return str(document["revision"]) if found else None

    revision = wait_until(revision_with_split, timeout=20)  # the hub may lag the store by ~1s
    wait_until(lambda: service.stats()["flag_source"]["revision"] == revision, timeout=20)
    mark = time.monotonic()

    def enough() -> list[Answer] | None:
        answers = traffic.sent_since(mark)
        return answers[:count] if len(answers) >= count else None

    return {answer.variant for answer in wait_until(enough, timeout=30, interval=0.1)}


def _history(admin: httpx.Client, rollout_id: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = admin.get(f"/api/v1/rollouts/{rollout_id}/history").json()
    return rows


@pytest.mark.timeout(300)
def test_a_healthy_rollout_succeeds_and_everyone_ends_on_domain(
    plane: str, admin: httpx.Client, tmp_path: Path
) -> None:
    token = set_up_environment(admin, "healthy", {"legacy": 10000, "domain": 0})
    with (
        camera_service(tmp_path / "service", plane, token, "healthy") as service,
        Traffic(service.url) as traffic,
    ):
        rollout_id, waited = _run_rollout(plane, _spec(tmp_path, "healthy"))
        assert waited.returncode == 0, waited.stdout + waited.stderr
        everyone = {"legacy": 0, "domain": 10000}
        assert _served_after_sync(admin, service, traffic, token, everyone) == {"domain"}
        assert traffic.failures == []
    history = _history(admin, rollout_id)
    assert [(row["action"], row["to_phase"], row["to_share"]) for row in history] == [
        ("start", "progressing", 2000),
        ("advance", "progressing", 5000),
        ("advance", "succeeded", 10000),
    ]
    assert all(row["actor"] == "controller" for row in history[1:])
    state = admin.get(f"/api/v1/flags/{FLAG}/environments/healthy").json()["state"]
    assert state["split"] == {"legacy": 0, "domain": 10000}


@pytest.mark.timeout(300)
def test_a_failing_domain_service_is_rolled_back_and_everyone_returns_to_legacy(
    plane: str, admin: httpx.Client, tmp_path: Path
) -> None:
    token = set_up_environment(admin, "faulty", {"legacy": 10000, "domain": 0})
    fault = {"CAMERA_SERVICE_FAULT": "error-rate=0.1"}
    with (
        camera_service(tmp_path / "service", plane, token, "faulty", **fault) as service,
        Traffic(service.url) as traffic,
    ):
        rollout_id, waited = _run_rollout(plane, _spec(tmp_path, "faulty"))
        assert waited.returncode == 1, waited.stdout + waited.stderr
        assert "rolled_back" in waited.stdout
        assert traffic.variants()["domain"] > 0  # domain did serve during the rollout
        nobody = {"legacy": 10000, "domain": 0}
        assert _served_after_sync(admin, service, traffic, token, nobody) == {"legacy"}
        assert traffic.failures == []
    view = admin.get(f"/api/v1/rollouts/{rollout_id}").json()
    assert (view["phase"], view["share"]) == ("rolled_back", 0)
    rollback = _history(admin, rollout_id)[-1]
    assert (rollback["action"], rollback["actor"]) == ("rollback", "controller")
    failed = [g for g in rollback["evidence"]["gates"] if g["verdict"] == "fail"]
    assert [g["gate"] for g in failed] == ["errors"]
    canary = failed[0]["evidence"]["canary"]
    assert canary["bad"] > 0
    assert canary["rate"] > 0.01
    state = admin.get(f"/api/v1/flags/{FLAG}/environments/faulty").json()["state"]
    assert state["split"] == {"legacy": 10000, "domain": 0}


def test_use_domain_service_false_puts_everyone_on_legacy_at_once(
    plane: str, admin: httpx.Client, tmp_path: Path
) -> None:
    token = set_up_environment(admin, "operator", {"legacy": 0, "domain": 10000})
    clients = [f"client-{n}" for n in range(300)]

    def variants(url: str) -> set[str]:
        with httpx.Client(base_url=url, timeout=10) as http:
            return {
                http.get("/api/v1/cameras/lobby/status", headers={"X-Client-Id": client}).headers[
                    "x-camera-variant"
                ]
                for client in clients
            }

    switch = {"USE_DOMAIN_SERVICE": "false"}
    with camera_service(tmp_path / "switched", plane, token, "operator", **switch) as service:
        assert variants(service.url) == {"legacy"}  # from the very first request
        selections = service.stats()["selections"]
    assert selections == {"legacy": {"env:USE_DOMAIN_SERVICE": len(clients)}}
    # the control plane saw what was served (the service sends its last window on exit)
    metrics = admin.get("/api/v1/metrics", params={"flag": FLAG, "environment": "operator"})
    totals = {v["variant"]: v["totals"]["requests"] for v in metrics.json()["variants"]}
    assert totals.get("domain", 0) == 0
    assert totals["legacy"] == len(clients)
    # without the switch, the same flag sends everyone to domain
    with camera_service(tmp_path / "plain", plane, token, "operator") as service:
        assert variants(service.url) == {"domain"}
