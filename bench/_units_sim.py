"""Clustered users, simulated user by user: the request-level and the unit-level gate on the
same steps, with the unit counts read from real DataSketches HLL sketches.

Each step has ``users`` users, each assigned to the canary with probability 10% (sticky),
and 100 ticks of 1,000 requests, each from a uniformly drawn user (about 50 requests per
user over the step). Failures cluster on users: in the baseline 2% of users fail 25% of
their requests and 20% fail 2.5%, the others never fail (request error rate 1%). The canary
has ``scale`` times as many users of each failing kind, so its share of users with a
failure is exactly ``scale`` times the baseline's at every moment, and its request error
rate ``scale`` times 1%: at ``scale`` 1.2 both the request-level gate (``error_rate``,
``max_increase`` 0.2) and the unit-level gate (``failing_units``, ``max_increase`` 0.2)
are exactly at their bounds.

Every tick is one SDK window: per variant, an HLL sketch (lg_k 12, HLL_8) of the users
it served and one of those with a failed request, unioned into the step's union as the
control plane does; the judge reads each union's estimate and 2-sigma bounds (the store's
``BOUND_STD_DEVS``), as the builtin provider gives them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import datasketches as ds
import numpy as np

from _judge_sim import Options, Traffic, median_interval, rollwise_step, wilson
from rollwise.analysis import Decision, judge_step
from rollwise.analysis._unit_counts import UnitCounts
from rollwise.analysis.data import VariantMetrics
from rollwise.core.gates import Gate, JudgeSettings, SampleRatioCheck

ALPHA = 0.05
BOUND_STD_DEVS = 2
UNIT_GATE = Gate(metric="failing_units", max_increase=0.2, alpha=ALPHA)
REQUEST_GATE = Gate(metric="error_rate", max_increase=0.2, alpha=ALPHA)
NO_SRM = JudgeSettings(sample_ratio=SampleRatioCheck(enabled=False))


def draw_users(
    rng: np.random.Generator, users: int, scale: float, ticks: int, per_tick: int
) -> dict[str, Any]:
    """One step: per tick, the canary/baseline users served and those with a failure."""
    canary = rng.random(users) < 0.1
    kind = rng.random(users)
    share = np.where(canary, scale, 1.0)
    rate = np.where(kind < 0.02 * share, 0.25, np.where(kind < 0.22 * share, 0.025, 0.0))
    ids = rng.integers(0, 2**62, users)  # the hashed unit ids (fresh per step)
    who = rng.integers(0, users, (ticks, per_tick))
    failed = rng.random((ticks, per_tick)) < rate[who]
    return {"canary": canary, "ids": ids, "who": who, "failed": failed}


def _counts(union: Any) -> tuple[float, float, float]:
    sketch = union.get_result(ds.tgt_hll_type.HLL_8)
    return (
        sketch.get_estimate(),
        sketch.get_lower_bound(BOUND_STD_DEVS),
        sketch.get_upper_bound(BOUND_STD_DEVS),
    )


def unit_step(step: dict[str, Any], stop: set[Decision]) -> tuple[Decision, int, int] | None:
    """The unit-level gate's first decision in ``stop``: (decision, tick, canary requests)."""
    canary, ids, who, failed = step["canary"], step["ids"], step["who"], step["failed"]
    unions = {side: (ds.hll_union(12), ds.hll_union(12)) for side in (True, False)}
    requests = 0
    for t in range(len(who)):
        for side in (True, False):
            mine = canary[who[t]] == side
            seen = ds.hll_sketch(12, ds.tgt_hll_type.HLL_8)
            bad = ds.hll_sketch(12, ds.tgt_hll_type.HLL_8)
            for unit in np.unique(ids[who[t][mine]]).tolist():
                seen.update(unit)
            for unit in np.unique(ids[who[t][mine & failed[t]]]).tolist():
                bad.update(unit)
            unions[side][0].update(seen)
            unions[side][1].update(bad)
        requests += int(canary[who[t]].sum())
        metrics = {}
        for side in (True, False):
            units, low, high = _counts(unions[side][0])
            failing, f_low, f_high = _counts(unions[side][1])
            counts = UnitCounts(units, min(failing, units), (low, high), (f_low, f_high))
            metrics[side] = VariantMetrics("x", requests=1000, units=counts)
        decision = judge_step(
            [UNIT_GATE], metrics[False], metrics[True], min_samples=100, bake_elapsed=False,
            settings=NO_SRM,
        ).decision  # fmt: skip
        if decision in stop:
            return decision, t, requests
    return None


def request_step(step: dict[str, Any], stop: set[Decision]) -> tuple[Decision, int, int] | None:
    """The request-level gate (per-window counts, as the builtin provider) on the same step."""
    in_canary = step["canary"][step["who"]]
    failed = step["failed"]
    traffic = Traffic(
        in_canary.sum(axis=1),
        (~in_canary).sum(axis=1),
        (in_canary & failed).sum(axis=1),
        (~in_canary & failed).sum(axis=1),
    )
    return rollwise_step(traffic, [REQUEST_GATE], Options(settings=NO_SRM), stop)


def unit_figures(
    runs: int, detect_runs: int, seed: int, figure: Callable[..., Any], users: int = 2000
) -> list[Any]:
    """False rollbacks at the bound (scale 1.2) and power (scale 2) of both gates."""
    figures = []
    rb = Decision.ROLLBACK
    for label, scale, count in (("at the bound 1.2x", 1.2, runs), ("2x worse", 2.0, detect_runs)):
        if count < 1:
            continue
        steps_rng = np.random.default_rng(seed)
        results: dict[str, list[Any]] = {
            "request-level error_rate": [],
            "unit-level failing_units": [],
        }
        for _ in range(count):
            step = draw_users(steps_rng, users, scale, 100, 1000)
            results["request-level error_rate"].append(request_step(step, {rb}))
            results["unit-level failing_units"].append(unit_step(step, {rb}))
        name = f"clustered users (user by user) {label}"
        for judge, found in results.items():
            hits = [r for r in found if r is not None]
            if scale == 1.2:
                low, high = wilson(len(hits), count)
                rate = len(hits) / count
                figures.append(
                    figure(
                        "units", name, judge, "steps with rollback", rate, low, high,
                        f"<= {ALPHA:.1%}", "PASS" if rate <= ALPHA else "MISS", count,
                        "2% of users fail 25%, 20% fail 2.5%; the canary 1.2x of each",
                    )
                )  # fmt: skip
            else:
                values = [float(r[2]) if r is not None else math.inf for r in found]
                median, low, high = median_interval(values)
                figures.append(
                    figure(
                        "units", name, judge, "median canary requests to rollback",
                        median if math.isfinite(median) else None,
                        low if math.isfinite(low) else None,
                        high if math.isfinite(high) else None,
                        "", "-", count, "", {"reached": len(hits) / count},
                    )
                )  # fmt: skip
    return figures


def main() -> int:
    """``python bench/_units_sim.py --users 20000``: the [units] figures for other sizes."""
    import argparse

    from canary_judge import Figure, fmt

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--detect-runs", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7998, help="canary_judge's: 7 * 1000 + 998")
    args = parser.parse_args()
    for f in unit_figures(args.runs, args.detect_runs, args.seed, Figure, users=args.users):
        extra = f"  reached in {f.extra['reached']:.0%}" if "reached" in f.extra else ""
        print(f"{f.scenario[:44]:44} {f.judge:26} {fmt(f):>26} ({f.runs} runs){extra}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
