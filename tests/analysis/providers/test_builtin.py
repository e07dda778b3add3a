"""The builtin provider over a real store (SQLite and PostgreSQL): ingest telemetry batches,
read them back through the provider, judge them."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta

import pytest

from rollwise.analysis import ComparisonCounts, Decision, MetricQuery, judge_step
from rollwise.analysis.providers import (
    BuiltinProvider,
    WindowReader,
    comparison_counts,
    default_registry,
)
from rollwise.core.gates import Gate
from rollwise.errors import ConfigError, NoDataError
from rollwise.stats.sketch import LatencySketch
from rollwise.store import Store
from rollwise.store.telemetry.types import VariantWindow

from ..._support.clock import FakeClock
from ...store._telemetry import NOW, T0, batch, comparison, series, sketch, window

LEGACY = [0.010, 0.012, 0.011, 0.050, 0.013]
DOMAIN = [0.020, 0.025, 0.300, 0.021]
LATER = [0.015, 0.016, 0.900]


@pytest.fixture
def telemetry_store(database_url: str) -> Iterator[Store]:
    store = Store(database_url, clock=FakeClock(NOW))
    with store.transaction("setup") as tx:
        tx.environments.create("production")
        tx.flags.create("checkout", variants=["legacy", "domain"])
    try:
        yield store
    finally:
        store.close()


def reader(store: Store) -> WindowReader:
    """What the controller wires: the store's window query in a transaction of its own."""

    def read(
        environment: str, flag: str, start: datetime, end: datetime
    ) -> Mapping[str, VariantWindow]:
        with store.transaction("judge") as tx:
            return tx.telemetry.variant_window(environment, flag, start, end)

    return read


def ingest(store: Store, *windows: dict[str, object]) -> None:
    with store.transaction("sdk") as tx:
        result = tx.telemetry.ingest("production", batch(*windows))
    assert result.ignored.unknown_flags == []


def query(**changes: object) -> MetricQuery:
    fields: dict[str, object] = {
        "flag": "checkout",
        "environment": "production",
        "canary": "domain",
        "baseline": "legacy",
        "start": T0,
        "end": T0 + timedelta(minutes=1),
        **changes,
    }
    return MetricQuery(**fields)  # type: ignore[arg-type]


def test_counts_latencies_and_comparisons_come_from_the_ingested_windows(
    telemetry_store: Store,
) -> None:
    ingest(
        telemetry_store,
        window(
            T0,
            series=[
                series("checkout", "legacy", LEGACY, errors=1, client_errors=1),
                series("checkout", "domain", DOMAIN, errors=2),
            ],
            comparisons=[
                comparison(
                    "checkout",
                    "domain",
                    match=7,
                    mismatch=2,
                    candidate_error=1,
                    fallback=1,
                    control_error=3,
                    skipped_sampling=5,
                )
            ],
        ),
        window(
            T0 + timedelta(seconds=10), series=[series("checkout", "legacy", LATER, route="/p")]
        ),
        window(T0 + timedelta(minutes=2), series=[series("checkout", "domain", [1.0] * 50)]),
    )
    metrics = BuiltinProvider(reader(telemetry_store)).fetch(query())
    legacy, domain = metrics.baseline, metrics.canary
    assert legacy is not None
    assert (legacy.requests, legacy.errors, legacy.client_errors) == (8, 1, 1)
    assert (domain.requests, domain.errors, domain.client_errors) == (4, 2, 0)
    assert domain.comparisons == ComparisonCounts(total=11, mismatches=4, fallbacks=1)
    assert legacy.comparisons == ComparisonCounts()
    expected = LatencySketch.merged([sketch(LEGACY), sketch(LATER)])
    assert legacy.latency is not None
    assert domain.latency is not None
    assert legacy.latency.quantiles([0.5, 0.95]) == expected.quantiles([0.5, 0.95])
    assert domain.latency.count == 4  # the window two minutes later is outside the step
    assert metrics.source == {"provider": "builtin"}
    assert metrics.missing == {}


def test_a_canary_without_requests_is_no_data(telemetry_store: Store) -> None:
    ingest(telemetry_store, window(T0, series=[series("checkout", "legacy", LEGACY)]))
    provider = BuiltinProvider(reader(telemetry_store))
    with pytest.raises(NoDataError, match="canary 'domain'") as raised:
        provider.fetch(query())
    assert raised.value.details["provider"] == "builtin"
    with pytest.raises(NoDataError):
        provider.fetch(query(flag="unknown-flag"))
    with pytest.raises(NoDataError, match="empty"):
        provider.fetch(query(end=T0))


def test_a_baseline_without_requests_is_empty_and_blue_green_has_none(
    telemetry_store: Store,
) -> None:
    ingest(telemetry_store, window(T0, series=[series("checkout", "domain", DOMAIN)]))
    provider = BuiltinProvider(reader(telemetry_store))
    metrics = provider.fetch(query())
    assert metrics.baseline is not None
    assert (metrics.baseline.requests, metrics.baseline.latency) == (0, None)
    assert provider.fetch(query(baseline=None)).baseline is None


def test_custom_gates_are_reported_missing_and_refused_up_front(telemetry_store: Store) -> None:
    ingest(telemetry_store, window(T0, series=[series("checkout", "domain", DOMAIN)]))
    provider = BuiltinProvider(reader(telemetry_store))
    gates = (
        Gate(metric="error_rate", max=0.5),
        Gate(name="revenue", metric="custom", query="sum(x)", min=1),
    )
    metrics = provider.fetch(query(gates=gates))
    assert "prometheus" in metrics.missing["revenue"]
    judgement = judge_step(gates, None, metrics.canary, min_samples=1, bake_elapsed=True)
    assert judgement.decision is Decision.NO_DATA
    with pytest.raises(ConfigError) as raised:
        provider.validate_gates(gates)
    assert raised.value.path == "gates.1.metric"
    assert "revenue" in raised.value.reason
    provider.validate_gates(gates[:1])


def test_a_failing_canary_is_rolled_back_from_store_data(telemetry_store: Store) -> None:
    ingest(
        telemetry_store,
        *[
            window(
                T0 + timedelta(seconds=10 * k),
                series=[
                    series("checkout", "legacy", [0.01] * 200, errors=2),
                    series("checkout", "domain", [0.01] * 50, errors=5),
                ],
            )
            for k in range(5)
        ],
    )
    provider = default_registry(window_reader=reader(telemetry_store)).build({"type": "builtin"})
    metrics = provider.fetch(query())
    assert metrics.canary.requests == 250
    gates = [Gate(metric="error_rate", max_increase=0.2)]
    judgement = judge_step(
        gates, metrics.baseline, metrics.canary, min_samples=100, bake_elapsed=False
    )
    assert judgement.decision is Decision.ROLLBACK


def test_comparison_outcomes_map_to_trials_and_bad_events() -> None:
    assert comparison_counts({}) == ComparisonCounts()
    assert comparison_counts(
        {"match": 90, "mismatch": 4, "candidate_error": 3, "fallback": 2, "control_error": 9}
    ) == ComparisonCounts(total=99, mismatches=9, fallbacks=2)
    assert comparison_counts({"skipped_sampling": 10, "comparator_error": 1}).total == 0


def test_each_variant_gets_per_window_counts_fixed_from_the_step_start(
    telemetry_store: Store,
) -> None:
    # two minutes and a half of traffic: windows [0, 60), [60, 120), [120, 150) seconds
    ingest(
        telemetry_store,
        window(T0, series=[series("checkout", "legacy", [0.01] * 9, errors=1)]),
        window(
            T0 + timedelta(seconds=70),
            series=[
                series("checkout", "legacy", [0.01] * 5),
                series("checkout", "domain", [0.01] * 3, errors=2),
            ],
        ),
        window(T0 + timedelta(seconds=130), series=[series("checkout", "domain", [0.01] * 4)]),
    )
    calls: list[tuple[datetime, datetime]] = []
    read = reader(telemetry_store)

    def counting(
        environment: str, flag: str, start: datetime, end: datetime
    ) -> Mapping[str, VariantWindow]:
        calls.append((start, end))
        return read(environment, flag, start, end)

    provider = BuiltinProvider(counting, settle_seconds=60)
    end = T0 + timedelta(seconds=150)
    metrics = provider.fetch(query(end=end))
    legacy, domain = metrics.baseline, metrics.canary
    assert legacy is not None
    assert legacy.windows is not None
    assert domain.windows is not None
    bounds = [(w.start, w.end) for w in domain.windows]
    assert bounds == [(w.start, w.end) for w in legacy.windows]
    assert bounds == [
        (T0, T0 + timedelta(seconds=60)),
        (T0 + timedelta(seconds=60), T0 + timedelta(seconds=120)),
        (T0 + timedelta(seconds=120), end),
    ]
    assert [(w.requests, w.errors) for w in legacy.windows] == [(9, 1), (5, 0), (0, 0)]
    assert [(w.requests, w.errors) for w in domain.windows] == [(0, 0), (3, 2), (4, 0)]
    assert sum(w.requests for w in domain.windows) == domain.requests
    assert metrics.summary()["canary"]["windows"] == 3
    # the first window closed more than settle_seconds before the look: read once, then cached
    calls.clear()
    provider.fetch(query(end=end))
    assert (T0, T0 + timedelta(seconds=60)) not in calls
