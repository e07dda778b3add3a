"""The canary judge: gates and two variants' data in, a step decision with evidence out.

The judge is a pure function of cumulative data. The controller calls it every tick with
the baseline's and the canary's metrics since the step started; the tests behind it are
anytime-valid, so looking every tick does not raise the false-rollback rate above each
gate's ``alpha`` over the whole step (see docs/judging.md).

- A gate **fails** when one of its bounds is significantly violated.
- It **passes** with enough samples, no significant violation, and every point estimate
  within its bound.
- It **holds** with enough samples when an estimate is outside its bound but not
  significantly so: the step waits for more data, which either confirms the harm (a
  failure) or brings the estimate back within the bound.
- It has **no data** below its sample minimum: never a pass, never a failure.

A step is rolled back when any gate fails, paused when the canary's share of requests is
significantly off the configured one (sample-ratio mismatch), promoted when its bake time
is over, each variant has ``min_samples`` requests and every gate passes; otherwise it
holds, or reports no data, which the controller handles with the rollout's NoDataPolicy.

``settings`` (:class:`~rollwise.core.gates.JudgeSettings`) carry the promotion rule, the
sample-ratio check and the step's configured canary share.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..core.gates import Gate, GateMetric, JudgeSettings, PromotionRule
from ._custom import judge_custom
from ._latency import judge_latency
from ._rates import judge_rate
from ._sample_ratio import sample_ratio_check
from ._units import judge_failing_units
from .data import VariantMetrics
from .process_gates import judge_process
from .verdicts import Decision, GateResult, StepJudgement, Verdict

__all__ = ["judge_gate", "judge_step"]


def judge_gate(
    gate: Gate,
    baseline: VariantMetrics | None,
    canary: VariantMetrics,
    *,
    min_samples: int,
    promotion: PromotionRule | None = None,
) -> GateResult:
    """Judge one gate; ``gate.min_samples`` overrides the rollout's ``min_samples``.

    ``promotion``: what a pass needs (None: the point estimate within the bound)."""
    needed = gate.min_samples if gate.min_samples is not None else min_samples
    if needed < 1:
        raise ValueError(f"min_samples must be at least 1, got {needed}")
    if gate.metric is GateMetric.FAILING_UNITS:
        return judge_failing_units(gate, baseline, canary, needed, promotion)
    if gate.metric.is_rate:
        return judge_rate(gate, baseline, canary, needed, promotion)
    if gate.metric.is_latency:
        return judge_latency(gate, baseline, canary, needed, promotion)
    if gate.metric.is_process:
        return judge_process(gate, canary)
    assert gate.metric is GateMetric.CUSTOM
    return judge_custom(gate, baseline, canary, needed)


def judge_step(
    gates: Sequence[Gate],
    baseline: VariantMetrics | None,
    canary: VariantMetrics,
    *,
    min_samples: int,
    bake_elapsed: bool,
    settings: JudgeSettings | None = None,
) -> StepJudgement:
    """Decide a step from every gate's verdict (``baseline`` None: no relative bounds)."""
    if min_samples < 1:
        raise ValueError(f"min_samples must be at least 1, got {min_samples}")
    settings = settings or JudgeSettings()
    results = tuple(
        judge_gate(g, baseline, canary, min_samples=min_samples, promotion=settings.promotion)
        for g in gates
    )
    samples: dict[str, int | None] = {
        "baseline": baseline.requests if baseline is not None else None,
        "canary": canary.requests,
    }
    ratio = sample_ratio_check(settings, baseline, canary)

    def judgement(decision: Decision, summary: str) -> StepJudgement:
        return StepJudgement(
            decision, summary, results, bake_elapsed, min_samples, samples,
            ratio.evidence if ratio is not None else None,
        )  # fmt: skip

    failed = [r for r in results if r.verdict is Verdict.FAIL]
    if failed:
        return judgement(Decision.ROLLBACK, "rollback: " + _list(failed))
    if ratio is not None and ratio.mismatch:
        return judgement(Decision.PAUSE, f"pause: {ratio.reason}")
    short = [
        f"{name} has {count} of {min_samples} requests"
        for name, count in samples.items()
        if count is not None and count < min_samples
    ]
    missing = [r for r in results if r.verdict is Verdict.NO_DATA]
    if short or missing:
        return judgement(
            Decision.NO_DATA, "no data: " + "; ".join(short + [_one(r) for r in missing])
        )
    holding = [r for r in results if r.verdict is Verdict.HOLD]
    if holding:
        return judgement(Decision.HOLD, "hold: " + _list(holding))
    if not bake_elapsed:
        return judgement(Decision.HOLD, f"hold: baking; {_passing(results)}")
    return judgement(Decision.PROMOTE, f"promote: bake time over; {_passing(results)}")


def _one(result: GateResult) -> str:
    return f"{result.gate}: {result.reason}"


def _list(results: Sequence[GateResult]) -> str:
    return "; ".join(_one(r) for r in results)


def _passing(results: Sequence[GateResult]) -> str:
    if not results:
        return "no gates, minimum samples met"
    names = ", ".join(r.gate for r in results)
    return f"{len(results)} gate{'s' if len(results) != 1 else ''} pass ({names})"
