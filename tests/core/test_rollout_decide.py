"""From a step's judgement to the controller's action: bake, no-data policy, deadline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rollwise.core.gates import NoDataPolicy, Verdict
from rollwise.core.rollout import (
    RolloutAction,
    RolloutPhase,
    RolloutSpec,
    RolloutState,
    StepClock,
    decide,
    gates_for_step,
    parse_rollout_spec,
    step_clock,
    step_max_duration,
)

A = RolloutAction
J = Verdict
T0 = datetime(2026, 3, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _spec(**fields: Any) -> RolloutSpec:
    data: dict[str, Any] = {
        "flag": "checkout",
        "environment": "production",
        "variant": "domain",
        "strategy": {"steps": ["10%/1h", "25%/3d", "50%/0", "100%/20m"]},
    }
    data.update(fields)
    return parse_rollout_spec(data)


def _at_step(step: int) -> RolloutState:
    return RolloutState(phase=RolloutPhase.PROGRESSING, step=step, step_started_at=T0)


def test_the_default_maximum_is_twice_the_bake_and_at_least_an_hour() -> None:
    spec = _spec()
    assert [step_max_duration(spec, i) for i in range(4)] == [7200, 6 * 86_400, 3600, 3600]
    assert step_max_duration(_spec(max_step_duration="4d"), 0) == 4 * 86_400


def test_the_step_clock() -> None:
    assert step_clock(_spec(), _at_step(1)) == StepClock(
        T0, T0 + timedelta(days=3), T0 + timedelta(days=6)
    )
    paused = RolloutState(phase=RolloutPhase.PAUSED, step=1, step_started_at=T0)
    assert step_clock(_spec(), paused) is None
    assert step_clock(_spec(), RolloutState()) is None


# elapsed since the step began (step 0: bake 1h, max 2h)
@pytest.mark.parametrize(
    ("judgement", "elapsed", "policy", "action"),
    [
        (J.FAIL, timedelta(0), NoDataPolicy.HOLD, A.ROLLBACK),
        (J.FAIL, 3 * HOUR, NoDataPolicy.HOLD, A.ROLLBACK),
        (J.PASS, 30 * timedelta(minutes=1), NoDataPolicy.HOLD, A.HOLD),
        (J.PASS, HOUR, NoDataPolicy.HOLD, A.ADVANCE),
        (J.PASS, 5 * HOUR, NoDataPolicy.HOLD, A.ADVANCE),
        (J.HOLD, 90 * timedelta(minutes=1), NoDataPolicy.HOLD, A.HOLD),
        (J.HOLD, 2 * HOUR, NoDataPolicy.HOLD, A.PAUSE),
        (J.HOLD, 2 * HOUR, NoDataPolicy.ROLLBACK, A.PAUSE),
        # during the bake, missing data is expected whatever the policy
        (J.NO_DATA, timedelta(minutes=59), NoDataPolicy.HOLD, A.HOLD),
        (J.NO_DATA, timedelta(minutes=59), NoDataPolicy.PAUSE, A.HOLD),
        (J.NO_DATA, timedelta(minutes=59), NoDataPolicy.ROLLBACK, A.HOLD),
        # after it, the policy applies; hold pauses at the maximum duration
        (J.NO_DATA, 90 * timedelta(minutes=1), NoDataPolicy.HOLD, A.HOLD),
        (J.NO_DATA, 2 * HOUR, NoDataPolicy.HOLD, A.PAUSE),
        (J.NO_DATA, HOUR, NoDataPolicy.PAUSE, A.PAUSE),
        (J.NO_DATA, HOUR, NoDataPolicy.ROLLBACK, A.ROLLBACK),
    ],
)
def test_decisions(
    judgement: Verdict, elapsed: timedelta, policy: NoDataPolicy, action: RolloutAction
) -> None:
    spec = _spec(on_no_data=policy.value)
    decision = decide(spec, _at_step(0), judgement, now=T0 + elapsed)
    assert decision.action is action
    assert decision.reason.startswith("step 1: ")


def test_reasons_say_why() -> None:
    spec = _spec()
    assert decide(spec, _at_step(0), J.PASS, now=T0 + timedelta(minutes=20)).reason == (
        "step 1: gates pass, baking (40m left)"
    )
    assert decide(spec, _at_step(0), J.NO_DATA, now=T0 + 2 * HOUR).reason == (
        "step 1: not enough data within 2h"
    )
    assert decide(spec, _at_step(0), J.FAIL, now=T0).reason == "step 1: a gate failed"


def test_a_step_without_bake_advances_on_the_first_pass() -> None:
    assert decide(_spec(), _at_step(2), J.PASS, now=T0).action is A.ADVANCE


def test_only_progressing_rollouts_are_decided() -> None:
    paused = RolloutState(phase=RolloutPhase.PAUSED, step=0, step_started_at=T0)
    with pytest.raises(ValueError, match="paused"):
        decide(_spec(), paused, J.PASS, now=T0)


def test_relative_bounds_are_not_judged_at_100_percent() -> None:
    spec = _spec(
        gates=[
            {"metric": "error_rate", "max": 0.01, "max_increase": 0.2},
            {"metric": "latency_p95", "max_increase": 0.5},
            {"name": "p99", "metric": "latency_p99", "max": 800, "max_difference": 100},
        ]
    )
    assert gates_for_step(spec, 0) == spec.gates
    at_100 = gates_for_step(spec, 3)
    assert [(g.key, g.max, g.max_increase, g.max_difference) for g in at_100] == [
        ("error_rate", 0.01, None, None),
        ("p99", 800, None, None),
    ]


def test_a_sample_ratio_mismatch_pauses_even_while_baking() -> None:
    decision = decide(_spec(), _at_step(0), J.SAMPLE_RATIO_MISMATCH, now=T0 + timedelta(minutes=1))
    assert decision.action is A.PAUSE
    assert "sample ratio mismatch" in decision.reason


def test_an_alpha_budget_is_split_across_gates_and_judged_steps() -> None:
    from rollwise.core.rollout import gate_alphas, judge_settings

    gates = [
        {"metric": "error_rate", "max_increase": 0.2, "max": 0.05},
        {"metric": "latency_p95", "max_increase": 0.2, "alpha": 0.1},
    ]
    plain = _spec(gates=gates)
    assert gate_alphas(plain) == {"error_rate": 0.05, "latency_p95": 0.1}
    budget = _spec(gates=gates, alpha_budget=0.06)
    alphas = gate_alphas(budget)
    # steps 10%, 25%, 50% and a 100% verification with a bake: 4 judged steps
    judged = 4
    assert alphas["error_rate"] == pytest.approx(0.06 * (0.05 / 0.15) / judged)
    assert alphas["latency_p95"] == pytest.approx(0.06 * (0.1 / 0.15) / judged)
    assert sum(alphas.values()) * judged == pytest.approx(0.06)
    assert [g.alpha for g in gates_for_step(budget, 0)] == list(alphas.values())
    assert [g.alpha for g in gates_for_step(budget, 3)] == [alphas["error_rate"]]
    settings = judge_settings(budget, 1)
    assert settings.canary_share == 0.25
    assert judge_settings(budget, 3).canary_share is None
