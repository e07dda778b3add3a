"""Concurrent ingests never lose an update, a raced twin batch counts once, and retention
purges exactly what it should (an injected clock, both databases)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

from rollwise.store import IngestResult, Store, TelemetryPolicy, Tx

from .._support.clock import FakeClock
from ._telemetry import NOW, T0, batch, comparison, series, window

THREADS = 6


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def telemetry_store(database_url: str, clock: FakeClock) -> Iterator[Store]:
    store = Store(database_url, clock=clock)
    with store.transaction("setup") as tx:
        tx.environments.create("production")
        tx.flags.create("checkout", variants=["legacy", "domain"])
    try:
        yield store
    finally:
        store.close()


def _race(work: list[Callable[[], Any]]) -> list[Any]:
    barrier = threading.Barrier(len(work))
    results: list[Any] = [None] * len(work)

    def run(index: int) -> None:
        barrier.wait(10)
        try:
            results[index] = work[index]()
        except Exception as error:  # reported by the assertions below
            results[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(work))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def _ingest(store: Store, sent: Any) -> Callable[[], IngestResult]:
    def work() -> IngestResult:
        return store.retrying("sdk", lambda tx: tx.telemetry.ingest("production", sent))

    return work


def _windows(offset: int) -> list[dict[str, Any]]:
    """Windows that share their 5-minute and hourly buckets, some their 10 s one too."""
    return [
        window(
            T0 + timedelta(seconds=10 * (k % 3)),
            series=[
                series("checkout", "legacy", [0.01 * (offset + 1)] * 5, errors=1),
                series("checkout", "domain", [0.02] * 2, route=f"/r{k}"),
            ],
            usage=[{"flag": "checkout", "variant": "domain", "count": 7}],
            comparisons=[comparison("checkout", "domain", match=3, mismatch=1)],
        )
        for k in range(4)
    ]


def test_concurrent_batches_into_the_same_buckets_lose_nothing(telemetry_store: Store) -> None:
    batches = [batch(*_windows(i)) for i in range(THREADS)]
    results = _race([_ingest(telemetry_store, sent) for sent in batches])
    assert all(isinstance(r, IngestResult) and not r.duplicate for r in results), results
    with telemetry_store.transaction("judge") as tx:
        got = tx.telemetry.variant_window("production", "checkout", T0, T0 + timedelta(hours=1))
        fine = tx.telemetry.variant_window("production", "checkout", T0, T0 + timedelta(seconds=10))
    assert got["legacy"].requests == THREADS * 4 * 5
    assert got["legacy"].errors == THREADS * 4
    assert got["legacy"].latency.count == THREADS * 4 * 5
    assert got["domain"].requests == THREADS * 4 * 2
    assert got["domain"].usage == THREADS * 4 * 7
    assert got["domain"].comparisons == {"match": THREADS * 12, "mismatch": THREADS * 4}
    assert fine["legacy"].requests == THREADS * 2 * 5  # windows k=0 and k=3


def test_a_batch_raced_against_its_twin_counts_once(telemetry_store: Store) -> None:
    sent = batch(*_windows(0))
    results = _race([_ingest(telemetry_store, sent) for _ in range(THREADS)])
    assert all(isinstance(r, IngestResult) for r in results), results
    assert sorted(r.duplicate for r in results) == [False] + [True] * (THREADS - 1)
    with telemetry_store.transaction("judge") as tx:
        got = tx.telemetry.variant_window("production", "checkout", T0, T0 + timedelta(hours=1))
    assert got["legacy"].requests == 4 * 5
    assert got["domain"].usage == 4 * 7


def _totals(tx: Tx, hours: int = 6) -> tuple[int, int]:
    got = tx.telemetry.variant_window("production", "checkout", T0, T0 + timedelta(hours=hours))
    return got["legacy"].requests if got else 0, len(got)


def test_retention_purges_each_resolution_at_its_age(database_url: str, clock: FakeClock) -> None:
    policy = TelemetryPolicy(
        keep_10s=timedelta(days=2),
        keep_5m=timedelta(days=5),
        keep_1h=timedelta(days=10),
        keep_batch_ids=timedelta(days=1),
        keep_samples=timedelta(days=3),
    )
    store = Store(database_url, clock=clock, telemetry=policy)
    with store.transaction("setup") as tx:
        tx.environments.create("production")
        tx.flags.create("checkout", variants=["legacy", "domain"])
    sample = {
        "name": "checkout",
        "flag": "checkout",
        "variant": "domain",
        "primary": "control",
        "outcome": "mismatch",
        "at": T0.timestamp(),
    }
    sent = batch(*_windows(0), samples=[sample])
    with store.transaction("sdk") as tx:
        tx.telemetry.ingest("production", sent)

    def purge() -> dict[str, int]:
        with store.transaction("retention") as tx:
            return tx.telemetry.purge().deleted

    assert set(purge().values()) == {0}
    clock.advance(days=1, hours=1)
    deleted = purge()
    assert deleted["telemetry_batches"] == 1
    assert deleted["request_buckets"] == 0
    with store.transaction("sdk") as tx:  # the id is forgotten, but so old a window is ignored
        again = tx.telemetry.ingest("production", sent)
    assert (again.duplicate, again.windows, again.ignored.windows_too_old) == (False, 0, 4)
    with store.transaction("judge") as tx:
        assert _totals(tx) == (20, 2)
    clock.advance(days=2)  # 3 days: 10 s buckets and samples gone, 5 min and 1 h answer
    deleted = purge()
    assert deleted["request_buckets"] == 3 + 3  # 10 s rows (every route in one): 3 starts each
    assert deleted["mismatch_samples"] == 1
    with store.transaction("judge") as tx:
        assert _totals(tx) == (20, 2)
        assert tx.telemetry.list_mismatch_samples("production") == []
        # an unaligned window is rounded out to the 5-minute buckets still kept
        rounded = tx.telemetry.variant_window(
            "production", "checkout", T0 + timedelta(seconds=15), T0 + timedelta(seconds=25)
        )
    assert rounded["legacy"].requests == 20
    clock.advance(days=3)  # 6 days: only hourly buckets
    purge()
    with store.transaction("judge") as tx:
        assert _totals(tx) == (20, 2)
    clock.advance(days=5)  # 11 days: nothing
    purge()
    with store.transaction("judge") as tx:
        assert _totals(tx) == (0, 0)
    store.close()
