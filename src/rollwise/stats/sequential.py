"""Always-valid inference for one proportion: Robbins' beta-binomial mixture.

A rollout controller looks at the same step every few seconds. A fixed-sample test
(a z-test, a chi-square, Mann-Whitney) checked that often rejects a true null far more
often than its nominal alpha. The tests here are *anytime-valid*: their error rate is at most alpha
over every look at once, whenever and however often one looks.

For ``x`` successes in ``n`` Bernoulli trials and a candidate rate ``p``, the mixture
likelihood ratio with a Beta(a, b) prior over the alternatives is::

    M_n(p) = [B(x + a, n - x + b) / B(a, b)] / [p^x (1 - p)^(n - x)]

When the true rate is ``p``, ``M_n(p)`` is a nonnegative martingale in ``n`` that starts at
1, so by Ville's inequality ``P(exists n: M_n(p) >= 1/alpha) <= alpha``. Hence
``{p : M_n(p) < 1/alpha}`` is a confidence *sequence*: an interval around ``x / n`` that
covers the true rate at every ``n`` simultaneously. A one-sided test of "rate <= p0"
rejects when ``p0`` is below that interval (``x / n > p0`` and ``M_n(p0) >= 1/alpha``): any
true rate ``p <= p0`` is then outside the interval too, which happens with probability at
most alpha over the whole sequence. The test reports ``M_n(p0)`` as its e-value, floored at
1 (and 1 when ``x / n <= p0``): evidence *that the rate exceeds* ``p0``, which then never
decreases with more successes in the same trials (for priors with ``b <= 1``).

Everything depends on ``(x, n)`` only, so a stateless judge can recompute it from
cumulative counts at every look; the counts must be cumulative from a fixed start (the
step's start), never a sliding window. The default prior is Jeffreys' Beta(1/2, 1/2), whose
regret against the best fixed alternative is about ``log(n) / 2`` whatever the rate.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "JEFFREYS",
    "BetaPrior",
    "Interval",
    "SequentialTest",
    "confidence_sequence",
    "exceeds",
    "falls_below",
    "log_mixture_ratio",
    "lower_bound",
    "upper_bound",
]

_E_VALUE_CAP = 1e12
_BISECTIONS = 48


@dataclass(frozen=True, slots=True)
class BetaPrior:
    """The mixing distribution over alternative rates."""

    a: float = 0.5
    b: float = 0.5

    def __post_init__(self) -> None:
        if not (self.a > 0 and self.b > 0):
            raise ValueError(f"a beta prior needs a > 0 and b > 0, got ({self.a}, {self.b})")

    def log_marginal(self, successes: int, trials: int) -> float:
        """Log probability of the observed sequence under the mixture."""
        return _log_beta(successes + self.a, trials - successes + self.b) - _log_beta(
            self.a, self.b
        )


JEFFREYS = BetaPrior(0.5, 0.5)


@dataclass(frozen=True, slots=True)
class Interval:
    lower: float
    upper: float

    def __contains__(self, value: object) -> bool:
        return isinstance(value, int | float) and self.lower <= value <= self.upper


@dataclass(frozen=True, slots=True)
class SequentialTest:
    """One look of a one-sided anytime-valid test: reject when ``e_value >= 1 / alpha``."""

    log_e_value: float
    alpha: float
    rejected: bool

    @property
    def e_value(self) -> float:
        """The evidence against the null (capped at 1e12 so that it stays JSON-friendly)."""
        if self.log_e_value >= math.log(_E_VALUE_CAP):
            return _E_VALUE_CAP
        return math.exp(self.log_e_value)

    @property
    def threshold(self) -> float:
        return 1.0 / self.alpha


def _log_beta(a: float, b: float) -> float:
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


def _check_counts(successes: int, trials: int) -> None:
    if trials < 0 or successes < 0 or successes > trials:
        raise ValueError(f"need 0 <= successes <= trials, got {successes} of {trials}")


def _check_alpha(alpha: float) -> None:
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")


def _log_likelihood(successes: int, trials: int, p: float) -> float:
    failures = trials - successes
    total = 0.0
    if successes:
        total += successes * math.log(p) if p > 0.0 else -math.inf
    if failures:
        total += failures * math.log1p(-p) if p < 1.0 else -math.inf
    return total


def log_mixture_ratio(successes: int, trials: int, p: float, prior: BetaPrior = JEFFREYS) -> float:
    """``log M_n(p)``: the log e-value against "the rate is exactly ``p``" (may be +inf)."""
    _check_counts(successes, trials)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be in [0, 1], got {p!r}")
    log_likelihood = _log_likelihood(successes, trials, p)
    if log_likelihood == -math.inf:
        return math.inf
    return prior.log_marginal(successes, trials) - log_likelihood


def confidence_sequence(
    successes: int, trials: int, alpha: float, prior: BetaPrior = JEFFREYS
) -> Interval:
    """The (1 - alpha) confidence sequence for the rate, at this look."""
    return Interval(
        lower_bound(successes, trials, alpha, prior), upper_bound(successes, trials, alpha, prior)
    )


def lower_bound(successes: int, trials: int, alpha: float, prior: BetaPrior = JEFFREYS) -> float:
    """The lower end of :func:`confidence_sequence` (computed alone, half the work)."""
    _check_counts(successes, trials)
    _check_alpha(alpha)
    if successes == 0:
        return 0.0
    return _bisect(_inside(successes, trials, alpha, prior), outside=0.0, inside=successes / trials)


def upper_bound(successes: int, trials: int, alpha: float, prior: BetaPrior = JEFFREYS) -> float:
    """The upper end of :func:`confidence_sequence`."""
    _check_counts(successes, trials)
    _check_alpha(alpha)
    if successes == trials:
        return 1.0
    return _bisect(_inside(successes, trials, alpha, prior), outside=1.0, inside=successes / trials)


def _inside(successes: int, trials: int, alpha: float, prior: BetaPrior) -> Callable[[float], bool]:
    target = math.log(1.0 / alpha)
    log_marginal = prior.log_marginal(successes, trials)
    failures = trials - successes
    log, log1p = math.log, math.log1p

    def inside(p: float) -> bool:
        return log_marginal - successes * log(p) - failures * log1p(-p) < target

    return inside


def _bisect(is_inside: Callable[[float], bool], *, outside: float, inside: float) -> float:
    """The boundary between ``outside`` (not covered) and ``inside`` (covered)."""
    for _ in range(_BISECTIONS):
        middle = (outside + inside) / 2.0
        if middle in (outside, inside):
            break
        if is_inside(middle):
            inside = middle
        else:
            outside = middle
    return inside


def exceeds(
    successes: int, trials: int, p0: float, alpha: float, prior: BetaPrior = JEFFREYS
) -> SequentialTest:
    """Test "rate <= p0" against "rate > p0"; valid at every look (false rejection <= alpha)."""
    _check_alpha(alpha)
    _check_counts(successes, trials)
    if trials == 0 or successes <= p0 * trials:
        return SequentialTest(0.0, alpha, rejected=False)
    log_e = max(0.0, log_mixture_ratio(successes, trials, p0, prior))
    return SequentialTest(log_e, alpha, rejected=log_e >= math.log(1.0 / alpha))


def falls_below(
    successes: int, trials: int, p0: float, alpha: float, prior: BetaPrior = JEFFREYS
) -> SequentialTest:
    """Test "rate >= p0" against "rate < p0" (the mirror image of :func:`exceeds`)."""
    mirrored = BetaPrior(prior.b, prior.a)
    return exceeds(trials - successes, trials, 1.0 - p0, alpha, mirrored)
