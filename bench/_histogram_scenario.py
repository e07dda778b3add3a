"""Prometheus histogram path: a healthy canary's false rollbacks, before and after the fix.

A step at 10% canary traffic (1,000 requests a tick, a look every tick, 100 ticks), lognormal
latencies (sigma 0.5), the canary **1.2x** the baseline against a gate ``latency_p95
max_increase: 0.5`` (allowed: 1.5x): every rollback is a false one. Latencies go through
the Prometheus histogram (the SDK's default buckets) and the provider's sketch, then
through the real judge (``judge_step``), and are judged three ways:

- ``upper edge`` (before): each bucket's count placed at its upper bound ``le``, so "above
  t" counted a bucket whose lower bound is below ``t`` (issue 12: false rollbacks 100%);
- ``histogram`` (now): :class:`HistogramSketch`, each count known only up to its bucket, so
  each use takes the conservative edge for its direction;
- ``sketch``: the same values through rollwise's own 1% sketch (the builtin provider).

Two baselines: ``worst`` puts the baseline's p95 (22 ms) in the bucket (10, 25] ms, so the
threshold 1.5 x 25 ms falls inside the next bucket (25, 50] ms where the canary's p95 lies;
``spread`` draws the baseline's median log-uniformly between 5 ms and 500 ms per run.

    .venv/bin/python bench/_histogram_scenario.py [--runs 300] [--seed 7] [--json]

Target: false rollbacks <= alpha (5%) with the histogram; each rate with its 95% interval.
Two more, the canary **2x** the baseline, show what the conservative edges cost in
detection: the share of steps rolled back and the median canary requests it took. With the
worst placement a 2x canary is never rolled back on the histogram: its p95 (44 ms) and the
threshold (37.5 ms) share the bucket (25, 50] ms, and only 4% of it lies in whole buckets
above the threshold. That is the histogram's resolution, not the judge's: the last two
scenarios use buckets 1.1x apart (1 ms to 10 s, 98 bounds) instead of the SDK's defaults.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from rollwise.analysis import Decision, VariantMetrics, judge_step
from rollwise.analysis.providers.prometheus._histogram import sketch_from_buckets
from rollwise.core.gates import Gate
from rollwise.sdk.prometheus import DEFAULT_BUCKETS
from rollwise.stats.sketch import LatencySketch

SIGMA = 0.5
CANARY_SCALE = 1.2
WORST_MEDIAN = 0.022 / math.exp(1.6448536269514722 * SIGMA)  # baseline p95 22 ms
GATE = Gate(metric="latency_p95", max_increase=0.5)
FINE = tuple(0.001 * 1.1**k for k in range(98))  # 1 ms to 10 s, each bound 1.1x the one before
LAYOUTS = {"default": np.array(DEFAULT_BUCKETS), "x1.1": np.array(FINE)}

Placement = Callable[[Sequence[tuple[float, float]]], LatencySketch | None]


def upper_edge(buckets: Sequence[tuple[float, float]]) -> LatencySketch | None:
    """The placement the provider used before: every count at its bucket's upper bound."""
    result = LatencySketch()
    seen = 0
    finite = [le for le, _ in buckets if math.isfinite(le)]
    for le, cumulative in sorted(buckets):
        count, seen = int(cumulative) - seen, int(cumulative)
        if count:  # one value at ``le``, its bin scaled up to ``count``
            where = le if math.isfinite(le) else finite[-1] * 1.0202
            probe = LatencySketch()
            probe.add(where)
            data = probe.to_dict()
            data["bins"], data["count"], data["sum"] = [count], count, where * count
            result.merge(LatencySketch.from_dict(data))
    return result if result.count else None


def histogram(buckets: Sequence[tuple[float, float]]) -> LatencySketch | None:
    return sketch_from_buckets(buckets)


@dataclass
class Row:
    scenario: str
    path: str
    runs: int
    rollbacks: int
    rate: float
    low: float
    high: float
    target: str
    median_canary_requests: float | None = None
    """Detection rows: canary requests at the rollback, median over the runs that rolled back."""


def wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """95% Wilson interval of a proportion."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def cumulative(bounds: np.ndarray, counts: np.ndarray, total: int) -> list[tuple[float, float]]:
    pairs = [(float(le), float(c)) for le, c in zip(bounds, np.cumsum(counts[:-1]), strict=True)]
    return [*pairs, (math.inf, float(total))]


def one_step(
    rng: np.random.Generator,
    median: float,
    args: argparse.Namespace,
    scale: float = CANARY_SCALE,
    bounds: np.ndarray = LAYOUTS["default"],
) -> dict[str, int | None]:
    """Per path, the canary requests at the look that rolled back (None: it never did)."""
    b_counts = np.zeros(len(bounds) + 1, dtype=np.int64)
    c_counts = np.zeros(len(bounds) + 1, dtype=np.int64)
    b_sketch, c_sketch = LatencySketch(), LatencySketch()
    rolled: dict[str, int | None] = {"upper edge": None, "histogram": None, "sketch": None}
    paths: dict[str, Placement] = {"upper edge": upper_edge, "histogram": histogram}
    for _tick in range(args.ticks):
        n_c = int(rng.binomial(args.per_tick, args.share))
        base = rng.lognormal(math.log(median), SIGMA, args.per_tick - n_c)
        canary = scale * rng.lognormal(math.log(median), SIGMA, n_c)
        b_counts += np.bincount(np.searchsorted(bounds, base), minlength=len(bounds) + 1)
        c_counts += np.bincount(np.searchsorted(bounds, canary), minlength=len(bounds) + 1)
        if args.with_sketch:
            for value in base.tolist():
                b_sketch.add(value)
            for value in canary.tolist():
                c_sketch.add(value)
        n_b_total, n_c_total = int(b_counts.sum()), int(c_counts.sum())
        for name, place in paths.items():
            if rolled[name] is None:
                b = place(cumulative(bounds, b_counts, n_b_total))
                c = place(cumulative(bounds, c_counts, n_c_total))
                if _rolls_back(b, c, n_b_total, n_c_total, args.min_samples):
                    rolled[name] = n_c_total
        if (
            args.with_sketch
            and rolled["sketch"] is None
            and _rolls_back(b_sketch, c_sketch, n_b_total, n_c_total, args.min_samples)
        ):
            rolled["sketch"] = n_c_total
    return rolled


def _rolls_back(
    b: LatencySketch | None, c: LatencySketch | None, n_b: int, n_c: int, min_samples: int
) -> bool:
    judgement = judge_step(
        [GATE],
        VariantMetrics("legacy", n_b, latency=b),
        VariantMetrics("domain", n_c, latency=c),
        min_samples=min_samples,
        bake_elapsed=True,
    )
    return judgement.decision is Decision.ROLLBACK


SCENARIOS = (
    # (name, baseline medians, canary scale, target, bucket layout)
    ("healthy 1.2x, worst buckets", "worst", CANARY_SCALE, "<= 5%", "default"),
    ("healthy 1.2x, spread", "spread", CANARY_SCALE, "<= 5%", "default"),
    ("slow 2x, worst buckets", "worst", 2.0, "detect", "default"),
    ("slow 2x, spread", "spread", 2.0, "detect", "default"),
    ("healthy 1.2x, spread, x1.1", "spread", CANARY_SCALE, "<= 5%", "x1.1"),
    ("slow 2x, spread, x1.1", "spread", 2.0, "detect", "x1.1"),
)


def run(args: argparse.Namespace) -> list[Row]:
    rows: list[Row] = []
    for index, (scenario, baseline, scale, target, layout) in enumerate(SCENARIOS):
        if args.only and args.only not in scenario:
            continue
        rng = np.random.default_rng(args.seed + index)
        found: dict[str, list[int]] = {"upper edge": [], "histogram": [], "sketch": []}
        for _ in range(args.runs):
            median = (
                WORST_MEDIAN
                if baseline == "worst"
                else math.exp(rng.uniform(math.log(0.005), math.log(0.5)))
            )
            for name, at in one_step(rng, median, args, scale, LAYOUTS[layout]).items():
                if at is not None:
                    found[name].append(at)
        for name, ats in found.items():
            if name == "sketch" and not args.with_sketch:
                continue
            low, high = wilson(len(ats), args.runs)
            middle = float(np.median(ats)) if ats and target == "detect" else None
            rows.append(
                Row(
                    scenario,
                    name,
                    args.runs,
                    len(ats),
                    len(ats) / args.runs,
                    low,
                    high,
                    target,
                    middle,
                )
            )
    return rows


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300, help="steps per baseline")
    parser.add_argument("--ticks", type=int, default=100)
    parser.add_argument("--per-tick", type=int, default=1000)
    parser.add_argument("--share", type=float, default=0.10)
    parser.add_argument("--min-samples", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--with-sketch", action="store_true", help="also the builtin sketch (slow)")
    parser.add_argument("--only", default="", help="scenarios whose name contains this")
    parser.add_argument("--json", action="store_true")
    known, _unknown = parser.parse_known_args(list(argv))
    return known


def report(rows: Sequence[Row], args: argparse.Namespace) -> None:
    print(
        f"\nPrometheus histogram path: gate latency_p95 max_increase 0.5 (allowed 1.5x); "
        f"{args.runs} steps of {args.ticks} looks, {args.per_tick * args.share:,.0f} canary "
        f"requests a look; the SDK's default buckets (x1.1: bounds 1.1x apart); "
        f"lognormal sigma {SIGMA}; alpha 0.05"
    )
    header = (
        f"{'scenario':30} {'path':11} {'rolled back':>11} {'95% interval':>16} {'target':>7}  note"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        if row.target == "detect":
            note = (
                f"median {row.median_canary_requests:,.0f} canary requests"
                if row.median_canary_requests is not None
                else "never"
            )
        else:
            note = "ok" if row.rate <= 0.05 else "over target"
        if row.path == "upper edge":
            note += " (before the fix)"
        interval = f"[{row.low:.1%}, {row.high:.1%}]"
        print(
            f"{row.scenario:30} {row.path:11} {row.rate:>11.1%} {interval:>16} "
            f"{row.target:>7}  {note}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    rows = run(args)
    if args.json:
        print(json.dumps([asdict(row) for row in rows], indent=2))
    else:
        report(rows, args)
    return 0


def from_canary_judge(argv: Sequence[str]) -> int:
    """The hook in ``canary_judge.py``: the same figures after its own (text mode only, so
    that its ``--json`` output stays one JSON document)."""
    args = parse(argv)
    if args.json:
        return 0
    report(run(args), args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
