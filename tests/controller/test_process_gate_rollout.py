"""A ``cpu`` gate judged through the controller on SQLite and PostgreSQL: the SDKs' process
samples are ingested with their requests, the controller's builtin provider reads them from
the store, and the rollout rolls back, advances or follows ``on_no_data`` on the candidate's
CPU alone (the request gates are healthy throughout)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rollwise.core.rollout import RolloutAction, RolloutPhase
from rollwise.store import Store

from ..store._telemetry import batch, series, window
from ._support import (
    ENV,
    FLAG,
    Harness,
    at_step_start,
    canary_spec,
    history,
    latencies,
    rollout,
    split,
    start_rollout,
)

CPU_GATE: dict[str, Any] = {"metric": "cpu", "max": 80}
HEALTHY_10 = {"legacy": (2700, 27), "domain": (300, 3)}
HEALTHY_50 = {"legacy": (1500, 15), "domain": (1500, 15)}


def cpu_spec(**overrides: Any) -> dict[str, Any]:
    """The usual canary spec with a ``cpu`` gate next to the request gates."""
    spec = canary_spec(**overrides)
    spec["gates"] = [*spec["gates"], CPU_GATE]
    return spec


def served(
    store: Store,
    at: datetime,
    counts: dict[str, tuple[int, int]],
    cpu: dict[str, float] | None = None,
) -> None:
    """One 10-second window from one process per release: its (requests, errors) and, when
    ``cpu`` names the release, the process sample that release's SDK sends with it."""
    for variant, (requests, errors) in counts.items():
        found = window(at, series=[series(FLAG, variant, latencies(requests, 0.05), errors)])
        if cpu is not None and variant in cpu:
            found["process"] = {
                "flag": FLAG,
                "variant": variant,
                "cpu_percent": cpu[variant],
                "memory_percent": 30.0,
                "rss_bytes": 200_000_000,
            }
        with store.transaction("sdk") as tx:
            result = tx.telemetry.ingest(ENV, batch(found, instance=f"{variant}-host:1"))
        assert result.windows == 1, result


def gates_of(evidence: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    assert evidence is not None
    return {gate["gate"]: gate for gate in evidence["gates"]}


def test_a_canary_burning_cpu_is_rolled_back_with_the_cpu_figure(harness: Harness) -> None:
    store, clock = harness.store, harness.clock
    started = start_rollout(store, clock, cpu_spec())
    served(store, at_step_start(started), HEALTHY_10, cpu={"legacy": 20.0, "domain": 95.0})
    clock.advance(seconds=10)
    harness.tick()  # a failed bound does not wait for the bake

    back = rollout(store, started.id)
    assert (back.phase, back.share) == (RolloutPhase.ROLLED_BACK, 0)
    assert split(store) == {"legacy": 10000, "domain": 0}
    last = history(store, started.id)[-1]
    assert (last.action, last.actor) == (RolloutAction.ROLLBACK, "controller")
    assert last.reason == "step 1: a gate failed"
    gates = gates_of(last.evidence)
    assert {key: gate["verdict"] for key, gate in gates.items()} == {
        "error_rate": "pass",
        "latency_p95": "pass",
        "cpu": "fail",
    }
    cpu = gates["cpu"]
    assert "above the max" in cpu["reason"]
    figures = cpu["evidence"]
    assert (figures["observed"], figures["aggregate"], figures["samples"]) == (95.0, "mean", 1)
    assert [(check["bound"], check["threshold"]) for check in figures["checks"]] == [("max", 80.0)]


def test_a_canary_at_low_cpu_passes_the_gate_and_is_promoted(harness: Harness) -> None:
    store, clock = harness.store, harness.clock
    started = start_rollout(store, clock, cpu_spec())
    served(store, at_step_start(started), HEALTHY_10, cpu={"legacy": 25.0, "domain": 20.0})
    clock.advance(seconds=10)
    harness.tick()
    baking = rollout(store, started.id)
    assert (baking.phase, baking.step) == (RolloutPhase.PROGRESSING, 0)

    clock.advance(minutes=10)
    harness.tick()
    second = rollout(store, started.id)
    assert (second.phase, second.step, second.share) == (RolloutPhase.PROGRESSING, 1, 5000)
    advanced = history(store, started.id)[-1]
    assert advanced.action is RolloutAction.ADVANCE
    cpu = gates_of(advanced.evidence)["cpu"]
    assert cpu["verdict"] == "pass"
    assert cpu["evidence"]["observed"] == 20.0

    # the second step is judged on its own samples only
    served(store, at_step_start(second), HEALTHY_50, cpu={"legacy": 25.0, "domain": 30.0})
    clock.advance(minutes=10, seconds=10)
    harness.tick()
    done = rollout(store, started.id)
    assert (done.phase, done.share) == (RolloutPhase.SUCCEEDED, 10000)
    cpu = gates_of(history(store, started.id)[-1].evidence)["cpu"]
    assert (cpu["verdict"], cpu["evidence"]["observed"]) == ("pass", 30.0)


def test_without_process_samples_the_rollout_follows_on_no_data(harness: Harness) -> None:
    store, clock = harness.store, harness.clock
    started = start_rollout(store, clock, cpu_spec(on_no_data="pause"))
    served(store, at_step_start(started), HEALTHY_10)  # requests, but no process sample
    clock.advance(seconds=10)
    harness.tick()
    assert rollout(store, started.id).phase is RolloutPhase.PROGRESSING  # baking: it waits

    clock.advance(minutes=10)
    harness.tick()
    paused = rollout(store, started.id)
    assert (paused.phase, paused.step) == (RolloutPhase.PAUSED, 0)
    last = history(store, started.id)[-1]
    assert (last.action, last.actor) == (RolloutAction.PAUSE, "controller")
    assert last.reason.startswith("step 1: not enough data (on_no_data): no data: cpu: ")
    assert "no process data for the canary" in last.reason
    assert last.evidence is not None
    assert last.evidence["verdict"] == "no_data"
    assert last.evidence["summary"].startswith("no data: cpu: no process data for the canary")
    assert "cpu" in last.evidence["metrics"]["missing"]
    gates = gates_of(last.evidence)
    assert gates["cpu"]["verdict"] == "no_data"
    assert "no process data for the canary" in gates["cpu"]["reason"]
    assert (gates["error_rate"]["verdict"], gates["latency_p95"]["verdict"]) == ("pass", "pass")
