"""The sample-ratio-mismatch check: is the canary getting the share the step configures?

Every comparison with the baseline assumes that requests reach the canary at the share the
step configures. A broken router, a cache in front of one variant, or a bot hitting one
variant breaks that, and with it every relative gate (the variants no longer see the same
traffic). The check tests the canary's share of the canary's and the baseline's requests
against the configured share ``w``, anytime-valid (one-sided mixtures each way at alpha/2,
:mod:`rollwise.stats.onesided`): a mismatch is a share significantly above
``w * (1 + tolerance)`` or below ``w / (1 + tolerance)``. It pauses the step with this
evidence; it never passes or fails a gate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..core.gates import JudgeSettings
from ..stats.onesided import RATE_SCALE, default_mixture, rate_above, rate_below
from ._checks import num, pct
from .data import VariantMetrics

__all__ = ["SampleRatio", "sample_ratio_check"]


@dataclass(frozen=True, slots=True)
class SampleRatio:
    mismatch: bool
    reason: str
    evidence: dict[str, Any]


def sample_ratio_check(
    settings: JudgeSettings, baseline: VariantMetrics | None, canary: VariantMetrics
) -> SampleRatio | None:
    """The check's result, or None when it does not apply (no share, no baseline, off)."""
    check = settings.sample_ratio
    share = settings.canary_share
    if share is None or baseline is None or not check.enabled:
        return None
    n_c, n = canary.requests, canary.requests + baseline.requests
    high = min(1.0, share * (1.0 + check.tolerance))
    low = share / (1.0 + check.tolerance)
    mixture = default_mixture(RATE_SCALE)
    above = rate_above([(n_c, n, high)], check.alpha / 2, mixture)
    below = rate_below([(n_c, n, low)], check.alpha / 2, mixture)
    observed = n_c / n if n else None
    mismatch = above.rejected or below.rejected
    if mismatch:
        word = "above" if above.rejected else "below"
        reason = (
            f"sample ratio mismatch: the canary got {pct(observed)} of the requests, "
            f"significantly {word} the configured {pct(share)} (tolerance {pct(low)}-"
            f"{pct(high)})"
        )
    else:
        reason = f"canary share {pct(observed)} consistent with the configured {pct(share)}"
    evidence = {
        "verdict": "mismatch" if mismatch else "pass",
        "reason": reason,
        "test": "one_sided_mixture",
        "alpha": check.alpha,
        "tolerance": check.tolerance,
        "configured_share": num(share),
        "observed_share": num(observed),
        "allowed_share": [num(low), num(high)],
        "requests": {"canary": n_c, "baseline": baseline.requests},
        "statistic": num(max(above.e_value, below.e_value)),
        "threshold": num(above.threshold),
    }
    return SampleRatio(mismatch, reason, evidence)
