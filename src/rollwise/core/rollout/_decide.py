"""From a step's judgement to the controller's action: bake time, no-data policy, deadline.

The judge (``rollwise.analysis``) says what the data shows; this module adds what time
and the spec say. A failure rolls back at once. A pass advances once the bake is over. Not
enough data during the bake is expected (hold); after it, ``on_no_data`` applies: ``hold``
until the step's maximum duration and then pause, ``pause`` or ``rollback`` at once. Data
without a verdict holds until the maximum duration, then pauses for a person to look.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ..durations import format_duration
from ..gates import Gate, JudgeSettings, NoDataPolicy, Verdict
from ._phases import RolloutAction, RolloutPhase
from ._spec import RolloutSpec
from ._state import RolloutState

__all__ = [
    "MIN_MAX_STEP_DURATION",
    "StepClock",
    "StepDecision",
    "decide",
    "gate_alphas",
    "gates_for_step",
    "judge_settings",
    "step_clock",
    "step_max_duration",
]

MIN_MAX_STEP_DURATION = 3600.0
"""The default maximum step duration is twice the bake, and never less than this (1h)."""


@dataclass(frozen=True, slots=True)
class StepDecision:
    """The action the controller takes now, and the reason that goes into the history."""

    action: RolloutAction
    reason: str


@dataclass(frozen=True, slots=True)
class StepClock:
    """When the current step began, when its bake ends, and when it has run too long."""

    started_at: datetime
    bake_ends_at: datetime
    expires_at: datetime


def step_max_duration(spec: RolloutSpec, step: int) -> float:
    """Seconds a step may last without a verdict: the spec's, or max(2 * bake, 1h)."""
    if spec.max_step_duration is not None:
        return spec.max_step_duration
    return max(2 * spec.steps[step].bake, MIN_MAX_STEP_DURATION)


def step_clock(
    spec: RolloutSpec, state: RolloutState, *, in_force_at: datetime | None = None
) -> StepClock | None:
    """The current step's deadlines; None unless the rollout is progressing.

    ``in_force_at`` is when a router applied the step's split (later than the step's
    start): the step's traffic, its bake and its maximum duration count from then.
    """
    if state.phase is not RolloutPhase.PROGRESSING or state.step_started_at is None:
        return None
    started = state.step_started_at
    if in_force_at is not None and in_force_at > started:
        started = in_force_at
    bake = timedelta(seconds=spec.steps[state.step].bake)
    longest = timedelta(seconds=step_max_duration(spec, state.step))
    return StepClock(started, started + bake, started + longest)


def _judged_steps(spec: RolloutSpec) -> int:
    """Steps the judge can roll back: any below 100%, and a 100% step with a bake."""
    return sum(1 for step in spec.steps if step.percent < 100 or step.bake > 0) or 1


def gate_alphas(spec: RolloutSpec) -> dict[str, float]:
    """Each gate's alpha per step: its own, or its part of ``alpha_budget``.

    With a budget ``B``, ``S`` judged steps and gates of alphas ``a_g``, gate ``g`` gets
    ``B * a_g / sum(a) / S`` at every step, so the sum over gates and steps is ``B``: by the
    union bound, a rollout whose canary is never worse than any bound is rolled back with
    probability at most ``B`` over its whole life.
    """
    if spec.alpha_budget is None or not spec.gates:
        return {gate.key: gate.alpha for gate in spec.gates}
    total = sum(gate.alpha for gate in spec.gates)
    steps = _judged_steps(spec)
    return {gate.key: spec.alpha_budget * gate.alpha / total / steps for gate in spec.gates}


def gates_for_step(spec: RolloutSpec, step: int) -> list[Gate]:
    """The gates the judge applies at ``step``.

    At a 100% step (blue-green's verify window, a canary's final verification) the baseline
    has no traffic in the same window, so relative bounds are dropped and gates left without
    a bound are skipped; absolute bounds still decide. With an ``alpha_budget`` each gate
    carries its share of it (:func:`gate_alphas`).
    """
    alphas = gate_alphas(spec)
    budgeted = [
        gate
        if alphas[gate.key] == gate.alpha
        else gate.model_copy(update={"alpha": alphas[gate.key]})
        for gate in spec.gates
    ]
    if spec.steps[step].percent < 100:
        return budgeted
    kept: list[Gate] = []
    for gate in budgeted:
        if not gate.has_absolute_bound:
            continue
        kept.append(gate.model_copy(update={"max_increase": None, "max_difference": None}))
    return kept


def judge_settings(spec: RolloutSpec, step: int) -> JudgeSettings:
    """What the judge needs of the rollout at ``step`` besides the gates: the promotion
    rule, the sample-ratio check and the canary's configured share of the pool (None at a
    100% step, which has no baseline traffic)."""
    percent = spec.steps[step].percent
    return JudgeSettings(
        promotion=spec.promotion,
        sample_ratio=spec.sample_ratio,
        canary_share=percent / 100 if percent < 100 else None,
    )


def decide(
    spec: RolloutSpec,
    state: RolloutState,
    judgement: Verdict,
    *,
    now: datetime,
    in_force_at: datetime | None = None,
    missing: str | None = None,
) -> StepDecision:
    """The controller's action for a progressing rollout whose step was judged at ``now``
    (``in_force_at``: when its router applied the split, see :func:`step_clock`).

    ``missing`` says which data a no-data verdict lacked; a pause or rollback for want of
    data names it in its reason."""
    clock = step_clock(spec, state, in_force_at=in_force_at)
    if clock is None:
        raise ValueError(f"only a progressing rollout is judged, not a {state.phase.value} one")
    step = state.step + 1
    if judgement is Verdict.FAIL:
        return StepDecision(RolloutAction.ROLLBACK, f"step {step}: a gate failed")
    if judgement is Verdict.SAMPLE_RATIO_MISMATCH:
        return StepDecision(
            RolloutAction.PAUSE,
            f"step {step}: sample ratio mismatch: the canary's share of requests is not the "
            "configured one, so the comparison cannot be trusted (see the evidence)",
        )
    baked = now >= clock.bake_ends_at
    expired = now >= clock.expires_at
    limit = format_duration(step_max_duration(spec, state.step))
    if judgement is Verdict.PASS:
        if baked:
            return StepDecision(RolloutAction.ADVANCE, f"step {step}: gates passed, bake over")
        left = format_duration(round((clock.bake_ends_at - now).total_seconds()))
        return StepDecision(RolloutAction.HOLD, f"step {step}: gates pass, baking ({left} left)")
    if judgement is Verdict.HOLD:
        if expired:
            return StepDecision(RolloutAction.PAUSE, f"step {step}: no verdict within {limit}")
        return StepDecision(RolloutAction.HOLD, f"step {step}: no verdict yet")
    if not baked:
        return StepDecision(RolloutAction.HOLD, f"step {step}: collecting data")
    policy = spec.on_no_data
    why = f": {missing}" if missing else ""
    if policy is NoDataPolicy.ROLLBACK:
        return StepDecision(
            RolloutAction.ROLLBACK, f"step {step}: not enough data (on_no_data){why}"
        )
    if policy is NoDataPolicy.PAUSE:
        return StepDecision(RolloutAction.PAUSE, f"step {step}: not enough data (on_no_data){why}")
    if expired:
        return StepDecision(
            RolloutAction.PAUSE, f"step {step}: not enough data within {limit}{why}"
        )
    return StepDecision(RolloutAction.HOLD, f"step {step}: waiting for enough data")
