"""Canary judge simulation: false rollbacks and time to detect, looking every tick.

Simulates a rollout step at 10% canary traffic (the baseline gets the other 90%), with known
error rates and lognormal latencies, and asks rollwise's judge (``judge_step``, the real
one) for a decision after every tick on the step's cumulative data. For comparison, a
fixed-threshold judge checks every tick like Flagger's analysis: the tick's canary error
rate above 1% (or the tick's canary p95 above an absolute limit) is a failed check, and
one failed check rolls back.

Prints, for each judge:
  - the false-rollback rate over >= 1,000 A/A runs (canary = baseline) and over runs at
    the gates' bound (canary exactly 1.2x the baseline: still allowed), target <= alpha;
  - the median number of canary requests until rollback when the canary's error rate is
    5% against a 1% baseline, and when its latencies are 1.5x the baseline's (p95 1.5x),
    target < 2,000.

    python bench/canary_judge.py                    # 1000 A/A runs, 300 regression runs
    python bench/canary_judge.py --runs 2000 --detect-runs 500 --seed 3
    python bench/canary_judge.py --json

Gates judged: ``error_rate`` with ``max_increase: 0.2`` and ``latency_p95`` with
``max_increase: 0.2``, alpha 0.05, min_samples 100; each scenario uses the gate of its metric.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from rollwise.analysis import Decision, VariantMetrics, judge_step
from rollwise.core.gates import Gate, GateMetric
from rollwise.stats.sketch import DEFAULT_ACCURACY, LatencySketch

MAX_INCREASE = 0.2
BASE_ERROR = 0.01
BASE_MEDIAN = 0.100  # seconds
SIGMA = 0.5  # lognormal shape: p95 = 2.28x the median
Z95 = 1.6448536269514722
FIXED_ERROR_THRESHOLD = 0.01  # Flagger-style "request-success-rate >= 99%"
LOG_GAMMA = math.log((1 + DEFAULT_ACCURACY) / (1 - DEFAULT_ACCURACY))
INDEX_LOW, INDEX_HIGH = -1200, 400  # sketch bucket indexes covered (1e-5 s .. 3000 s)


@dataclass
class Scenario:
    name: str
    metric: str  # "errors" | "latency"
    canary_error: float = BASE_ERROR
    canary_scale: float = 1.0
    kind: str = "false"  # "false": false-rollback rate; "detect": requests to roll back


SCENARIOS = [
    Scenario("A/A errors 1% vs 1%", "errors"),
    Scenario("errors at the bound 1.2% vs 1%", "errors", canary_error=0.012),
    Scenario("A/A latency", "latency"),
    Scenario("latency at the bound 1.2x", "latency", canary_scale=1.2),
    Scenario("errors 5% vs 1%", "errors", canary_error=0.05, kind="detect"),
    Scenario("p95 latency 1.5x", "latency", canary_scale=1.5, kind="detect"),
]


@dataclass
class Figure:
    scenario: str
    judge: str
    measure: str
    value: float | None
    target: str
    verdict: str
    runs: int
    detected: float | None = None


class Traffic:
    """One step's traffic, tick by tick: per-variant counts and latency bucket counts."""

    def __init__(self, rng: np.random.Generator, args: argparse.Namespace, sc: Scenario):
        self.rng, self.args, self.sc = rng, args, sc

    def ticks(self, count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        n_c = self.rng.binomial(self.args.per_tick, self.args.share, count)
        n_b = self.args.per_tick - n_c
        return (
            n_c,
            n_b,
            self.rng.binomial(n_c, self.sc.canary_error),
            self.rng.binomial(n_b, BASE_ERROR),
        )

    def latencies(self, n: int, scale: float) -> np.ndarray:
        return scale * self.rng.lognormal(math.log(BASE_MEDIAN), SIGMA, n)


def bucket_counts(values: np.ndarray) -> np.ndarray:
    index = np.ceil(np.log(values) / LOG_GAMMA).astype(np.int64)
    index = np.clip(index, INDEX_LOW, INDEX_HIGH) - INDEX_LOW
    return np.bincount(index, minlength=INDEX_HIGH - INDEX_LOW + 1)


def sketch_of(counts: np.ndarray, total: float, low: float, high: float) -> LatencySketch:
    """A real LatencySketch holding these bucket counts (built the way the store does)."""
    nonzero = np.nonzero(counts)[0]
    first, last = int(nonzero[0]), int(nonzero[-1])
    return LatencySketch.from_dict(
        {
            "accuracy": DEFAULT_ACCURACY,
            "offset": first + INDEX_LOW,
            "bins": counts[first : last + 1].tolist(),
            "zero_count": 0,
            "count": int(counts.sum()),
            "sum": total,
            "min": low,
            "max": high,
        }
    )


class Running:
    """Cumulative latency of one variant since the step started."""

    def __init__(self) -> None:
        self.counts = np.zeros(INDEX_HIGH - INDEX_LOW + 1, dtype=np.int64)
        self.total, self.low, self.high = 0.0, math.inf, -math.inf

    def add(self, values: np.ndarray) -> None:
        if len(values):
            self.counts += bucket_counts(values)
            self.total += float(values.sum())
            self.low, self.high = min(self.low, values.min()), max(self.high, values.max())

    def sketch(self) -> LatencySketch | None:
        return sketch_of(self.counts, self.total, self.low, self.high) if self.total else None


def gate_for(metric: str, alpha: float) -> Gate:
    kind = GateMetric.ERROR_RATE if metric == "errors" else GateMetric.LATENCY_P95
    return Gate(metric=kind, max_increase=MAX_INCREASE, alpha=alpha)


def rollwise_run(traffic: Traffic, ticks: int, min_samples: int) -> int | None:
    """Canary requests seen when the judge first says rollback (None: never in ``ticks``)."""
    sc = traffic.sc
    gate = gate_for(sc.metric, traffic.args.alpha)
    n_c, n_b, x_c, x_b = (np.cumsum(a) for a in traffic.ticks(ticks))
    tick_c = np.diff(n_c, prepend=0)
    tick_b = np.diff(n_b, prepend=0)
    lat_c, lat_b = Running(), Running()
    for t in range(ticks):
        c_sketch = b_sketch = None
        if sc.metric == "latency":
            lat_c.add(traffic.latencies(int(tick_c[t]), sc.canary_scale))
            lat_b.add(traffic.latencies(int(tick_b[t]), 1.0))
            c_sketch, b_sketch = lat_c.sketch(), lat_b.sketch()
        baseline = VariantMetrics("legacy", int(n_b[t]), int(x_b[t]), latency=b_sketch)
        canary = VariantMetrics("domain", int(n_c[t]), int(x_c[t]), latency=c_sketch)
        decision = judge_step(
            [gate], baseline, canary, min_samples=min_samples, bake_elapsed=False
        ).decision
        if decision is Decision.ROLLBACK:
            return int(n_c[t])
    return None


def fixed_run(traffic: Traffic, ticks: int, latency_limit: float) -> int | None:
    """Flagger-style: each tick's own canary data against a fixed threshold."""
    sc = traffic.sc
    n_c, _n_b, x_c, _x_b = traffic.ticks(ticks)
    seen = np.cumsum(n_c)
    for t in range(ticks):
        if n_c[t] == 0:
            continue
        if sc.metric == "errors":
            failed = x_c[t] / n_c[t] > FIXED_ERROR_THRESHOLD
        else:
            p95 = float(np.percentile(traffic.latencies(int(n_c[t]), sc.canary_scale), 95))
            failed = p95 > latency_limit
        if failed:
            return int(seen[t])
    return None


def measure(
    name: str,
    sc: Scenario,
    run: Callable[[Traffic, int], int | None],
    args: argparse.Namespace,
    seed: int,
) -> Figure:
    rng = np.random.default_rng(seed)
    traffic = Traffic(rng, args, sc)
    if sc.kind == "false":
        runs = args.runs
        rollbacks = sum(run(traffic, args.ticks) is not None for _ in range(runs))
        rate = rollbacks / runs
        ok = rate <= args.alpha
        return Figure(
            sc.name,
            name,
            "false-rollback rate",
            rate,
            f"<= {args.alpha:.0%}",
            "PASS" if ok else "MISS",
            runs,
        )
    runs = args.detect_runs
    results = [run(traffic, args.detect_ticks) for _ in range(runs)]
    found = [r for r in results if r is not None]
    values = sorted(r if r is not None else math.inf for r in results)
    median = float(np.median(values)) if values else math.inf
    ok = median < args.detect_target
    return Figure(
        sc.name,
        name,
        "median canary requests to rollback",
        median if math.isfinite(median) else None,
        f"< {args.detect_target:,}",
        "PASS" if ok else "MISS",
        runs,
        len(found) / runs,
    )


def format_value(fig: Figure) -> str:
    if fig.value is None:
        return "never"
    if fig.measure.startswith("false"):
        return f"{fig.value:.1%}"
    return f"{fig.value:,.0f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000, help="A/A and at-bound runs")
    parser.add_argument("--detect-runs", type=int, default=300, help="regression runs")
    parser.add_argument("--ticks", type=int, default=100, help="ticks in a step")
    parser.add_argument("--detect-ticks", type=int, default=200, help="cap for regressions")
    parser.add_argument("--per-tick", type=int, default=1000, help="requests per tick")
    parser.add_argument("--share", type=float, default=0.10, help="canary traffic share")
    parser.add_argument("--min-samples", type=int, default=100)
    parser.add_argument("--alpha", type=float, default=0.05)
    parser.add_argument("--detect-target", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--only", choices=["rollwise", "fixed"], default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    base_p95 = BASE_MEDIAN * math.exp(SIGMA * Z95)
    latency_limit = base_p95 * (
        1 + MAX_INCREASE
    )  # the same allowance as the gate, as a fixed number

    judges: list[tuple[str, Callable[[Traffic, int], int | None]]] = []
    if args.only in (None, "rollwise"):
        judges.append(("rollwise", lambda tr, n: rollwise_run(tr, n, args.min_samples)))
    if args.only in (None, "fixed"):
        judges.append(("fixed threshold", lambda tr, n: fixed_run(tr, n, latency_limit)))

    figures: list[Figure] = []
    started = time.perf_counter()
    for index, sc in enumerate(SCENARIOS):
        for name, run in judges:
            figures.append(measure(name, sc, run, args, args.seed * 1000 + index))
            if not args.json:
                print(f"  ... {sc.name} / {name}", file=sys.stderr, flush=True)
    elapsed = time.perf_counter() - started

    if args.json:
        print(json.dumps([asdict(f) for f in figures], indent=2))
        return 0
    print(
        f"canary share {args.share:.0%}, {args.per_tick:,} requests per tick "
        f"(~{args.per_tick * args.share:,.0f} canary), a look every tick; "
        f"steps of {args.ticks} ticks; alpha {args.alpha}; seed {args.seed}"
    )
    print(
        f"gates: error_rate max_increase {MAX_INCREASE}, latency_p95 max_increase {MAX_INCREASE} "
        f"(baseline error {BASE_ERROR:.0%}, p95 {base_p95 * 1000:.0f} ms lognormal); "
        f"fixed threshold: tick error rate > {FIXED_ERROR_THRESHOLD:.0%}, "
        f"tick p95 > {latency_limit * 1000:.0f} ms"
    )
    header = f"{'scenario':34} {'judge':16} {'measure':36} {'value':>9} {'target':>9}  verdict"
    print(header)
    print("-" * len(header))
    for f in figures:
        extra = f"  (detected in {f.detected:.0%} of {f.runs})" if f.detected is not None else ""
        extra = extra or f"  ({f.runs} runs)"
        print(
            f"{f.scenario:34} {f.judge:16} {f.measure:36} {format_value(f):>9} "
            f"{f.target:>9}  {f.verdict}{extra}"
        )
    print(f"({elapsed:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
