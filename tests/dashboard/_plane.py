"""A real control plane for the dashboard tests: SQLite, uvicorn on loopback, seeded
through its own API with environments, flags, a started rollout, telemetry, a judgement
from the real judge and an alert rule that fired."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from rollwise.analysis import judge_step
from rollwise.analysis.data import VariantMetrics
from rollwise.application.alerts import observe_alert
from rollwise.application.rollouts import act_on_rollout
from rollwise.core.gates import Gate
from rollwise.server.dashboard import router as dashboard_router

from ..server._support import ADMIN, app_for, bearer, live_server, make_token, seed
from ..store._telemetry import batch, series, sketch, window

GATES: list[dict[str, Any]] = [
    {"metric": "error_rate", "max_difference": 0.01},
    {"metric": "latency_p95", "max_increase": 0.5},
]


@dataclass
class Plane:
    url: str
    app: FastAPI
    http: httpx.Client
    read: str
    write: str
    sdk: str
    rollout_id: int

    def get(self, path: str, token: str = ADMIN) -> Any:
        response = self.http.get(path, headers=bearer(token))
        assert response.status_code == 200, response.text
        return response.json()

    def post(self, path: str, body: dict[str, Any], token: str = ADMIN) -> Any:
        response = self.http.post(path, json=body, headers=bearer(token))
        assert response.is_success, response.text
        return response.json()


def with_dashboard(app: FastAPI) -> FastAPI:
    """The dashboard's routes, unless create_app already includes them."""
    if not any(getattr(route, "path", None) == "/ui/{name:path}" for route in app.routes):
        app.include_router(dashboard_router)
    return app


def _telemetry(plane: Plane) -> None:
    """Two minutes of 10 s windows up to now: legacy and a slightly slower domain."""
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(seconds=now.second % 10 + 120)
    windows = []
    for index in range(12):
        legacy = [0.010 + 0.001 * (index % 4)] * 25
        domain = [0.012 + 0.002 * (index % 3)] * 25
        windows.append(
            window(
                start + timedelta(seconds=10 * index),
                series=[
                    series("checkout", "legacy", legacy, errors=index % 5 == 0),
                    series("checkout", "domain", domain, errors=index % 6 == 0),
                ],
                usage=[
                    {"flag": "checkout", "variant": "legacy", "count": 225},
                    {"flag": "checkout", "variant": "domain", "count": 25},
                ],
            )
        )
    payload = json.loads(batch(*windows).model_dump_json())
    response = plane.http.post("/api/v1/sdk/telemetry", json=payload, headers=bearer(plane.sdk))
    assert response.status_code == 202, response.text


def _judgement(plane: Plane) -> None:
    """What the controller would record: the real judge on the traffic above."""
    baseline = VariantMetrics("legacy", requests=300, errors=3, latency=sketch([0.011] * 300))
    canary = VariantMetrics("domain", requests=300, errors=2, latency=sketch([0.014] * 300))
    result = judge_step(
        [Gate.model_validate(gate) for gate in GATES],
        baseline,
        canary,
        min_samples=100,
        bake_elapsed=False,
    )
    store = plane.app.state.store
    with store.transaction("controller") as tx:
        tx.rollouts.record_judgement(  # an earlier look, kept in the evaluations (not the latest)
            plane.rollout_id,
            decision="hold",
            verdict="no_data",
            reason="hold: waiting for the first requests",
            at=store.now() - timedelta(minutes=2),
        )
        tx.rollouts.record_judgement(
            plane.rollout_id,
            decision=result.decision.value,
            verdict=result.verdict.value,
            reason=result.summary,
            evidence=result.to_dict(),
        )


def _alert(plane: Plane) -> None:
    rule = {
        "name": "checkout-errors",
        "environment": "production",
        "flag": "checkout",
        "variant": "domain",
        "metric": "error_rate",
        "comparison": "above",
        "threshold": 0.05,
        "window": "5m",
        "severity": "critical",
    }
    plane.post("/api/v1/alert-rules", rule)
    with plane.app.state.store.transaction("controller") as tx:
        observe_alert(tx, "checkout-errors", breached=True, value=0.08, reason="8% above 5%")


def _evidence(canary_errors: int) -> dict[str, Any]:
    """The real judge's evidence on 2,000 requests a side, the canary failing as told."""
    baseline = VariantMetrics("old", requests=2000, errors=20, latency=sketch([0.011] * 2000))
    canary = VariantMetrics(
        "new", requests=2000, errors=canary_errors, latency=sketch([0.012] * 2000)
    )
    result = judge_step(
        [Gate.model_validate(gate) for gate in GATES],
        baseline,
        canary,
        min_samples=100,
        bake_elapsed=True,
    )
    return result.to_dict()


def rolled_back_rollout(plane: Plane) -> int:
    """Flag ``search`` rolled out to 10%, advanced to 25% by the controller, then rolled
    back there on a failing error-rate gate: the history holds both judgements."""
    plane.post("/api/v1/flags", {"key": "search", "variants": ["old", "new"]})
    response = plane.http.put(
        "/api/v1/flags/search/environments/production",
        json={"split": {"old": 10000, "new": 0}, "version": 0},
        headers=bearer(ADMIN),
    )
    assert response.status_code == 200, response.text
    created = plane.post(
        "/api/v1/rollouts",
        {
            "flag": "search",
            "environment": "production",
            "variant": "new",
            "strategy": {"steps": ["10%/1m", "25%/1m", "50%/1m"]},
            "gates": GATES,
            "min_samples": 100,
            "start": True,
        },
    )
    rollout_id: int = created["id"]
    with plane.app.state.store.transaction("controller") as tx:
        after = act_on_rollout(
            tx,
            rollout_id,
            "advance",
            expected_version=created["version"],
            actor="controller",
            reason="every gate passed",
            evidence=_evidence(18),
        )
        act_on_rollout(
            tx,
            rollout_id,
            "rollback",
            expected_version=after.version,
            actor="controller",
            reason="error_rate: canary significantly above the allowed rate",
            evidence=_evidence(200),
        )
    return rollout_id


@contextmanager
def control_plane(directory: Path, **settings: Any) -> Iterator[Plane]:
    """``settings``: ServerSettings fields (``controller=`` runs the rollout controller)."""
    app = with_dashboard(app_for(f"sqlite:///{directory / 'rollwise.db'}", **settings))
    with live_server(app) as url, httpx.Client(base_url=url, timeout=10) as http:
        seed(http)  # type: ignore[arg-type]  # the same calls as a TestClient
        tokens = {s: make_token(http, s) for s in ("read", "write")}  # type: ignore[arg-type]
        sdk = make_token(http, "sdk", "production")  # type: ignore[arg-type]
        plane = Plane(url, app, http, tokens["read"], tokens["write"], sdk, rollout_id=0)
        created = plane.post(
            "/api/v1/rollouts",
            {
                "flag": "checkout",
                "environment": "production",
                "variant": "domain",
                "strategy": {"steps": ["10%/1h", "25%/1h", "50%/1h"]},
                "gates": GATES,
                "min_samples": 100,
                "start": True,
            },
        )
        plane.rollout_id = created["id"]
        _telemetry(plane)
        _judgement(plane)
        _alert(plane)
        yield plane
