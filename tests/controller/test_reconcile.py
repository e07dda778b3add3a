"""The reconcile loop on SQLite and PostgreSQL: rollouts driven by ingested telemetry through
the builtin provider, judged every tick, advanced, paused or rolled back with evidence."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rollwise.analysis.providers import MetricProvider, MetricQuery, StepMetrics
from rollwise.application import act_on_rollout, create_rollout
from rollwise.controller import build_provider
from rollwise.core import FlagEnvironment
from rollwise.core.gates import Gate
from rollwise.core.rollout import RolloutAction, RolloutPhase
from rollwise.errors import ProviderError
from rollwise.store import Store

from .._support.clock import FakeClock
from ._support import (
    Harness,
    at_step_start,
    canary_spec,
    fast_settings,
    history,
    make_controller,
    rollout,
    split,
    start_rollout,
    traffic,
)

HEALTHY_10 = {"legacy": (2700, 27), "domain": (300, 3)}
HEALTHY_50 = {"legacy": (1500, 15), "domain": (1500, 15)}


def judgement(store: Store, rollout_id: int) -> Any:
    with store.transaction("read") as tx:
        return tx.rollouts.get_judgement(rollout_id)


def test_a_healthy_canary_advances_step_by_step_to_success(harness: Harness) -> None:
    store, clock = harness.store, harness.clock
    started = start_rollout(store, clock, canary_spec())
    assert split(store) == {"legacy": 9000, "domain": 1000}

    traffic(store, at_step_start(started), **HEALTHY_10)
    clock.advance(seconds=10)
    harness.tick()
    baking = rollout(store, started.id)
    assert (baking.phase, baking.step, baking.version) == (RolloutPhase.PROGRESSING, 0, 2)
    look = judgement(store, started.id)
    assert (look.decision, look.verdict, look.rollout_version) == ("hold", "pass", 2)
    assert "baking" in look.reason
    assert look.evidence["samples"] == {"baseline": 2700, "canary": 300}

    clock.advance(minutes=10)
    harness.tick()
    second = rollout(store, started.id)
    assert (second.phase, second.step, second.share) == (RolloutPhase.PROGRESSING, 1, 5000)
    assert second.step_started_at == clock.now
    assert split(store) == {"legacy": 5000, "domain": 5000}

    traffic(store, at_step_start(second), **HEALTHY_50)
    clock.advance(seconds=10)
    harness.tick()
    assert rollout(store, started.id).step == 1  # the new step bakes afresh
    clock.advance(minutes=10)
    harness.tick()

    done = rollout(store, started.id)
    assert (done.phase, done.share) == (RolloutPhase.SUCCEEDED, 10000)
    assert split(store) == {"legacy": 0, "domain": 10000}
    rows = history(store, started.id)
    assert [(r.action, r.actor, r.to_phase, r.to_step) for r in rows] == [
        (RolloutAction.START, "token:bob:1", RolloutPhase.PROGRESSING, 0),
        (RolloutAction.ADVANCE, "controller", RolloutPhase.PROGRESSING, 1),
        (RolloutAction.ADVANCE, "controller", RolloutPhase.SUCCEEDED, 2),
    ]
    evidence = rows[1].evidence
    assert evidence is not None
    assert evidence["decision"] == "promote"
    assert evidence["action"] == "advance"
    assert {g["gate"]: g["verdict"] for g in evidence["gates"]} == {
        "error_rate": "pass",
        "latency_p95": "pass",
    }
    assert evidence["metrics"]["canary"]["requests"] == 300
    assert evidence["source"] == {"provider": "builtin"}
    assert evidence["window"]["start"] == at_step_start(started).isoformat()
    assert rows[1].reason.startswith("step 1: gates passed")


def test_a_faulty_canary_is_rolled_back_with_the_gate_evidence(harness: Harness) -> None:
    store, clock = harness.store, harness.clock
    started = start_rollout(store, clock, canary_spec())
    traffic(store, at_step_start(started), legacy=(9000, 90), domain=(1000, 50))
    clock.advance(seconds=10)
    harness.tick()  # long before the bake is over: a failure does not wait

    back = rollout(store, started.id)
    assert (back.phase, back.share) == (RolloutPhase.ROLLED_BACK, 0)
    assert split(store) == {"legacy": 10000, "domain": 0}
    last = history(store, started.id)[-1]
    assert (last.action, last.actor) == (RolloutAction.ROLLBACK, "controller")
    assert last.reason == "step 1: a gate failed"
    assert last.evidence is not None
    gates = {g["gate"]: g for g in last.evidence["gates"]}
    assert gates["error_rate"]["verdict"] == "fail"
    figures = gates["error_rate"]["evidence"]
    assert figures["canary"] == {"trials": 1000, "bad": 50, "rate": 0.05}
    assert figures["baseline"] == {"trials": 9000, "bad": 90, "rate": 0.01}
    assert last.evidence["verdict"] == "fail"

    clock.advance(minutes=30)
    harness.tick()  # terminal: nothing more happens
    assert len(history(store, started.id)) == 2


def test_without_data_a_step_holds_then_pauses_at_its_maximum_duration(harness: Harness) -> None:
    store, clock = harness.store, harness.clock
    started = start_rollout(store, clock, canary_spec())  # max duration: max(2 x 10m, 1h)
    clock.advance(seconds=10)
    harness.tick()
    look = judgement(store, started.id)
    assert (look.decision, look.verdict) == ("hold", "no_data")
    assert look.evidence["provider_error"]["code"] == "no_data"
    assert "no requests for canary 'domain'" in look.evidence["provider_error"]["message"]
    assert {g["verdict"] for g in look.evidence["gates"]} == {"no_data"}

    clock.advance(minutes=30)  # bake over, still nothing: on_no_data hold keeps waiting
    harness.tick()
    assert rollout(store, started.id).phase is RolloutPhase.PROGRESSING
    assert judgement(store, started.id).reason == "step 1: waiting for enough data"

    clock.advance(minutes=30)
    harness.tick()
    paused = rollout(store, started.id)
    assert (paused.phase, paused.share) == (RolloutPhase.PAUSED, 1000)
    last = history(store, started.id)[-1]
    assert (last.action, last.actor) == (RolloutAction.PAUSE, "controller")
    assert last.reason.startswith("step 1: not enough data within 1h: no data: ")

    # a paused rollout belongs to people: healthy data and time change nothing
    traffic(store, clock.now, **HEALTHY_10)
    clock.advance(hours=5)
    harness.tick()
    assert rollout(store, started.id) == paused
    assert len(history(store, started.id)) == 2


def test_a_judge_that_fails_on_the_data_is_no_data_and_the_step_still_pauses(
    harness: Harness, monkeypatch: Any
) -> None:
    from rollwise.controller import reconcile

    def broken_judge(*args: Any, **kwargs: Any) -> Any:
        raise ValueError("p must be in [0, 1], got nan")

    monkeypatch.setattr(reconcile, "judge_step", broken_judge)
    store, clock = harness.store, harness.clock
    started = start_rollout(store, clock, canary_spec())
    traffic(store, clock.now, **HEALTHY_10)
    clock.advance(seconds=30)
    harness.tick()
    look = judgement(store, started.id)
    assert (look.decision, look.verdict) == ("hold", "no_data")
    assert look.evidence["provider_error"]["code"] == "judge_error"
    assert "p must be in [0, 1]" in look.evidence["provider_error"]["message"]

    clock.advance(hours=1)  # the step's maximum duration: a person looks at it
    harness.tick()
    paused = rollout(store, started.id)
    assert paused.phase is RolloutPhase.PAUSED
    reason = history(store, started.id)[-1].reason
    assert reason.startswith("step 1: not enough data within 1h: no data: ")


def test_too_few_requests_is_no_data_not_a_pass(harness: Harness) -> None:
    store, clock = harness.store, harness.clock
    started = start_rollout(store, clock, canary_spec(on_no_data="pause"))
    traffic(store, at_step_start(started), legacy=(900, 0), domain=(100, 0))
    clock.advance(minutes=11)
    harness.tick()
    paused = rollout(store, started.id)
    assert paused.phase is RolloutPhase.PAUSED
    last = history(store, started.id)[-1]
    assert last.reason.startswith("step 1: not enough data (on_no_data): no data: ")
    assert last.evidence is not None
    assert last.evidence["samples"] == {"baseline": 900, "canary": 100}
    assert last.evidence["decision"] == "no_data"


def test_on_no_data_rollback_rolls_back_once_the_bake_is_over(harness: Harness) -> None:
    store, clock = harness.store, harness.clock
    started = start_rollout(store, clock, canary_spec(on_no_data="rollback"))
    clock.advance(minutes=5)
    harness.tick()
    assert rollout(store, started.id).phase is RolloutPhase.PROGRESSING  # baking: expected
    clock.advance(minutes=5)
    harness.tick()
    assert rollout(store, started.id).phase is RolloutPhase.ROLLED_BACK
    assert split(store) == {"legacy": 10000, "domain": 0}


def test_pending_and_paused_rollouts_are_left_alone(harness: Harness) -> None:
    store, clock = harness.store, harness.clock
    with store.transaction("token:bob:1") as tx:
        pending = create_rollout(tx, canary_spec())
    harness.tick()
    assert rollout(store, pending.id) == pending
    assert judgement(store, pending.id) is None

    with store.transaction("token:bob:1") as tx:
        act_on_rollout(tx, pending.id, "start", expected_version=1, now=clock.now)
        paused = act_on_rollout(tx, pending.id, "pause", expected_version=2, now=clock.now)
    traffic(store, clock.now, legacy=(9000, 90), domain=(1000, 500))  # would fail if judged
    clock.advance(minutes=20)
    harness.tick()
    assert rollout(store, pending.id) == paused


def test_blue_green_switches_at_once_then_verifies_to_success(harness: Harness) -> None:
    store, clock = harness.store, harness.clock
    spec = canary_spec(
        strategy={"type": "blue_green", "verify": "10m"},
        gates=[{"metric": "error_rate", "max": 0.02}, {"metric": "latency_p99", "max": 0.5}],
    )
    started = start_rollout(store, clock, spec)
    assert split(store) == {"legacy": 0, "domain": 10000}
    traffic(store, at_step_start(started), domain=(2000, 4))
    clock.advance(seconds=10)
    harness.tick()
    look = judgement(store, started.id)
    assert (look.decision, look.verdict) == ("hold", "pass")
    assert look.evidence["samples"] == {"baseline": None, "canary": 2000}
    assert look.evidence["metrics"]["baseline"] is None

    clock.advance(minutes=10)
    harness.tick()
    assert rollout(store, started.id).phase is RolloutPhase.SUCCEEDED
    assert split(store) == {"legacy": 0, "domain": 10000}


def test_blue_green_failure_in_verification_switches_everyone_back(harness: Harness) -> None:
    store, clock = harness.store, harness.clock
    spec = canary_spec(
        strategy={"type": "blue_green", "verify": "30m"},
        gates=[{"metric": "error_rate", "max": 0.02}],
    )
    started = start_rollout(store, clock, spec)
    traffic(store, at_step_start(started), domain=(1000, 100))
    clock.advance(seconds=10)
    harness.tick()
    back = rollout(store, started.id)
    assert (back.phase, back.share) == (RolloutPhase.ROLLED_BACK, 0)
    assert split(store) == {"legacy": 10000, "domain": 0}
    last = history(store, started.id)[-1]
    assert (last.from_share, last.to_share) == (10000, 0)


class Flaky:
    """Failure injection: a provider that fails for some flags, the builtin one otherwise."""

    def __init__(self, inner: MetricProvider, failures: dict[str, Exception]) -> None:
        self.inner = inner
        self.failures = failures

    def fetch(self, query: MetricQuery) -> StepMetrics:
        failure = self.failures.get(query.flag)
        if failure is not None:
            raise failure
        return self.inner.fetch(query)

    def validate_gates(self, gates: Sequence[Gate]) -> None:
        self.inner.validate_gates(gates)

    def close(self) -> None:
        self.inner.close()


def _second_flag(store: Store) -> None:
    with store.transaction("alice") as tx:
        tx.flags.create("search", variants=["legacy", "domain"])
        tx.flags.put_state("search", "production", FlagEnvironment(split={"legacy": 10000}), 0)


def test_a_provider_failure_is_no_data_and_one_bad_rollout_does_not_stop_the_others(
    seeded: Store, clock: FakeClock
) -> None:
    _second_flag(seeded)
    builtin = build_provider(seeded, {"type": "builtin"})
    provider = Flaky(builtin, {"search": RuntimeError("a bug in a provider")})
    with make_controller(seeded, clock, provider=provider) as controller:
        harness = Harness(seeded, clock, controller)
        good = start_rollout(seeded, clock, canary_spec())
        bad = start_rollout(seeded, clock, canary_spec(flag="search"))
        traffic(seeded, at_step_start(good), **HEALTHY_10)
        clock.advance(minutes=11)
        report = controller.tick()
        statuses = {o.rollout_id: o.status for o in report.rollouts}
        assert statuses == {good.id: "applied", bad.id: "error"}
        assert rollout(seeded, good.id).step == 1
        failed = judgement(seeded, bad.id)
        assert failed.decision == "error"
        assert "a bug in a provider" in failed.reason
        assert rollout(seeded, bad.id).version == bad.version

        provider.failures["search"] = ProviderError(
            "prometheus at http://prom:9090 is unreachable", provider="prometheus"
        )
        harness.tick()
        look = judgement(seeded, bad.id)
        assert (look.decision, look.verdict) == ("hold", "no_data")
        assert look.evidence["provider_error"] == {
            "code": "provider_error",
            "message": "prometheus at http://prom:9090 is unreachable",
            "details": {"provider": "prometheus"},
        }
        assert look.evidence["gates"][0]["reason"] == (
            "prometheus at http://prom:9090 is unreachable"
        )


def test_the_nop_provider_never_promotes_a_rollout(seeded: Store, clock: FakeClock) -> None:
    settings = fast_settings(provider={"type": "nop"})
    with make_controller(seeded, clock, settings=settings) as controller:
        started = start_rollout(seeded, clock, canary_spec())
        traffic(seeded, at_step_start(started), **HEALTHY_10)  # there, but nop does not look
        for minutes in (11, 50):
            clock.advance(minutes=minutes)
            controller.tick()
    paused = rollout(seeded, started.id)
    assert (paused.phase, paused.step) == (RolloutPhase.PAUSED, 0)
    last = history(seeded, started.id)[-1]
    assert last.evidence is not None
    assert last.evidence["provider_error"]["details"]["provider"] == "nop"
