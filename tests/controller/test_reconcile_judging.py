"""The rollout's judging options reach the judge through the reconcile loop: the step's
configured share (sample-ratio check) and the promotion rule (SQLite and PostgreSQL)."""

from __future__ import annotations

from rollwise.core.rollout import RolloutAction, RolloutPhase

from ._support import Harness, at_step_start, canary_spec, history, rollout, start_rollout, traffic


def test_a_canary_short_of_its_share_pauses_the_rollout_with_evidence(harness: Harness) -> None:
    store, clock = harness.store, harness.clock
    started = start_rollout(store, clock, canary_spec())
    # the step configures 10%, the canary got 7%: a broken router, both variants healthy
    traffic(store, at_step_start(started), legacy=(9300, 93), domain=(700, 7))
    clock.advance(seconds=10)
    harness.tick()
    paused = rollout(store, started.id)
    assert paused.phase is RolloutPhase.PAUSED
    last = history(store, started.id)[-1]
    assert (last.action, last.actor) == (RolloutAction.PAUSE, "controller")
    assert "sample ratio mismatch" in last.reason
    assert last.evidence is not None
    assert last.evidence["verdict"] == "sample_ratio_mismatch"
    ratio = last.evidence["sample_ratio"]
    assert (ratio["configured_share"], ratio["observed_share"]) == (0.1, 0.07)


def test_the_upper_bound_rule_holds_a_step_the_estimate_rule_would_advance(
    harness: Harness,
) -> None:
    store, clock = harness.store, harness.clock
    spec = canary_spec(promotion={"rule": "upper_bound", "tolerance": 0.25})
    started = start_rollout(store, clock, spec)
    traffic(store, at_step_start(started), legacy=(2700, 27), domain=(300, 3))
    clock.advance(minutes=11)  # the bake is over, but 300 requests cannot show the bound
    harness.tick()
    held = rollout(store, started.id)
    assert (held.phase, held.step) == (RolloutPhase.PROGRESSING, 0)
