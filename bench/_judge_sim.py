"""Simulated rollout steps for bench/canary_judge.py: traffic, the real judge, a fixed judge.

A step is ``ticks`` looks; each tick brings ``per_tick`` requests split between the canary
(share ``w[t]``) and the baseline, with error rates ``p_c[t]``/``p_b[t]`` and lognormal
latencies. The rollwise judge (``judge_step``, the real one) sees the step's cumulative
counts, real latency sketches, and per-window counts (``window_ticks`` ticks a window, as
the builtin provider's 60 s windows at a 5 s tick); the fixed-threshold judge sees each
tick's own canary data like Flagger's analysis.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np

from rollwise.analysis import Decision, VariantMetrics, WindowCounts, judge_step
from rollwise.core.gates import Gate, JudgeSettings
from rollwise.stats.sketch import DEFAULT_ACCURACY, LatencySketch

BASE_MEDIAN = 0.100  # seconds
SIGMA = 0.5  # lognormal shape: p95 = 2.28x the median
Z95 = 1.6448536269514722
LOG_GAMMA = math.log((1 + DEFAULT_ACCURACY) / (1 - DEFAULT_ACCURACY))
INDEX_LOW, INDEX_HIGH = -1200, 400  # sketch bucket indexes covered (1e-5 s .. 3000 s)
T0 = datetime(2026, 1, 1, tzinfo=UTC)
BASE_P95 = BASE_MEDIAN * math.exp(SIGMA * Z95)


@dataclass
class Traffic:
    """One step's traffic per tick (arrays of length ``ticks``)."""

    n_c: np.ndarray
    n_b: np.ndarray
    x_c: np.ndarray
    x_b: np.ndarray
    lat_c: list[np.ndarray] | None = None
    lat_b: list[np.ndarray] | None = None


@dataclass
class Model:
    """How a scenario's traffic is drawn: per-tick share and error rates (callables of the
    tick index array and the rng), a latency scale, optional clustered users."""

    share: Callable[[np.ndarray], np.ndarray] = field(default=lambda t: np.full(len(t), 0.1))
    p_c: Callable[[np.ndarray], np.ndarray] = field(default=lambda t: np.full(len(t), 0.01))
    p_b: Callable[[np.ndarray], np.ndarray] = field(default=lambda t: np.full(len(t), 0.01))
    latency: bool = False
    canary_scale: float = 1.0
    shocks: float = 0.0
    """Probability that a tick is a shared outage (both variants' errors x20)."""
    clustered: float | None = None
    """Clustered users: the canary's overall error rate, 2% of users failing 25%."""


def draw(rng: np.random.Generator, model: Model, ticks: int, per_tick: int) -> Traffic:
    t = np.arange(ticks)
    n_c = rng.binomial(per_tick, model.share(t))
    n_b = per_tick - n_c
    p_c, p_b = model.p_c(t), model.p_b(t)
    if model.shocks:
        shock = rng.random(ticks) < model.shocks
        p_c = np.where(shock, np.minimum(1.0, p_c * 20), p_c)
        p_b = np.where(shock, np.minimum(1.0, p_b * 20), p_b)
    if model.clustered is not None:
        x_c = _clustered(rng, n_c, model.clustered)
        x_b = _clustered(rng, n_b, 0.01)
    else:
        x_c, x_b = rng.binomial(n_c, p_c), rng.binomial(n_b, p_b)
    traffic = Traffic(n_c, n_b, x_c, x_b)
    if model.latency:
        traffic.lat_c = [model.canary_scale * _lognormal(rng, int(n)) for n in n_c]
        traffic.lat_b = [_lognormal(rng, int(n)) for n in n_b]
    return traffic


def _clustered(rng: np.random.Generator, n: np.ndarray, overall: float) -> np.ndarray:
    """2% of the variant's users fail 25% of their requests, the rest fail at a rate that
    makes ``overall``; each request comes from a uniformly drawn user of the variant."""
    users = max(50, int(n.sum() // 50))  # about 50 requests per user over the step
    bad_users = rng.binomial(users, 0.02)
    share_bad = bad_users / users
    rest = max(0.0, (overall - 0.02 * 0.25) / 0.98)
    from_bad = rng.binomial(n, share_bad)
    return rng.binomial(from_bad, 0.25) + rng.binomial(n - from_bad, rest)


def _lognormal(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.lognormal(math.log(BASE_MEDIAN), SIGMA, n)


def bucket_counts(values: np.ndarray) -> np.ndarray:
    index = np.ceil(np.log(values) / LOG_GAMMA).astype(np.int64)
    index = np.clip(index, INDEX_LOW, INDEX_HIGH) - INDEX_LOW
    return np.bincount(index, minlength=INDEX_HIGH - INDEX_LOW + 1)


class Running:
    """Cumulative latency of one variant since the step started, as a real sketch."""

    def __init__(self) -> None:
        self.counts = np.zeros(INDEX_HIGH - INDEX_LOW + 1, dtype=np.int64)
        self.total, self.low, self.high = 0.0, math.inf, -math.inf

    def add(self, values: np.ndarray) -> None:
        if len(values):
            self.counts += bucket_counts(values)
            self.total += float(values.sum())
            self.low, self.high = min(self.low, values.min()), max(self.high, values.max())

    def sketch(self) -> LatencySketch | None:
        if not self.total:
            return None
        nonzero = np.nonzero(self.counts)[0]
        first, last = int(nonzero[0]), int(nonzero[-1])
        return LatencySketch.from_dict(
            {
                "accuracy": DEFAULT_ACCURACY,
                "offset": first + INDEX_LOW,
                "bins": self.counts[first : last + 1].tolist(),
                "zero_count": 0,
                "count": int(self.counts.sum()),
                "sum": self.total,
                "min": self.low,
                "max": self.high,
            }
        )


@dataclass
class Options:
    """How the rollwise judge is asked."""

    min_samples: int = 100
    window_ticks: int | None = 10
    """Ticks per window for per-window counts (None: no windows, the judge pools)."""
    settings: JudgeSettings | None = None
    bake_tick: int = 10**9
    """First tick at which the bake is over (promotion possible)."""


def rollwise_step(
    traffic: Traffic, gates: Sequence[Gate], options: Options, stop: set[Decision]
) -> tuple[Decision, int, int] | None:
    """The first look whose decision is in ``stop``: (decision, tick, canary requests)."""
    n_c, n_b = np.cumsum(traffic.n_c), np.cumsum(traffic.n_b)
    x_c, x_b = np.cumsum(traffic.x_c), np.cumsum(traffic.x_b)
    lat_c, lat_b = Running(), Running()
    windows_c: list[WindowCounts] = []
    windows_b: list[WindowCounts] = []
    for t in range(len(n_c)):
        c_sketch = b_sketch = None
        if traffic.lat_c is not None and traffic.lat_b is not None:
            lat_c.add(traffic.lat_c[t])
            lat_b.add(traffic.lat_b[t])
            c_sketch, b_sketch = lat_c.sketch(), lat_b.sketch()
        wc = wb = None
        if options.window_ticks:
            _add_tick(windows_c, t, options.window_ticks, int(traffic.n_c[t]), int(traffic.x_c[t]))
            _add_tick(windows_b, t, options.window_ticks, int(traffic.n_b[t]), int(traffic.x_b[t]))
            wc, wb = tuple(windows_c), tuple(windows_b)
        baseline = VariantMetrics("legacy", int(n_b[t]), int(x_b[t]), latency=b_sketch, windows=wb)
        canary = VariantMetrics("domain", int(n_c[t]), int(x_c[t]), latency=c_sketch, windows=wc)
        decision = judge_step(
            gates,
            baseline,
            canary,
            min_samples=options.min_samples,
            bake_elapsed=t >= options.bake_tick,
            settings=options.settings,
        ).decision
        if decision in stop:
            return decision, t, int(n_c[t])
    return None


def _add_tick(windows: list[WindowCounts], t: int, size: int, n: int, x: int) -> None:
    start = T0 + timedelta(seconds=5 * size * (t // size))
    end = start + timedelta(seconds=5 * size)
    if windows and windows[-1].start == start:
        last = windows[-1]
        windows[-1] = WindowCounts(start, end, last.requests + n, last.errors + x)
    else:
        windows.append(WindowCounts(start, end, n, x))


@dataclass
class FixedJudge:
    """Flagger-style: each tick's canary data against fixed thresholds; one failed check
    rolls back; a step with no failed check until the bake is over is promoted."""

    error_threshold: float | None = None
    p95_threshold: float | None = None

    def step(self, traffic: Traffic, bake_tick: int = 10**9) -> tuple[Decision, int, int] | None:
        seen = np.cumsum(traffic.n_c)
        for t in range(len(seen)):
            n = int(traffic.n_c[t])
            failed = False
            if n and self.error_threshold is not None:
                failed = traffic.x_c[t] / n > self.error_threshold
            if n and not failed and self.p95_threshold is not None and traffic.lat_c is not None:
                failed = float(np.percentile(traffic.lat_c[t], 95)) > self.p95_threshold
            if failed:
                return Decision.ROLLBACK, t, int(seen[t])
            if t >= bake_tick:
                return Decision.PROMOTE, t, int(seen[t])
        return None


def wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """95% Wilson interval of a rate k/n."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def median_interval(values: Sequence[float]) -> tuple[float, float, float]:
    """Median and its distribution-free 95% interval (order statistics)."""
    ordered = sorted(values)
    n = len(ordered)
    median = float(np.median(ordered))
    half = 1.959963984540054 * math.sqrt(n) / 2
    low = max(0, math.floor(n / 2 - half) - 1)
    high = min(n - 1, math.ceil(n / 2 + half))
    return median, ordered[low], ordered[high]
