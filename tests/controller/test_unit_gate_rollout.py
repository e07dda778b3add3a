"""A ``failing_units`` gate judged through the controller on SQLite and PostgreSQL: the SDK's
recorder counts units per window, its batches are ingested, the builtin provider reads the
step's union of unit sketches from the store, and the rollout rolls back, advances or
follows ``on_no_data`` on the share of users with a failure."""

from __future__ import annotations

import logging
import secrets
from datetime import datetime
from typing import Any

from rollwise.core.rollout import RolloutAction, RolloutPhase
from rollwise.core.telemetry import TelemetryBatch
from rollwise.sdk.recorder import RequestRecorder
from rollwise.sdk.reporter._build import Drained, build_batches
from rollwise.store import Store

from ._support import (
    ENV,
    FLAG,
    Harness,
    at_step_start,
    canary_spec,
    history,
    rollout,
    start_rollout,
)

UNIT_GATE: dict[str, Any] = {"metric": "failing_units", "max_increase": 0.2, "min_samples": 50}


def unit_spec(**overrides: Any) -> dict[str, Any]:
    return canary_spec(gates=[UNIT_GATE], **overrides)


def report(
    store: Store,
    at: datetime,
    users: dict[str, tuple[int, int]],
    *,
    track_units: bool = True,
) -> None:
    """What the SDK of one process reports for one window: per variant, (users, failing
    users); every user makes 3 requests, a failing user's first one is a 500."""
    clock_value = [at.timestamp()]
    recorder = RequestRecorder(clock=lambda: clock_value[0], track_units=track_units)
    for variant, (count, failing) in users.items():
        for user in range(count):
            for request in range(3):
                status = 500 if user < failing and request == 0 else 200
                recorder.record(FLAG, variant, 0.05, status, "/checkout", f"{variant}-{user}")
    clock_value[0] += 10
    built = build_batches(Drained(windows=recorder.drain()), at, 10, logging.getLogger("test"))
    for part in built.batches:
        wire = TelemetryBatch(
            batch_id=f"b-{secrets.token_hex(8)}",
            instance="app-1:1",
            sent_at=at,
            windows=part.windows,
        )
        with store.transaction("sdk") as tx:
            tx.telemetry.ingest(ENV, wire)


def unit_gate(evidence: dict[str, Any] | None) -> dict[str, Any]:
    assert evidence is not None
    (gate,) = [g for g in evidence["gates"] if g["gate"] == "failing_units"]
    return gate


def test_a_canary_failing_many_users_is_rolled_back_on_unit_data(harness: Harness) -> None:
    store, clock = harness.store, harness.clock
    started = start_rollout(store, clock, unit_spec())
    report(store, at_step_start(started), {"legacy": (900, 45), "domain": (100, 40)})
    clock.advance(seconds=10)
    harness.tick()

    back = rollout(store, started.id)
    assert back.phase is RolloutPhase.ROLLED_BACK
    last = history(store, started.id)[-1]
    assert last.action is RolloutAction.ROLLBACK
    gate = unit_gate(last.evidence)
    assert gate["verdict"] == "fail"
    figures = gate["evidence"]
    assert figures["samples"]["canary"] == 100  # exact: a list of coupons
    assert abs(figures["samples"]["baseline"] - 900) <= 45  # 900 units: an HLL estimate
    low, high = figures["baseline"]["units_bounds"]
    assert low <= 900 <= high
    assert (figures["canary"]["failing_units"], figures["baseline"]["failing_units"]) == (40, 45)
    assert figures["checks"][0]["test"] == "conditional_binomial_mixture"


def test_a_canary_failing_as_few_users_advances(harness: Harness) -> None:
    store, clock = harness.store, harness.clock
    started = start_rollout(store, clock, unit_spec())
    report(store, at_step_start(started), {"legacy": (900, 45), "domain": (100, 5)})
    clock.advance(minutes=10, seconds=10)
    harness.tick()
    second = rollout(store, started.id)
    assert (second.phase, second.step) == (RolloutPhase.PROGRESSING, 1)
    assert unit_gate(history(store, started.id)[-1].evidence)["verdict"] == "pass"


def test_without_unit_sketches_the_gate_says_why_and_the_rollout_pauses(
    harness: Harness,
) -> None:
    store, clock = harness.store, harness.clock
    started = start_rollout(store, clock, unit_spec(on_no_data="pause"))
    report(
        store, at_step_start(started), {"legacy": (900, 45), "domain": (100, 5)}, track_units=False
    )
    clock.advance(minutes=10, seconds=10)
    harness.tick()
    paused = rollout(store, started.id)
    assert paused.phase is RolloutPhase.PAUSED
    last = history(store, started.id)[-1]
    gate = unit_gate(last.evidence)
    assert gate["verdict"] == "no_data"
    assert "the SDKs reported no unit sketches for domain" in gate["reason"]
    assert "rollwise[units]" in gate["reason"]
    assert last.evidence is not None
    assert "failing_units" in last.evidence["metrics"]["missing"]
