"""Process gates (cpu, memory, throughput): their shape, their verdicts with evidence, and
the whole path from ingested process samples on SQLite and PostgreSQL to a step decision."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from rollwise.analysis import Decision, MetricQuery, judge_step
from rollwise.analysis.data import CustomValue, VariantMetrics, WindowCounts
from rollwise.analysis.process_gates import NO_PROCESS_DATA, judge_process, settled_throughput
from rollwise.analysis.providers import default_registry
from rollwise.analysis.providers.prometheus import PrometheusConfig, PrometheusProvider
from rollwise.controller.provider import store_process_reader, store_window_reader
from rollwise.core.gates import Gate, GateMetric, Verdict
from rollwise.errors import ConfigError
from rollwise.store import Store

from .._support.clock import FakeClock
from ..store._telemetry import NOW, T0, batch, series, window

FLAG = "camera-release"


def sampled(start: datetime, process: dict[str, Any] | None = None, **parts: Any) -> dict[str, Any]:
    """A wire window, with a process sample when given."""
    found = window(start, **parts)
    return found if process is None else {**found, "process": process}


CPU = Gate(metric=GateMetric.CPU, max=80)
MEMORY = Gate(metric=GateMetric.MEMORY, max=85, aggregate="max")
THROUGHPUT = Gate(metric=GateMetric.THROUGHPUT, min=5)
FLOOR = Gate(name="floor", metric=GateMetric.THROUGHPUT, min=1.5)


# -- the shape ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"metric": "cpu", "max": 120}, "percent"),
        ({"metric": "memory", "min": -1}, "percent"),
        ({"metric": "cpu", "max_increase": 0.1}, "absolute bounds only"),
        ({"metric": "throughput", "max_difference": 1}, "absolute bounds only"),
        ({"metric": "throughput", "min": -2}, ">= 0"),
        ({"metric": "throughput", "min": 5, "aggregate": "max"}, "only for cpu and memory"),
        ({"metric": "error_rate", "max": 0.1, "aggregate": "max"}, "only for cpu and memory"),
    ],
)
def test_process_gates_refuse_bounds_they_cannot_mean(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Gate.model_validate(fields)


def test_process_gates_say_which_way_is_worse() -> None:
    assert CPU.worse_when_higher
    assert MEMORY.worse_when_higher
    assert not THROUGHPUT.worse_when_higher
    assert all(g.metric.is_process for g in (CPU, MEMORY, THROUGHPUT))
    assert not GateMetric.ERROR_RATE.is_process


# -- verdicts on the canary ---------------------------------------------------------------


def _canary(**custom: CustomValue) -> VariantMetrics:
    return VariantMetrics("v2", requests=100, custom=custom)


def test_cpu_above_its_max_fails_with_observed_and_threshold() -> None:
    result = judge_process(CPU, _canary(cpu=CustomValue(91.5, 12)))
    assert result.verdict is Verdict.FAIL
    assert "above the max 80%" in result.reason
    assert result.evidence["observed"] == 91.5
    assert result.evidence["aggregate"] == "mean"
    assert result.evidence["checks"][0]["threshold"] == 80.0
    assert result.evidence["samples"] == 12


def test_memory_within_its_max_passes() -> None:
    result = judge_process(MEMORY, _canary(memory=CustomValue(40.0, 3)))
    assert result.verdict is Verdict.PASS
    assert result.evidence["checks"][0]["observed"] == 40.0


def test_no_process_sample_is_no_data_never_a_pass() -> None:
    result = judge_process(CPU, _canary())
    assert result.verdict is Verdict.NO_DATA
    assert result.reason == NO_PROCESS_DATA
    few = Gate(metric=GateMetric.CPU, max=80, min_samples=5)
    assert judge_process(few, _canary(cpu=CustomValue(10, 4))).verdict is Verdict.NO_DATA


def _windows(requests: list[int], seconds: int = 60, open_seconds: int = 5) -> tuple[Any, ...]:
    found = []
    for index, count in enumerate(requests):
        start = T0 + timedelta(seconds=seconds * index)
        found.append(WindowCounts(start, start + timedelta(seconds=seconds), count))
    last = found[-1].end
    found.append(WindowCounts(last, last + timedelta(seconds=open_seconds), 0))
    return tuple(found)


def test_throughput_counts_only_settled_full_windows() -> None:
    windows = _windows([600, 300, 60], open_seconds=5)
    # the last full window ended 5 s before the look: not settled yet
    rate, settled, seconds = settled_throughput(windows)
    assert (rate, settled, seconds) == (7.5, 2, 120.0)


def test_throughput_below_its_floor_fails_and_above_passes() -> None:
    slow = VariantMetrics("v2", requests=120, windows=_windows([60, 60], open_seconds=30))
    fast = VariantMetrics("v2", requests=900, windows=_windows([600, 300], open_seconds=30))
    failed = judge_process(THROUGHPUT, slow)
    assert failed.verdict is Verdict.FAIL
    assert failed.evidence["observed"] == 1.0
    assert "below the min 5/s" in failed.reason
    assert judge_process(THROUGHPUT, fast).verdict is Verdict.PASS


def test_throughput_before_a_settled_window_is_no_data() -> None:
    start = WindowCounts(T0, T0 + timedelta(seconds=40), 10)
    young = VariantMetrics("v2", requests=10, windows=(start,))
    assert judge_process(THROUGHPUT, young).verdict is Verdict.NO_DATA
    assert judge_process(THROUGHPUT, VariantMetrics("v2", requests=10)).verdict is (Verdict.NO_DATA)


# -- from stored samples to a decision (SQLite and PostgreSQL) ---------------------------


@pytest.fixture
def process_store(database_url: str) -> Iterator[Store]:
    store = Store(database_url, clock=FakeClock(NOW))
    with store.transaction("setup") as tx:
        tx.environments.create("production")
        tx.flags.create(FLAG, variants=["v1", "v2"])
    try:
        yield store
    finally:
        store.close()


def _report(store: Store, minutes: int, cpu: dict[str, list[float]]) -> None:
    """``minutes`` of 10-second windows: 20 requests per window for each release, and one
    process sample per instance of each release (its CPU percent), 30% memory."""
    for index in range(minutes * 6):
        start = T0 + timedelta(seconds=10 * index)
        for variant, instances in cpu.items():
            for number, percent in enumerate(instances):
                process = {
                    "flag": FLAG,
                    "variant": variant,
                    "cpu_percent": percent,
                    "memory_percent": 30.0,
                    "rss_bytes": 200_000_000,
                }
                traffic = [series(FLAG, variant, [0.01] * 20)] if number == 0 else []
                with store.transaction("sdk") as tx:
                    tx.telemetry.ingest(
                        "production", batch(sampled(start, series=traffic, process=process))
                    )


def _decide(store: Store, gates: tuple[Gate, ...]) -> Any:
    """What the controller does: its registry's builtin provider, bound to the store's
    windows and process samples, then the judge."""
    registry = default_registry(
        window_reader=store_window_reader(store), process_reader=store_process_reader(store)
    )
    provider = registry.build({"type": "builtin"})
    provider.validate_gates(gates)
    query = MetricQuery(FLAG, "production", "v2", "v1", T0, T0 + timedelta(minutes=3), gates)
    answer = provider.fetch(query)
    judgement = judge_step(gates, answer.baseline, answer.canary, min_samples=10, bake_elapsed=True)
    return judgement, dict(answer.missing)


def test_a_busy_candidate_is_rolled_back_with_its_cpu_as_evidence(
    process_store: Store,
) -> None:
    _report(process_store, 3, {"v1": [20.0, 30.0], "v2": [85.0, 95.0]})
    judgement, missing = _decide(process_store, (CPU, MEMORY, FLOOR))
    assert missing == {}
    assert judgement.decision is Decision.ROLLBACK
    (failed,) = judgement.failed
    assert failed.gate == "cpu"
    assert failed.evidence["observed"] == pytest.approx(90.0)
    assert failed.evidence["samples"] == 36  # 2 instances x 18 windows
    assert failed.evidence["checks"][0]["threshold"] == 80.0


def test_a_calm_candidate_passes_every_process_gate(process_store: Store) -> None:
    _report(process_store, 3, {"v1": [20.0], "v2": [40.0, 50.0]})
    judgement, _ = _decide(process_store, (CPU, MEMORY, FLOOR))
    assert judgement.decision is Decision.PROMOTE, judgement.summary
    by_gate = {g.gate: g for g in judgement.gates}
    assert by_gate["cpu"].evidence["observed"] == pytest.approx(45.0)
    assert by_gate["memory"].evidence["observed"] == pytest.approx(30.0)
    # 20 requests per 10 s over the two settled minutes (the third is still arriving)
    assert by_gate["floor"].evidence["observed"] == pytest.approx(2.0)
    assert by_gate["floor"].evidence["settled_windows"] == 2


def test_a_candidate_without_process_samples_is_no_data(process_store: Store) -> None:
    _report(process_store, 3, {"v1": [20.0]})  # only the baseline samples itself
    with process_store.transaction("sdk") as tx:
        for index in range(18):
            start = T0 + timedelta(seconds=10 * index)
            tx.telemetry.ingest(
                "production", batch(sampled(start, series=[series(FLAG, "v2", [0.01] * 20)]))
            )
    judgement, missing = _decide(process_store, (CPU,))
    assert missing == {"cpu": NO_PROCESS_DATA}
    assert judgement.decision is Decision.NO_DATA  # the controller applies on_no_data
    assert NO_PROCESS_DATA in judgement.summary


def test_a_builtin_provider_without_a_process_reader_says_no_process_data(
    process_store: Store,
) -> None:
    _report(process_store, 1, {"v1": [20.0], "v2": [30.0]})
    provider = default_registry(window_reader=store_window_reader(process_store)).build(
        {"type": "builtin"}
    )
    query = MetricQuery(FLAG, "production", "v2", "v1", T0, T0 + timedelta(minutes=1), (CPU,))
    answer = provider.fetch(query)
    assert answer.missing == {"cpu": NO_PROCESS_DATA}
    assert judge_process(CPU, answer.canary).verdict is Verdict.NO_DATA


def test_the_prometheus_provider_refuses_cpu_and_memory_gates() -> None:
    provider = PrometheusProvider(PrometheusConfig(url="http://127.0.0.1:9"))
    try:
        with pytest.raises(ConfigError, match="no process samples"):
            provider.validate_gates([CPU])
        provider.validate_gates([THROUGHPUT])  # judged from per-window counts: fine
    finally:
        provider.close()
