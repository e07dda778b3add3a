"""The canary's traffic share, derived from phase and step, and the flag split that serves it.

The share is never stored: status, step and percentage cannot disagree. It is the canary's
part, in basis points, of the traffic the baseline and the canary have together (the
"pool"); other variants keep their weights. For a two-variant flag the pool is everyone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...errors import ConfigError
from ..flags import BUCKETS, Flag, FlagEnvironment
from ._phases import RolloutPhase
from ._spec import RolloutSpec, current_weights, resolved_baseline

if TYPE_CHECKING:
    from ._state import RolloutState

__all__ = ["apply_share", "rollout_split", "share_at", "traffic_share"]


def traffic_share(spec: RolloutSpec, state: RolloutState) -> int:
    """The canary's share in basis points for ``state``'s phase and step."""
    return share_at(spec, state.phase, state.step)


def share_at(spec: RolloutSpec, phase: RolloutPhase, step: int) -> int:
    """Pending, rolled back, aborted: 0. Progressing or paused: the step's. Succeeded: all."""
    steps = spec.steps
    if not 0 <= step < len(steps):
        raise ValueError(f"step {step} is outside the rollout's {len(steps)} step(s)")
    if phase is RolloutPhase.PROGRESSING or phase is RolloutPhase.PAUSED:
        return steps[step].share
    if phase is RolloutPhase.SUCCEEDED:
        return BUCKETS
    return 0


def rollout_split(flag: Flag, spec: RolloutSpec, share: int) -> dict[str, int]:
    """The environment's split weights with the canary at ``share`` of the pool.

    The canary takes ``pool * share // 10000`` basis points, the baseline the rest of the
    pool; other variants keep theirs. The canary's weight never falls as ``share`` rises and
    its contiguous range only widens (it keeps one end fixed, see core/bucketing.py), so a
    unit that had the canary keeps it. Baseline and canary stay in the split even at 0, so
    switching back is one weight change. Keys follow the flag's variant order.
    """
    if not 0 <= share <= BUCKETS:
        raise ValueError(f"share {share} is outside 0..{BUCKETS} basis points")
    baseline = resolved_baseline(spec, flag)
    canary = spec.variant
    weights = current_weights(flag, spec.environment)
    pool = weights.get(baseline, 0) + weights.get(canary, 0)
    if pool == 0:
        raise ConfigError.single(
            flag.key,
            f"environments.{spec.environment}.split",
            f"neither the baseline {baseline!r} nor {canary!r} gets traffic: the canary "
            "takes its share from the baseline",
        )
    canary_weight = pool * share // BUCKETS
    split: dict[str, int] = {}
    for variant in flag.variants:
        if variant == canary:
            split[variant] = canary_weight
        elif variant == baseline:
            split[variant] = pool - canary_weight
        elif weights.get(variant, 0) > 0:
            split[variant] = weights[variant]
    return split


def apply_share(flag: Flag, spec: RolloutSpec, share: int) -> FlagEnvironment:
    """The flag's state in the rollout's environment, serving the canary at ``share``.

    Only the fallthrough split changes (a ``default`` becomes the equivalent split): rules
    stay in front, and the kill switch (``enabled: false``) still wins. A flag with no state
    in the environment gets one, with the baseline as the rest of the pool.
    """
    state = flag.environments.get(spec.environment) or FlagEnvironment()
    return state.model_copy(update={"split": rollout_split(flag, spec, share), "default": None})
