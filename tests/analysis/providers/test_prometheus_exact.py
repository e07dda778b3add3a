"""Exact counts, per-window counts and honest histogram buckets, against a real Prometheus.

The prometheus provider must never give the judge more evidence than there was: counts are
the requests served between two scrapes (``increase()`` would extrapolate them to the
window's edges), and a histogram bucket counts as "above" a latency threshold only when the
whole bucket is (placing it at its upper bound rolled back a healthy canary).
"""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from rollwise.analysis import Decision, judge_step
from rollwise.analysis.providers import PrometheusProvider
from rollwise.analysis.providers.prometheus._histogram import (
    HistogramSketch,
    sketch_from_buckets,
)
from rollwise.core.gates import Gate
from rollwise.stats.quantiles import count_above, quantile_upper_bound

from ._prometheus import PASSWORD, USERNAME, PrometheusServer, Step, config, instant, record

pytestmark = pytest.mark.slow  # a real Prometheus, waits on real scrapes


def _increase(prometheus: PrometheusServer, flag: str, window: str, at: str) -> float:
    """What ``sum(increase(...))`` says over the same window (the old way of counting)."""
    with httpx.Client(base_url=prometheus.url, auth=(USERNAME, PASSWORD), timeout=10) as http:
        body = http.post(
            "/api/v1/query",
            data={
                "query": f'sum(increase(rollwise_requests_total{{flag="{flag}"}}[{window}]))',
                "time": at,
            },
        ).json()
    return float(body["data"]["result"][0]["value"][1])


def test_counts_are_the_requests_between_scrapes_never_extrapolated(
    step: Step, provider: PrometheusProvider
) -> None:
    step.warm_up("domain")
    record(step.recorder, step.flag, "domain", {0.01: 500}, errors=50)
    first = step.burst(500)  # a scrape showing the first 500
    step.warm += 500
    step.before = first
    record(step.recorder, step.flag, "domain", {0.01: 1000}, errors=100)
    second = step.burst(1000)
    # a look whose edges fall between scrapes: 0.3 s before the first, 0.3 s after the last
    start = instant(first) - timedelta(milliseconds=300)
    end = instant(second) + timedelta(milliseconds=300)
    metrics = provider.fetch(step.query(start=start, end=end, baseline=None))
    assert (metrics.canary.requests, metrics.canary.errors) == (1000, 100)
    # increase() stretches the same scrapes to the window's edges: more than was served
    window, at = metrics.source["window"], metrics.source["time"]
    assert _increase(step.prometheus, step.flag, window, at) > 1000.5


def test_per_window_counts_follow_the_scrapes_and_add_up(
    step: Step, prometheus: PrometheusServer
) -> None:
    step.warm_up("legacy", "domain")
    record(step.recorder, step.flag, "domain", {0.01: 100}, errors=10)
    record(step.recorder, step.flag, "legacy", {0.01: 300}, errors=3)
    first = step.burst(400)
    step.warm += 400
    record(step.recorder, step.flag, "domain", {0.01: 50}, errors=20)
    record(step.recorder, step.flag, "legacy", {0.01: 500}, errors=5)
    second = step.prometheus.scrape_with_total(step.flag, step.warm + 550, after=first)
    step.after = second
    # the first window ends half a second after the first burst's scrape: the second
    # burst's scrape falls in a later window
    length = round(first - step.before + 0.5, 3)
    windowed = PrometheusProvider(config(prometheus, window_seconds=length))
    try:
        metrics = windowed.fetch(step.query())
    finally:
        windowed.close()
    domain, legacy = metrics.canary, metrics.baseline
    assert legacy is not None
    assert domain.windows is not None
    assert legacy.windows is not None
    assert [(w.start, w.end) for w in domain.windows] == [(w.start, w.end) for w in legacy.windows]
    assert domain.windows[0].start == instant(step.before)
    assert domain.windows[-1].end == instant(second)
    assert (domain.windows[0].requests, domain.windows[0].errors) == (100, 10)
    assert (legacy.windows[0].requests, legacy.windows[0].errors) == (300, 3)
    # (a scrape may fall while a burst is being recorded: it can span two later windows)
    assert sum(w.requests for w in domain.windows[1:]) == 50
    assert sum(w.errors for w in domain.windows[1:]) == 20
    assert sum(w.requests for w in legacy.windows[1:]) == 500
    assert (domain.requests, domain.errors) == (150, 30)
    assert (legacy.requests, legacy.errors) == (800, 8)


# -- latency through the histogram: each use takes the conservative edge -----------------

# Baseline: p95 22 ms, in the bucket (10 ms, 25 ms]. Canary at 1.2x: p95 26.4 ms, within
# a "p95 <= 1.5x baseline" gate (33 ms); none of it above 37.5 ms (1.5x the bucket's bound).
BASELINE = {0.012: 8100, 0.022: 720, 0.030: 180}
HEALTHY = {round(1.2 * seconds, 6): count // 9 for seconds, count in BASELINE.items()}
SLOW = {round(3.0 * seconds, 6): count // 9 for seconds, count in BASELINE.items()}
P95_GATE = Gate(metric="latency_p95", max_increase=0.5)


def _judge(step: Step, provider: PrometheusProvider, canary: dict[float, int]) -> object:
    step.warm_up("legacy", "domain")
    total = record(step.recorder, step.flag, "legacy", BASELINE)
    total += record(step.recorder, step.flag, "domain", canary)
    step.burst(total)
    metrics = provider.fetch(step.query())
    assert metrics.baseline is not None
    return judge_step(
        [P95_GATE], metrics.baseline, metrics.canary, min_samples=100, bake_elapsed=True
    )


def test_a_healthy_canary_is_not_rolled_back_on_histogram_buckets(
    step: Step, provider: PrometheusProvider
) -> None:
    judgement = _judge(step, provider, HEALTHY)
    assert judgement.decision is Decision.HOLD, judgement.summary  # type: ignore[attr-defined]
    check = judgement.gates[0].evidence["checks"][0]  # type: ignore[attr-defined]
    # the threshold (1.5 x 25 ms) falls inside the bucket (25 ms, 50 ms]: its values may
    # all be faster, so none counts as above it (placed at 50 ms, 10% of them did)
    assert check["latency_threshold"] == pytest.approx(0.0375)
    assert check["share_above"] == 0.0


def test_a_slow_canary_is_still_rolled_back_on_histogram_buckets(
    step: Step, provider: PrometheusProvider
) -> None:
    judgement = _judge(step, provider, SLOW)
    assert judgement.decision is Decision.ROLLBACK, judgement.summary  # type: ignore[attr-defined]


def test_histogram_sketch_counts_whole_buckets_in_each_direction() -> None:
    sketch = sketch_from_buckets([(0.01, 10), (0.025, 60), (0.05, 90), (float("inf"), 100)])
    assert isinstance(sketch, HistogramSketch)
    assert sketch.intervals() == [
        (0.0, 0.01, 10),
        (0.01, 0.025, 50),
        (0.025, 0.05, 30),
        (0.05, float("inf"), 10),
    ]
    # above: only whole buckets past the threshold
    assert count_above(sketch, 0.0375) == 10
    assert count_above(sketch, 0.025) == 40
    # at most: only whole buckets below the bound (90 of 100 are at most 50 ms)
    upper = quantile_upper_bound(sketch, 0.5, 0.05)
    assert upper == pytest.approx(0.05)
    # estimates: each bucket at its upper bound
    assert sketch.quantile(0.5) == pytest.approx(0.025, rel=0.011)
    # merging and copying keep the intervals
    both = sketch.copy()
    both.merge(sketch)
    assert isinstance(both, HistogramSketch)
    assert both.count == 200
    assert count_above(both, 0.0375) == 20
    assert both.intervals()[1] == (0.01, 0.025, 100)
