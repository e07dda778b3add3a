"""Telemetry ingest and queries on SQLite and PostgreSQL: exact counts, merged quantiles,
idempotent retries, what is ignored and why, sample caps."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from rollwise.errors import ConfigError, NotFoundError
from rollwise.stats.sketch import LatencySketch
from rollwise.store import Store, TelemetryPolicy
from rollwise.store.tables import telemetry_keys

from .._support.clock import FakeClock
from ._telemetry import NOW, T0, batch, comparison, mismatch_sample, series, sketch, window

LEGACY = [0.010, 0.012, 0.011, 0.050, 0.013]
DOMAIN = [0.020, 0.025, 0.300, 0.021]
LATER = [0.015, 0.016, 0.900]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def telemetry_store(database_url: str, clock: FakeClock) -> Iterator[Store]:
    store = Store(database_url, clock=clock)
    with store.transaction("setup") as tx:
        tx.environments.create("production")
        tx.environments.create("staging")
        tx.flags.create("checkout", variants=["legacy", "domain"])
    try:
        yield store
    finally:
        store.close()


def _two_windows() -> list[dict[str, object]]:
    return [
        window(
            T0,
            series=[
                series("checkout", "legacy", LEGACY, errors=1, client_errors=1),
                series("checkout", "domain", DOMAIN, errors=2),
            ],
            usage=[
                {"flag": "checkout", "variant": "legacy", "count": 90},
                {"flag": "checkout", "variant": "domain", "count": 10},
            ],
            comparisons=[comparison("checkout", "domain", match=7, mismatch=2, fallback=1)],
        ),
        window(
            T0 + timedelta(seconds=10),
            series=[series("checkout", "legacy", LATER, route="/pay")],
            usage=[{"flag": "checkout", "variant": "legacy", "count": 5}],
        ),
    ]


def test_ingest_then_window_returns_exactly_what_was_sent(telemetry_store: Store) -> None:
    with telemetry_store.transaction("sdk") as tx:
        result = tx.telemetry.ingest("production", batch(*_two_windows()))
    assert (result.duplicate, result.windows, result.series) == (False, 2, 3)
    assert result.ignored.unknown_flags == []
    with telemetry_store.transaction("judge") as tx:
        got = tx.telemetry.variant_window("production", "checkout", T0, T0 + timedelta(minutes=1))
    assert list(got) == ["domain", "legacy"]
    legacy, domain = got["legacy"], got["domain"]
    assert (legacy.requests, legacy.errors, legacy.client_errors, legacy.usage) == (8, 1, 1, 95)
    assert (domain.requests, domain.errors, domain.usage) == (4, 2, 10)
    assert domain.error_rate == 0.5
    assert (domain.mismatches, domain.fallbacks, domain.compared) == (2, 1, 9)
    assert domain.comparisons == {"match": 7, "mismatch": 2, "fallback": 1}
    assert domain.durations["candidate"].count == 10
    assert domain.durations["candidate"].max_seconds == 0.2
    local = LatencySketch.merged([sketch(LEGACY), sketch(LATER)])
    for q in (0.5, 0.95, 0.99):
        assert legacy.quantile(q) == local.quantile(q)
        assert domain.quantile(q) == sketch(DOMAIN).quantile(q)
    assert legacy.latency.count == 8
    with telemetry_store.transaction("judge") as tx:
        only_pay = tx.telemetry.variant_window(
            "production", "checkout", T0, T0 + timedelta(minutes=1), route="/pay"
        )
        elsewhere = tx.telemetry.variant_window(
            "staging", "checkout", T0, T0 + timedelta(minutes=1)
        )
        second_window = tx.telemetry.variant_window(
            "production", "checkout", T0 + timedelta(seconds=10), T0 + timedelta(seconds=20)
        )
    assert only_pay["legacy"].requests == 3
    assert only_pay["domain"].requests == 0  # usage and comparisons have no route
    assert only_pay["domain"].usage == 10
    assert elsewhere == {}
    assert second_window["legacy"].requests == 3
    assert second_window["legacy"].usage == 5


def test_a_retried_batch_is_acknowledged_and_not_counted_twice(telemetry_store: Store) -> None:
    sent = batch(*_two_windows())
    with telemetry_store.transaction("sdk") as tx:
        assert not tx.telemetry.ingest("production", sent).duplicate
    with telemetry_store.transaction("sdk") as tx:
        again = tx.telemetry.ingest("production", sent)
        other_environment = tx.telemetry.ingest("staging", sent)
    assert again.duplicate
    assert again.windows == 0
    assert not other_environment.duplicate  # ids are per environment
    with telemetry_store.transaction("judge") as tx:
        got = tx.telemetry.variant_window("production", "checkout", T0, T0 + timedelta(hours=1))
    assert got["legacy"].requests == 8
    assert got["legacy"].usage == 95


def test_batches_into_the_same_buckets_add_up(telemetry_store: Store) -> None:
    for _ in range(3):
        with telemetry_store.transaction("sdk") as tx:
            tx.telemetry.ingest("production", batch(*_two_windows()))
    with telemetry_store.transaction("judge") as tx:
        got = tx.telemetry.variant_window("production", "checkout", T0, T0 + timedelta(hours=1))
    assert got["legacy"].requests == 24
    assert got["legacy"].usage == 285
    assert got["domain"].comparisons["mismatch"] == 6
    local = LatencySketch.merged([sketch(LEGACY + LATER) for _ in range(3)])
    assert got["legacy"].latency.to_dict()["bins"] == local.to_dict()["bins"]


def test_every_resolution_answers_the_same_totals(telemetry_store: Store) -> None:
    with telemetry_store.transaction("sdk") as tx:
        tx.telemetry.ingest("production", batch(*_two_windows()))
    with telemetry_store.transaction("judge") as tx:
        # 10 s edges, 5 min and 1 h buckets: the same data whatever the window's shape
        windows = [
            tx.telemetry.variant_window("production", "checkout", start, end)
            for start, end in (
                (T0, T0 + timedelta(seconds=20)),
                (T0, T0 + timedelta(minutes=5)),
                (T0, T0 + timedelta(hours=1)),
                (T0 - timedelta(hours=2), T0 + timedelta(hours=3, seconds=7)),
            )
        ]
    for got in windows:
        assert got["legacy"].requests == 8
        assert got["legacy"].latency.to_dict() == windows[0]["legacy"].latency.to_dict()


def test_a_query_ending_a_fraction_into_a_bucket_reads_that_bucket(
    telemetry_store: Store,
) -> None:
    """``to`` = now, 0.4 s after a bucket began: what arrived last is in the answer (a
    bucket on a step boundary was once dropped by rounding the end down)."""
    late = T0 + timedelta(seconds=30)
    sent = window(
        late,
        series=[series("checkout", "domain", DOMAIN)],
        usage=[{"flag": "checkout", "variant": "domain", "count": 4}],
    )
    with telemetry_store.transaction("sdk") as tx:
        tx.telemetry.ingest("production", batch(*_two_windows(), sent))
    end = late + timedelta(seconds=0.4)
    with telemetry_store.transaction("read") as tx:
        judged = tx.telemetry.variant_window("production", "checkout", T0, end)
        plan = tx.telemetry.plan_series(end - timedelta(hours=1), end)
        charted = {
            s.variant: s for s in tx.telemetry.variant_series("production", "checkout", plan)
        }
        exact = tx.telemetry.variant_window("production", "checkout", T0, late)
    assert (judged["domain"].requests, judged["domain"].usage) == (8, 14)
    assert sum(point.requests for point in charted["domain"].points) == 8
    assert sum(point.usage for point in charted["domain"].points) == 14
    assert exact["domain"].requests == 4  # an end exactly on the boundary excludes it


def test_unknown_flags_and_variants_are_ignored_and_named(telemetry_store: Store) -> None:
    sent = batch(
        window(
            T0,
            series=[
                series("checkout", "legacy", LEGACY),
                series("nope", "on", LEGACY),
                series("checkout", "removed", LEGACY),
            ],
            usage=[{"flag": "ghost", "variant": "x", "count": 3}],
        ),
        samples=[
            {
                "name": "ghost",
                "flag": "ghost",
                "variant": "x",
                "primary": "control",
                "outcome": "mismatch",
                "at": T0.timestamp(),
            }
        ],
    )
    with telemetry_store.transaction("sdk") as tx:
        result = tx.telemetry.ingest("production", sent)
    assert result.series == 1
    assert result.ignored.series == 2
    assert result.ignored.usage == 1
    assert result.ignored.samples == 1
    assert result.ignored.unknown_flags == ["ghost", "nope"]
    assert result.ignored.unknown_variants == ["checkout/removed"]
    with telemetry_store.transaction("judge") as tx:
        registered = tx._conn.execute(select(telemetry_keys.c.flag)).scalars().all()
        assert set(registered) == {"checkout"}  # unknown flags register no route either
        assert tx.telemetry.variant_window("production", "nope", T0, T0 + timedelta(hours=1)) == {}
        assert list(
            tx.telemetry.variant_window("production", "checkout", T0, T0 + timedelta(hours=1))
        ) == ["legacy"]


def test_routes_beyond_the_cap_are_folded_into_other(database_url: str, clock: FakeClock) -> None:
    store = Store(database_url, clock=clock, telemetry=TelemetryPolicy(max_routes_per_flag=2))
    with store.transaction("setup") as tx:
        tx.environments.create("production")
        tx.flags.create("checkout", variants=["legacy", "domain"])
    routes = ["/a", "/b", "/c", "/d"]
    with store.transaction("sdk") as tx:
        result = tx.telemetry.ingest(
            "production",
            batch(
                window(T0, series=[series("checkout", "legacy", [0.01], route=r) for r in routes])
            ),
        )
    with store.transaction("sdk") as tx:
        tx.telemetry.ingest(
            "production",
            batch(window(T0, series=[series("checkout", "legacy", [0.01], route="/a")])),
        )
    assert result.ignored.folded_routes == 2
    end = T0 + timedelta(minutes=1)
    with store.transaction("judge") as tx:
        by_route = {
            route: tx.telemetry.variant_window("production", "checkout", T0, end, route=route)
            for route in ("/a", "/b", "/c", "~other")
        }
        total = tx.telemetry.variant_window("production", "checkout", T0, end)["legacy"].requests
    store.close()
    assert by_route["/a"]["legacy"].requests == 2
    assert by_route["/b"]["legacy"].requests == 1
    assert by_route["/c"] == {}
    assert by_route["~other"]["legacy"].requests == 2
    assert total == 5


def test_windows_too_old_or_in_the_future_are_ignored(
    telemetry_store: Store, clock: FakeClock
) -> None:
    now = clock.now
    sent = batch(
        window(now - timedelta(days=1, minutes=1), series=[series("checkout", "legacy", [0.1])]),
        window(now + timedelta(hours=1), series=[series("checkout", "legacy", [0.1])]),
        window(now - timedelta(hours=23), series=[series("checkout", "legacy", [0.1])]),
    )
    with telemetry_store.transaction("sdk") as tx:
        result = tx.telemetry.ingest("production", sent)
    assert (result.ignored.windows_too_old, result.ignored.windows_in_future) == (1, 1)
    assert result.windows == 1


def test_invalid_batches_name_the_field_and_store_nothing(telemetry_store: Store) -> None:
    bad_sketch = series("checkout", "legacy", LEGACY)
    bad_sketch["latency"] = {**bad_sketch["latency"], "count": 999}
    too_many_errors = series("checkout", "legacy", LEGACY, errors=4, client_errors=2)
    other_accuracy = series("checkout", "legacy", LEGACY)
    other_accuracy["latency"] = LatencySketch(0.02).to_dict()
    for broken, path in (
        (bad_sketch, "windows.0.series.1.latency"),
        (too_many_errors, "windows.0.series.1.errors"),
        (other_accuracy, "windows.0.series.1.latency"),
    ):
        sent = batch(window(T0, series=[series("checkout", "domain", DOMAIN), broken]))
        with telemetry_store.transaction("sdk") as tx, pytest.raises(ConfigError) as error:
            tx.telemetry.ingest("production", sent)
        assert error.value.path == path
    with telemetry_store.transaction("sdk") as tx, pytest.raises(NotFoundError):
        tx.telemetry.ingest("nowhere", batch(*_two_windows()))
    with telemetry_store.transaction("judge") as tx:
        assert (
            tx.telemetry.variant_window("production", "checkout", T0, T0 + timedelta(hours=1)) == {}
        )


def test_mismatch_samples_keep_the_latest_per_name(database_url: str, clock: FakeClock) -> None:
    store = Store(database_url, clock=clock, telemetry=TelemetryPolicy(samples_per_name=3))
    with store.transaction("setup") as tx:
        tx.environments.create("production")
        tx.flags.create("checkout", variants=["legacy", "domain"])
    for first in (0, 2, 4):
        samples = [
            mismatch_sample(first),
            mismatch_sample(first + 1),
            mismatch_sample(first, name="other-name"),
        ]
        with store.transaction("sdk") as tx:
            assert tx.telemetry.ingest("production", batch(samples=samples)).samples == 3
    with store.transaction("read") as tx:
        kept = tx.telemetry.list_mismatch_samples("production", name="checkout")
        other = tx.telemetry.list_mismatch_samples("production", name="other-name")
    store.close()
    assert [s.input for s in kept] == [{"order": 5}, {"order": 4}, {"order": 3}]
    assert kept[0].candidate == {"value": -5}
    assert kept[0].at == T0 + timedelta(seconds=5)
    assert kept[0].instance == "host-1:123"
    assert len(other) == 3


def test_reporting_stats_count_batches_instances_and_drops(
    telemetry_store: Store, clock: FakeClock
) -> None:
    for instance, dropped in (("a", 0), ("b", 2), ("a", 1)):
        sent = batch(instance=instance, dropped={"batches": dropped, "windows": 3 * dropped})
        with telemetry_store.transaction("sdk") as tx:
            tx.telemetry.ingest("production", sent)
    with telemetry_store.transaction("read") as tx:
        stats = tx.telemetry.reporting_stats("production", clock.now - timedelta(minutes=5))
        none = tx.telemetry.reporting_stats("staging", clock.now - timedelta(minutes=5))
    assert (stats.batches, stats.instances, stats.dropped_batches, stats.dropped_windows) == (
        3,
        2,
        3,
        9,
    )
    assert stats.last_report_at == clock.now
    assert (none.batches, none.last_report_at) == (0, None)
