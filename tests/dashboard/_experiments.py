"""Seeding the dashboard's control plane with releases and a running experiment, through
the API (and the store's ingest for the experiment's exposures and events, as the SDK
telemetry endpoint would write them)."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from rollwise.core.telemetry import Exposure, TrackedEvent

from ..experiments._support import DEFINITION
from ._plane import Plane

EXPERIMENT = str(DEFINITION["key"])
RATES = {"control": 0.10, "variant_a": 0.10, "variant_b": 0.25}
"""Conversion per arm: variant_b is clearly better, variant_a the same as control."""
PLANNED = ("control", "control", "variant_a", "variant_b")
SKEWED = ("control",) * 3 + ("variant_a", "variant_b")


def release_history(plane: Plane, environment: str = "staging") -> list[dict[str, Any]]:
    """v1.0.0 (live at once), v1.1.0 promoted, v1.2.0 rolling out: newest first."""
    flag = "shop-release"
    plane.post("/api/v1/releases", _release(environment, flag, "v1.0.0", "aaa1111"))
    second = plane.post("/api/v1/releases", _release(environment, flag, "v1.1.0", "bbb2222"))
    rollout = plane.get(f"/api/v1/rollouts/{second['rollout_id']}")
    plane.post(f"/api/v1/rollouts/{rollout['id']}/promote", {"version": rollout["version"]})
    plane.post("/api/v1/releases", _release(environment, flag, "v1.2.0", "ccc3333"))
    history: list[dict[str, Any]] = plane.get(f"/api/v1/releases?environment={environment}")
    return history


def _release(environment: str, flag: str, version: str, commit: str) -> dict[str, Any]:
    return {
        "environment": environment,
        "flag": flag,
        "version": version,
        "commit": commit,
        "deployed_by": "ci/alice",
        "rollout": {"strategy": {"steps": ["10%/1h", "100%"]}, "gates": []},
    }


def running_experiment(plane: Plane, units: int = 1600, skewed: bool = False) -> dict[str, Any]:
    """The 50/25/25 ``checkout-test`` on ``checkout_page`` in production, started, with
    ``units`` exposed users and their purchases, revenue, sessions and errors; ``skewed``:
    the arms got 60/20/20 instead (a sample-ratio mismatch)."""
    plane.post(
        "/api/v1/flags", {"key": "checkout_page", "variants": ["control", "variant_a", "variant_b"]}
    )
    plane.post("/api/v1/experiments", DEFINITION)
    started: dict[str, Any] = plane.post(f"/api/v1/experiments/{EXPERIMENT}/start", {})
    store = plane.app.state.store
    at = store.now() - timedelta(minutes=30)
    later = at + timedelta(minutes=5)
    rng = random.Random(17)
    exposures: list[Exposure] = []
    events: list[TrackedEvent] = []
    for number in range(units):
        unit = f"user-{number}"
        arm = (SKEWED if skewed else PLANNED)[number % len(SKEWED if skewed else PLANNED)]
        exposures.append(Exposure(experiment=EXPERIMENT, unit=unit, arm=arm, at=at))
        events.append(TrackedEvent(event="session", unit=unit, at=later))
        if rng.random() < RATES[arm]:
            events.append(TrackedEvent(event="purchase", unit=unit, at=later))
            events.append(
                TrackedEvent(event="revenue", unit=unit, value=rng.uniform(10, 60), at=later)
            )
        if rng.random() < 0.02:
            events.append(TrackedEvent(event="error", unit=unit, at=later))
    with store.transaction("sdk") as tx:
        tx.experiment_data.record("production", "dashboard-seed-1", exposures, events)
    return started
