"""Canary judge simulation: false rollbacks, promotions, SRM and time to detect, every tick.

Simulates rollout steps (10% canary traffic unless a scenario says otherwise) with known
error rates and lognormal latencies (sigma 0.5) and asks rollwise's judge (``judge_step``,
the real one, with real latency sketches and per-window counts: 10 ticks a window, as the
builtin provider's 60 s windows at a 5 s tick) for a decision after every tick on the
step's cumulative data. Each figure is printed with its 95% interval (Wilson for rates,
order statistics for medians), its target, and the same figure for a fixed-threshold judge
that checks each tick's own canary data like Flagger's analysis (tick error rate above the
gate's allowance, or tick p95 above the allowed latency: one failed check rolls back; no
failed check until the bake is over promotes).

Scenarios (issue 12):
  - false rollbacks (target <= alpha 5%): A/A and at-the-bound for the ratio, difference and
    p95 gates; a split drifting 8-12% in phase with the error rate (per-window vs pooled);
    shared shocks; clustered users (request-level; the unit-level gate in [units]);
  - promotion of too-bad canaries (worse than the bound by the tolerance; target <= 5% with
    ``promotion: upper_bound``) and what the rule costs a healthy canary;
  - sample-ratio mismatch: false pauses (target <= 0.1%) and requests to pause;
  - power, looking every 100 requests: median canary requests to roll back (5% vs 1%
    errors: ratio gate <= 150, difference gate <= 300; p95 1.5x vs <= 1.2x: <= 350);
  - the rollout-wide budget: 3 gates x 3 steps at their bounds, with and without
    ``alpha_budget: 0.05`` (target <= 5% with it).

    .venv/bin/python bench/canary_judge.py                  # the figures in docs/judging.md
    .venv/bin/python bench/canary_judge.py --runs 300 --only power,srm
    .venv/bin/python bench/canary_judge.py --only false --scenario "p95 at" --slow-runs 1000
    .venv/bin/python bench/canary_judge.py --json
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from _judge_sim import (
    BASE_P95,
    FixedJudge,
    Model,
    Options,
    Traffic,
    draw,
    median_interval,
    rollwise_step,
    wilson,
)
from rollwise.analysis import Decision
from rollwise.core.gates import Gate, JudgeSettings, PromotionRule, SampleRatioCheck
from rollwise.core.rollout import gates_for_step, parse_rollout_spec

ALPHA = 0.05
ERRORS = Gate(metric="error_rate", max_increase=0.2, alpha=ALPHA)
NO_INCREASE = Gate(metric="error_rate", max_increase=0.0, alpha=ALPHA)
DIFFERENCE = Gate(name="error-difference", metric="error_rate", max_difference=0.002)
DIFFERENCE_TIGHT = Gate(name="error-difference", metric="error_rate", max_difference=0.001)
P95 = Gate(metric="latency_p95", max_increase=0.2, alpha=ALPHA)
P95_HALF = Gate(metric="latency_p95", max_increase=0.5, alpha=ALPHA)
UPPER = PromotionRule(rule="upper_bound", tolerance=0.25)
UPPER_LATENCY = PromotionRule(rule="upper_bound", tolerance=0.2)
NO_SRM = JudgeSettings(sample_ratio=SampleRatioCheck(enabled=False))


def drifting_latency(
    slow: float, high: float = 0.12, low: float = 0.08, period: int = 20
) -> Callable[[np.random.Generator, int, int], Traffic]:
    """A/A latencies ``slow`` times longer in the peak half of each period, when the canary's
    share is ``high`` (``low`` otherwise): the split drifts in phase with the latency."""

    def drawer(rng: np.random.Generator, ticks: int, per_tick: int) -> Traffic:
        peak = (np.arange(ticks) % period) < period // 2
        traffic = draw(rng, Model(share=square(high, low, period), latency=True), ticks, per_tick)
        factor = np.where(peak, slow, 1.0)
        assert traffic.lat_c is not None
        assert traffic.lat_b is not None
        traffic.lat_c = [f * v for f, v in zip(factor, traffic.lat_c, strict=True)]
        traffic.lat_b = [f * v for f, v in zip(factor, traffic.lat_b, strict=True)]
        return traffic

    return drawer


def const(value: float) -> Callable[[np.ndarray], np.ndarray]:
    return lambda t: np.full(len(t), value)


def square(high: float, low: float, period: int = 20) -> Callable[[np.ndarray], np.ndarray]:
    """The peak half of each period at ``high``, the rest at ``low`` (a daily pattern)."""
    return lambda t: np.where((t % period) < period // 2, high, low)


@dataclass
class Judge:
    label: str
    run: Callable[[Traffic], tuple[Decision, int, int] | None]


@dataclass
class Scenario:
    group: str
    name: str
    kind: str
    """rate: share of steps ending in ``event``; median: canary requests to ``event``."""
    event: Decision
    model: Model
    judges: list[Judge]
    target: float
    per_tick: int = 1000
    ticks: int = 100
    runs: str = "runs"
    note: str = ""
    drawer: Callable[[np.random.Generator, int, int], Traffic] | None = None
    """Draws one step's traffic when the scenario is not a :class:`Model` (None: ``model``)."""


@dataclass
class Figure:
    group: str
    scenario: str
    judge: str
    measure: str
    value: float | None
    low: float | None
    high: float | None
    target: str
    verdict: str
    runs: int
    note: str = ""
    extra: dict[str, float] = field(default_factory=dict)


def rollwise(
    gates: list[Gate],
    label: str = "rollwise",
    *,
    stop: set[Decision] | None = None,
    **options: object,
) -> Judge:
    opts = Options(**options)  # type: ignore[arg-type]
    if opts.settings is None:
        opts = replace(opts, settings=NO_SRM)
    wanted = stop or {Decision.ROLLBACK}
    return Judge(label, lambda tr: rollwise_step(tr, gates, opts, wanted))


def fixed(error: float | None = None, p95: float | None = None, bake_tick: int = 10**9) -> Judge:
    judge = FixedJudge(error, p95)
    return Judge("fixed threshold", lambda tr: judge.step(tr, bake_tick))


PROMOTE_OR_ROLLBACK = {Decision.PROMOTE, Decision.ROLLBACK}


def scenarios() -> list[Scenario]:
    lat = P95_HALF.max_increase or 0.0
    s: list[Scenario] = []
    rb = Decision.ROLLBACK
    # --- false rollbacks ---
    s += [
        Scenario(
            "false",
            "A/A errors 1% vs 1%",
            "rate",
            rb,
            Model(),
            [rollwise([ERRORS]), fixed(0.012)],
            ALPHA,
        ),
        Scenario(
            "false",
            "ratio gate at the bound 1.2% vs 1%",
            "rate",
            rb,
            Model(p_c=const(0.012)),
            [rollwise([ERRORS]), fixed(0.012)],
            ALPHA,
        ),
        Scenario(
            "false",
            "difference gate at the bound +0.2 pt",
            "rate",
            rb,
            Model(p_c=const(0.012)),
            [rollwise([DIFFERENCE]), fixed(0.012)],
            ALPHA,
        ),
        Scenario(
            "false",
            "A/A latency p95",
            "rate",
            rb,
            Model(latency=True),
            [rollwise([P95]), fixed(p95=1.2 * BASE_P95)],
            ALPHA,
            runs="slow_runs",
        ),
        Scenario(
            "false",
            "p95 at the bound 1.2x",
            "rate",
            rb,
            Model(latency=True, canary_scale=1.2),
            [rollwise([P95]), fixed(p95=1.2 * BASE_P95)],
            ALPHA,
            runs="slow_runs",
        ),
        Scenario(
            "false",
            "drifting split 8-12% in phase, A/A, max_increase 0",
            "rate",
            rb,
            Model(share=square(0.12, 0.08), p_c=square(0.018, 0.002), p_b=square(0.018, 0.002)),
            [
                rollwise([NO_INCREASE], "rollwise per window"),
                rollwise([NO_INCREASE], "rollwise pooled", window_ticks=None),
                fixed(0.01),
            ],
            ALPHA,
            per_tick=2000,
            note="peak half of each 20-tick period: errors 1.8%, share 12%; else 0.2%, 8%",
        ),
        Scenario(
            "false",
            "drifting split 8-12% in phase, A/A, difference gate",
            "rate",
            rb,
            Model(share=square(0.12, 0.08), p_c=square(0.018, 0.002), p_b=square(0.018, 0.002)),
            [
                rollwise([DIFFERENCE], "rollwise per window, +0.2 pt"),
                rollwise([DIFFERENCE_TIGHT], "rollwise per window, +0.1 pt"),
                rollwise([DIFFERENCE_TIGHT], "rollwise pooled, +0.1 pt", window_ticks=None),
                fixed(0.01),
            ],
            ALPHA,
            per_tick=2000,
            note="pooled bias +0.18 pt: inside +0.2 pt, not inside +0.1 pt (docs/judging.md)",
        ),
        Scenario(
            "false",
            "drifting split 8-12% in phase with latency, A/A, p95",
            "rate",
            rb,
            Model(),
            [rollwise([P95]), fixed(p95=1.2 * BASE_P95)],
            ALPHA,
            runs="slow_runs",
            note="peak half: latency x1.5 and share 12%; else x1, 8%; p95 max_increase 0.2",
            drawer=drifting_latency(1.5),
        ),
        Scenario(
            "false",
            "shared shocks, A/A, ratio gate",
            "rate",
            rb,
            Model(shocks=0.05),
            [rollwise([ERRORS]), fixed(0.012)],
            ALPHA,
            note="5% of ticks: both variants' errors x20",
        ),
        Scenario(
            "false",
            "shared shocks, A/A, difference gate",
            "rate",
            rb,
            Model(shocks=0.05),
            [rollwise([DIFFERENCE]), fixed(0.012)],
            ALPHA,
        ),
        Scenario(
            "false",
            "clustered users at the bound 1.2% vs 1%",
            "rate",
            rb,
            Model(clustered=0.012),
            [rollwise([ERRORS]), fixed(0.012)],
            ALPHA,
            note="2% of users fail 25% of their requests; unit-level gate: see [units]",
        ),
    ]
    # --- promotion of too-bad canaries (bake over at tick 50) ---
    bake = {"bake_tick": 50}
    up = {"settings": JudgeSettings(promotion=UPPER, sample_ratio=NO_SRM.sample_ratio)}
    up_lat = {"settings": JudgeSettings(promotion=UPPER_LATENCY, sample_ratio=NO_SRM.sample_ratio)}
    pr = Decision.PROMOTE
    s += [
        Scenario(
            "promotion",
            "errors 1.5% vs allowed 1.2% (tolerance 25%)",
            "rate",
            pr,
            Model(p_c=const(0.015)),
            [
                rollwise([ERRORS], "rule estimate", stop=PROMOTE_OR_ROLLBACK, **bake),
                rollwise([ERRORS], "rule upper_bound", stop=PROMOTE_OR_ROLLBACK, **bake, **up),
                fixed(0.012, bake_tick=50),
            ],
            ALPHA,
        ),
        Scenario(
            "promotion",
            "errors 1.3% vs allowed 1.2% (within tolerance)",
            "rate",
            pr,
            Model(p_c=const(0.013)),
            [
                rollwise([ERRORS], "rule estimate", stop=PROMOTE_OR_ROLLBACK, **bake),
                rollwise([ERRORS], "rule upper_bound", stop=PROMOTE_OR_ROLLBACK, **bake, **up),
                fixed(0.012, bake_tick=50),
            ],
            math.nan,
            note="not too bad by the tolerance: no target",
        ),
        Scenario(
            "promotion",
            "p95 1.8x vs allowed 1.5x (tolerance 20%)",
            "rate",
            pr,
            Model(latency=True, canary_scale=1.8),
            [
                rollwise([P95_HALF], "rule estimate", stop=PROMOTE_OR_ROLLBACK, **bake),
                rollwise(
                    [P95_HALF], "rule upper_bound", stop=PROMOTE_OR_ROLLBACK, **bake, **up_lat
                ),
                fixed(p95=(1 + lat) * BASE_P95, bake_tick=50),
            ],
            ALPHA,
            runs="slow_runs",
        ),
        Scenario(
            "promotion",
            "healthy A/A errors: requests to promote",
            "median",
            pr,
            Model(),
            [
                rollwise([ERRORS], "rule estimate", stop=PROMOTE_OR_ROLLBACK, bake_tick=10),
                rollwise(
                    [ERRORS], "rule upper_bound", stop=PROMOTE_OR_ROLLBACK, bake_tick=10, **up
                ),
            ],
            math.nan,
            ticks=400,
            runs="detect_runs",
            note="the rule's cost: healthy steps take longer (bake over at tick 10)",
        ),
    ]
    # --- sample-ratio mismatch ---
    srm = {"settings": JudgeSettings(canary_share=0.1)}
    pause = Decision.PAUSE
    s += [
        Scenario(
            "srm",
            "split as configured (10%)",
            "rate",
            pause,
            Model(),
            [rollwise([ERRORS], stop={pause}, **srm)],
            0.001,
        ),
        Scenario(
            "srm",
            "broken router: 7% vs configured 10%",
            "median",
            pause,
            Model(share=const(0.07)),
            [rollwise([ERRORS], stop={pause}, **srm)],
            math.nan,
            ticks=400,
            runs="detect_runs",
        ),
        Scenario(
            "srm",
            "split drifting 8-12% (mean 10%)",
            "rate",
            pause,
            Model(share=square(0.12, 0.08)),
            [rollwise([ERRORS], stop={pause}, **srm)],
            math.nan,
            note="a drift around the configured share is not a mismatch",
        ),
    ]
    # --- power: looks every 100 requests ---
    s += [
        Scenario(
            "power",
            "ratio gate: errors 5% vs 1%",
            "median",
            rb,
            Model(p_c=const(0.05)),
            [rollwise([ERRORS]), fixed(0.012)],
            150,
            per_tick=100,
            ticks=3000,
            runs="detect_runs",
        ),
        Scenario(
            "power",
            "difference gate: errors 5% vs 1%",
            "median",
            rb,
            Model(p_c=const(0.05)),
            [rollwise([DIFFERENCE]), fixed(0.012)],
            300,
            per_tick=100,
            ticks=3000,
            runs="detect_runs",
        ),
        Scenario(
            "power",
            "p95 1.5x vs <= 1.2x",
            "median",
            rb,
            Model(latency=True, canary_scale=1.5),
            [rollwise([P95], min_samples=100), fixed(p95=1.2 * BASE_P95)],
            350,
            per_tick=100,
            ticks=3000,
            runs="detect_runs",
        ),
    ]
    return s


def run_scenario(sc: Scenario, args: argparse.Namespace, seed: int) -> list[Figure]:
    runs = getattr(args, sc.runs)
    figures = []
    for judge in sc.judges:
        rng = np.random.default_rng(seed)  # the same steps for every judge
        drawer = sc.drawer or (lambda g, ticks, per: draw(g, sc.model, ticks, per))
        results = [judge.run(drawer(rng, sc.ticks, sc.per_tick)) for _ in range(runs)]
        hits = [r for r in results if r is not None and r[0] is sc.event]
        if sc.kind == "rate":
            rate = len(hits) / runs
            low, high = wilson(len(hits), runs)
            ok = math.isnan(sc.target) or rate <= sc.target
            target = "" if math.isnan(sc.target) else f"<= {sc.target:.1%}"
            figures.append(
                Figure(
                    sc.group,
                    sc.name,
                    judge.label,
                    f"steps with {sc.event.value}",
                    rate,
                    low,
                    high,
                    target,
                    "-" if not target else ("PASS" if ok else "MISS"),
                    runs,
                    sc.note,
                )
            )
        else:
            values = [
                float(r[2]) if r is not None and r[0] is sc.event else math.inf for r in results
            ]
            median, low, high = median_interval(values)
            ok = math.isnan(sc.target) or median <= sc.target
            target = "" if math.isnan(sc.target) else f"<= {sc.target:,.0f}"
            figures.append(
                Figure(
                    sc.group,
                    sc.name,
                    judge.label,
                    f"median canary requests to {sc.event.value}",
                    median if math.isfinite(median) else None,
                    low if math.isfinite(low) else None,
                    high if math.isfinite(high) else None,
                    target,
                    "-" if not target else ("PASS" if ok else "MISS"),
                    runs,
                    sc.note,
                    {"reached": len(hits) / runs},
                )
            )
    return figures


def rollout_budget(args: argparse.Namespace, seed: int) -> list[Figure]:
    """3 gates x 3 steps (10%, 25%, 50%), every gate exactly at its bound."""
    spec_data = {
        "flag": "checkout",
        "environment": "production",
        "variant": "domain",
        "baseline": "legacy",
        "strategy": {"steps": ["10%/1h", "25%/1h", "50%/1h"]},
        "gates": [g.model_dump(exclude_none=True) for g in (ERRORS, DIFFERENCE, P95)],
    }
    figures = []
    for label, budget in (("per gate and step (no budget)", None), ("alpha_budget 0.05", 0.05)):
        spec = parse_rollout_spec({**spec_data, "alpha_budget": budget})
        rng = np.random.default_rng(seed)
        runs = args.slow_runs
        rolled = 0
        for _ in range(runs):
            for step in range(3):
                share = spec.steps[step].percent / 100
                model = Model(share=const(share), p_c=const(0.012), latency=True, canary_scale=1.2)
                traffic = draw(rng, model, args.rollout_ticks, 1000)
                opts = Options(settings=NO_SRM)
                if rollwise_step(traffic, gates_for_step(spec, step), opts, {Decision.ROLLBACK}):
                    rolled += 1
                    break
        low, high = wilson(rolled, runs)
        target = "<= 5.0%" if budget is not None else ""
        verdict = "-" if budget is None else ("PASS" if rolled / runs <= budget else "MISS")
        figures.append(
            Figure(
                "budget",
                "3 gates x 3 steps at their bounds",
                label,
                "rollouts with a rollback",
                rolled / runs,
                low,
                high,
                target,
                verdict,
                runs,
                "union bound without a budget: 45%",
            )
        )
    return figures


def fmt(fig: Figure) -> str:
    if fig.value is None:
        return "never"
    if fig.measure.startswith("steps") or fig.measure.startswith("rollouts"):
        return f"{fig.value:.1%} [{fig.low:.1%}, {fig.high:.1%}]"
    high = "inf" if fig.high is None else f"{fig.high:,.0f}"
    low = "inf" if fig.low is None else f"{fig.low:,.0f}"
    return f"{fig.value:,.0f} [{low}, {high}]"


GROUPS = ("false", "promotion", "srm", "power", "budget", "units")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000, help="steps per rate figure")
    parser.add_argument("--slow-runs", type=int, default=400, help="steps with latencies")
    parser.add_argument("--detect-runs", type=int, default=300, help="steps per median")
    parser.add_argument("--rollout-ticks", type=int, default=60, help="ticks per budget step")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--only", default=",".join(GROUPS), help="groups: " + ",".join(GROUPS))
    parser.add_argument("--scenario", default="", help="only scenarios whose name has this")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    wanted = set(args.only.split(","))
    figures: list[Figure] = []
    started = time.perf_counter()
    for index, sc in enumerate(scenarios()):
        if sc.group in wanted and args.scenario in sc.name:
            figures += run_scenario(sc, args, args.seed * 1000 + index)
            if not args.json:
                print(f"  ... {sc.group}: {sc.name}", file=sys.stderr, flush=True)
    if "budget" in wanted and not args.scenario:
        figures += rollout_budget(args, args.seed * 1000 + 999)
    if "units" in wanted and not args.scenario:  # clustered users, request- vs unit-level
        from _units_sim import unit_figures

        figures += unit_figures(args.runs, args.detect_runs, args.seed * 1000 + 998, Figure)
    elapsed = time.perf_counter() - started
    if args.json:
        print(json.dumps([asdict(f) for f in figures], indent=2))
        return 0
    print(
        f"steps of 100 ticks at 1,000 requests (10% canary) unless noted, a look every tick; "
        f"power: a look every 100 requests; alpha {ALPHA}; seed {args.seed}; "
        f"baseline errors 1%, p95 {BASE_P95 * 1000:.0f} ms (lognormal sigma 0.5)"
    )
    header = f"{'scenario':52} {'judge':30} {'value [95% interval]':>26} {'target':>9}  verdict"
    print(header)
    print("-" * len(header))
    group = None
    for f in figures:
        if f.group != group:
            group = f.group
            print(f"[{group}] {f.measure}")
        extra = f"  reached in {f.extra['reached']:.0%}" if "reached" in f.extra else ""
        print(
            f"{f.scenario[:52]:52} {f.judge[:30]:30} {fmt(f):>26} {f.target:>9}  "
            f"{f.verdict} ({f.runs} runs){extra}"
        )
    notes = sorted({f"{f.scenario}: {f.note}" for f in figures if f.note})
    for note in notes:
        print(f"  note - {note}")
    print(f"({elapsed:.0f} s)")
    if args.scenario:  # a chosen scenario only
        return 0
    # the Prometheus histogram path (helper J2's module), after the figures above
    from _histogram_scenario import from_canary_judge

    return from_canary_judge([]) or 0


if __name__ == "__main__":
    raise SystemExit(main())
