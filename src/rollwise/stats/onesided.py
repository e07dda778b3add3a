"""One-sided anytime-valid tests of Bernoulli rates: a mixture of exponential tilts.

The judge only ever asks one-sided questions ("is the canary's rate *above* what the bound
allows?", "is it surely *below* the bound plus a tolerance?"). A two-sided mixture
(:mod:`rollwise.stats.sequential`) inverted into a one-sided test spends about half its
prior on alternatives on the wrong side, so it reaches ``1/alpha`` later than it needs to.
Here every alternative lies on the tested side.

The data are *windows* ``(x_k, m_k, p0_k)``: ``x_k`` successes in ``m_k`` trials whose rate
is at most ``p0_k`` under the null (a window's null rate may differ from the others', e.g.
the canary's share of bad events given each window's own traffic split). An alternative
shifts every window's log-odds by the same ``delta > 0``: ``logit p_k = logit p0_k + delta``,
whose likelihood ratio against the null is::

    L(delta) = prod_k exp(delta x_k - m_k log(1 - p0_k + p0_k e^delta))

For any true rates ``p_k <= p0_k`` and ``delta >= 0``, each factor has expectation at most 1
given the past (the binomial moment generating function grows with ``p``), so ``L(delta)`` is
a nonnegative supermartingale starting at 1, and so is any mixture ``sum_j w_j L(delta_j)``
with weights summing to 1. Ville's inequality makes "reject when the mixture reaches
``1/alpha``" valid at every look, however often and whenever one looks.

The mixing weights are a half-normal over ``delta`` (scale ``DEFAULT_SCALE``, in log-odds
units) on a geometric grid from 0.005 to 8: a canary whose error odds are 2-5x the allowed
ones (log-odds shifts 0.7-1.6) is detected within a few dozen events, and small shifts still
carry weight for long steps. The grid is exact (a discrete mixture), not an approximation.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from .sequential import SequentialTest

__all__ = [
    "DEFAULT_SCALE",
    "MARGIN_SCALE",
    "QUANTILE_SCALE",
    "RATE_SCALE",
    "TiltMixture",
    "default_mixture",
    "log_e_above",
    "log_e_curve",
    "one_sided_lower",
    "one_sided_upper",
    "rate_above",
    "rate_below",
]

DEFAULT_SCALE = 1.5
"""Half-normal scale of the log-odds shift (tuned on bench/canary_judge.py's scenarios)."""
RATE_SCALE = DEFAULT_SCALE
"""Bad-event rates and shares: regressions worth a rollback are large (2-10x the odds)."""
MARGIN_SCALE = 1.0
"""The two confidence bounds of a difference test: moderate shifts matter most."""
QUANTILE_SCALE = 0.5
"""Latency shares: a 1.5x slower canary moves the share above a threshold by a log-odds
of about 0.7, and the baseline's quantile bound needs small shifts."""
_GRID_LOW, _GRID_HIGH, _GRID_RATIO = 0.005, 8.0, 1.2
_ROOT_STEPS = 60
_ROOT_TOLERANCE = 1e-7


@dataclass(frozen=True, slots=True)
class TiltMixture:
    """Log-odds shifts ``deltas`` and their log weights (summing to 1 in probability)."""

    deltas: tuple[float, ...]
    log_weights: tuple[float, ...]

    @property
    def grows(self) -> tuple[float, ...]:
        """``e^delta - 1`` of each shift (the cumulant's ingredient)."""
        return tuple(math.expm1(d) for d in self.deltas)


@lru_cache(maxsize=8)
def default_mixture(scale: float = DEFAULT_SCALE) -> TiltMixture:
    """Half-normal(``scale``) weights on a geometric grid of shifts (cached, immutable)."""
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale!r}")
    deltas: list[float] = []
    delta = _GRID_LOW
    while delta <= _GRID_HIGH:
        deltas.append(delta)
        delta *= _GRID_RATIO
    # each grid point stands for the cell [delta / sqrt(r), delta * sqrt(r)]
    width = math.sqrt(_GRID_RATIO) - 1.0 / math.sqrt(_GRID_RATIO)
    raw = [math.exp(-0.5 * (d / scale) ** 2) * d * width for d in deltas]
    total = sum(raw)
    return TiltMixture(tuple(deltas), tuple(math.log(w / total) for w in raw))


@lru_cache(maxsize=8)
def _terms(mixture: TiltMixture) -> tuple[tuple[float, float, float], ...]:
    return tuple(zip(mixture.deltas, mixture.log_weights, mixture.grows, strict=True))


Window = tuple[int, int, float]
"""``(successes, trials, null rate)`` of one window."""


def _check(windows: Sequence[Window]) -> None:
    for x, m, p0 in windows:
        if m < 0 or x < 0 or x > m:
            raise ValueError(f"need 0 <= successes <= trials, got {x} of {m}")
        if not 0.0 <= p0 <= 1.0:
            raise ValueError(f"a null rate must be in [0, 1], got {p0!r}")


def _informative(windows: Iterable[Window]) -> list[Window]:
    """Windows that can move the statistic: trials, and a null rate strictly inside (0, 1)."""
    return [(x, m, p0) for x, m, p0 in windows if m > 0 and 0.0 < p0 < 1.0]


def _log_sum_exp(values: Sequence[float]) -> float:
    top = max(values)
    if top == -math.inf:
        return -math.inf
    return top + math.log(sum(math.exp(v - top) for v in values))


def log_e_above(windows: Sequence[Window], mixture: TiltMixture | None = None) -> float:
    """Log e-value against "every window's rate is at most its null rate" (>= 0 floor not
    applied; 0 for no informative window)."""
    _check(windows)
    used = _informative(windows)
    if not used:
        return 0.0
    mix = mixture or default_mixture()
    successes = sum(x for x, _, _ in used)
    log1p = math.log1p
    if len(used) == 1:
        _, m, p0 = used[0]
        logs = [w + d * successes - m * log1p(p0 * g) for d, w, g in _terms(mix)]
    else:
        logs = [
            w + d * successes - sum(m * log1p(p0 * g) for _, m, p0 in used)
            for d, w, g in _terms(mix)
        ]
    return _log_sum_exp(logs)


def log_e_curve(
    trials: int, p0: float, mixture: TiltMixture | None = None
) -> Callable[[int], float]:
    """``x -> log_e_above([(x, trials, p0)])`` (no floor) for many ``x`` at the same trials
    and null rate: the per-shift terms that do not depend on ``x`` are computed once."""
    _check([(0, trials, p0)])
    if trials == 0 or not 0.0 < p0 < 1.0:
        return lambda _x: 0.0
    mix = mixture or default_mixture()
    base = [(d, w - trials * math.log1p(p0 * g)) for d, w, g in _terms(mix)]

    def log_e(x: int) -> float:
        if not 0 <= x <= trials:
            raise ValueError(f"need 0 <= successes <= trials, got {x} of {trials}")
        return _log_sum_exp([c + d * x for d, c in base])

    return log_e


def _test(log_e: float, alpha: float) -> SequentialTest:
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    log_e = max(0.0, log_e)
    return SequentialTest(log_e, alpha, rejected=log_e >= math.log(1.0 / alpha))


def rate_above(
    windows: Sequence[Window], alpha: float, mixture: TiltMixture | None = None
) -> SequentialTest:
    """Test "rate_k <= p0_k in every window" against higher rates; valid at every look."""
    return _test(log_e_above(windows, mixture), alpha)


def rate_below(
    windows: Sequence[Window], alpha: float, mixture: TiltMixture | None = None
) -> SequentialTest:
    """Test "rate_k >= p0_k in every window" against lower rates (the mirror image)."""
    mirrored = [(m - x, m, 1.0 - p0) for x, m, p0 in windows]
    return _test(log_e_above(mirrored, mixture), alpha)


def one_sided_lower(
    successes: int, trials: int, alpha: float, mixture: TiltMixture | None = None
) -> float:
    """Anytime-valid lower confidence bound of a rate: the largest ``p`` that
    :func:`rate_above` rejects (0 when none is)."""
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    _check([(successes, trials, 0.5)])
    if trials == 0 or successes == 0:
        return 0.0
    target = math.log(1.0 / alpha)

    def excess(logit: float) -> float:  # > 0: rejected at this rate
        p0 = 1.0 / (1.0 + math.exp(-logit))
        return log_e_above([(successes, trials, p0)], mixture) - target

    high = (
        math.log(successes / trials) - math.log1p(-successes / trials)
        if successes < trials
        else 40.0
    )
    low = high - 1.0
    f_low = excess(low)
    while f_low <= 0.0:  # widen the bracket downwards until the rate is rejected
        if low < -60.0:
            return 0.0
        high, low = low, low - 2.0 * (high - low)
        f_low = excess(low)
    f_high = excess(high)
    side = 0
    for _ in range(_ROOT_STEPS):  # Illinois regula falsi on the log-odds
        middle = high - f_high * (high - low) / (f_high - f_low)
        f_middle = excess(middle)
        if f_middle > 0.0:
            low, f_low = middle, f_middle
            if side == 1:
                f_high /= 2.0
            side = 1
        else:
            high, f_high = middle, f_middle
            if side == -1:
                f_low /= 2.0
            side = -1
        if high - low < _ROOT_TOLERANCE:
            break
    return 1.0 / (1.0 + math.exp(-low))


def one_sided_upper(
    successes: int, trials: int, alpha: float, mixture: TiltMixture | None = None
) -> float:
    """Anytime-valid upper confidence bound of a rate (the mirror of :func:`one_sided_lower`)."""
    return 1.0 - one_sided_lower(trials - successes, trials, alpha, mixture)
