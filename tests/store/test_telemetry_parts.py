"""A maximum-size batch is stored in short transactions (one part each), never blocks other
writes, and is counted exactly once — also when it is retried after failing half-way —
on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from rollwise.core.telemetry import MAX_BATCH_WINDOWS, TelemetryBatch
from rollwise.stats.sketch import LatencySketch
from rollwise.store import Store
from rollwise.store._write_gate import WriteGate
from rollwise.store.tables import telemetry_batch_parts
from rollwise.store.telemetry import TelemetryOperations, parse_batch
from rollwise.store.telemetry._parts import PART_ITEMS, split_batch

from .._support.clock import FakeClock
from ._telemetry import T0, batch, window

SERIES_PER_WINDOW = 200
ROUTES = SERIES_PER_WINDOW // 2
ONE = LatencySketch()
ONE.add(0.01)


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    opened = Store(database_url, clock=FakeClock(T0 + timedelta(hours=1, minutes=1)))
    with opened.transaction("setup") as tx:
        tx.environments.create("production")
        tx.flags.create("checkout", variants=["legacy", "domain"])
        tx.flags.create("other", variants=["off", "on"])
    try:
        yield opened
    finally:
        opened.close()


def _largest_batch(windows: int = MAX_BATCH_WINDOWS) -> TelemetryBatch:
    """The issue's maximum: 360 windows x 200 series (one request each, to stay quick)."""
    latency = ONE.to_dict()
    sent = [
        window(
            T0 + timedelta(seconds=10 * w),
            series=[
                {
                    "flag": "checkout",
                    "variant": variant,
                    "route": f"/r{route}",
                    "requests": 1,
                    "errors": 0,
                    "latency": latency,
                }
                for route in range(ROUTES)
                for variant in ("legacy", "domain")
            ],
        )
        for w in range(windows)
    ]
    return batch(*sent)


def _requests(store: Store) -> int:
    with store.transaction("judge") as tx:
        got = tx.telemetry.variant_window("production", "checkout", T0, T0 + timedelta(hours=1))
    return sum(w.requests for w in got.values())


def _parts_recorded(store: Store) -> int:
    with store.transaction("read") as tx:
        return int(
            tx._conn.execute(select(func.count()).select_from(telemetry_batch_parts)).scalar_one()
        )


TOTAL = MAX_BATCH_WINDOWS * SERIES_PER_WINDOW


@pytest.mark.slow
def test_a_maximum_batch_never_fails_other_writes_and_counts_once(store: Store) -> None:
    sent = _largest_batch()
    parts = split_batch(parse_batch(sent))
    assert len(parts) == TOTAL // PART_ITEMS  # each part is one short transaction
    stop = threading.Event()
    flips: list[int] = []
    failures: list[BaseException] = []

    def flip_kill_switch() -> None:
        enabled = False
        while not stop.is_set():
            try:
                with store.transaction("operator") as tx:
                    tx.flags.set_enabled("other", "production", enabled)
            except Exception as error:  # what the test is about: none may fail
                failures.append(error)
            flips.append(1)
            enabled = not enabled

    flipper = threading.Thread(target=flip_kill_switch)
    flipper.start()
    try:
        first = store.ingest_telemetry("production", sent)
        while len(flips) < 3 and not failures:  # at least a few writes overlapped the end
            stop.wait(0.05)
    finally:
        stop.set()
        flipper.join(120)
    assert failures == []
    assert (first.duplicate, first.windows, first.series) == (False, MAX_BATCH_WINDOWS, TOTAL)
    assert _requests(store) == TOTAL
    assert _parts_recorded(store) == len(parts) - 1  # part 0 is the batch id row itself
    again = store.ingest_telemetry("production", sent)  # the retry of a lost answer
    assert (again.duplicate, again.windows) == (True, 0)
    assert _requests(store) == TOTAL


def test_a_batch_that_failed_half_way_is_completed_by_its_retry(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = _largest_batch(windows=15)  # 3,000 series: 6 parts
    total = 15 * SERIES_PER_WINDOW
    real = TelemetryOperations.store_part
    stored: list[int] = []

    def crash_after_three(self: TelemetryOperations, *args: Any) -> bool:
        if len(stored) == 3:
            raise ConnectionError("the process died here")  # as kill -9: nothing after it
        done = real(self, *args)
        stored.append(1)
        return done

    monkeypatch.setattr(TelemetryOperations, "store_part", crash_after_three)
    with pytest.raises(ConnectionError):
        store.ingest_telemetry("production", sent)
    monkeypatch.setattr(TelemetryOperations, "store_part", real)
    assert _requests(store) == 3 * PART_ITEMS  # three parts were committed, each whole
    retried = store.ingest_telemetry("production", sent)
    assert not retried.duplicate
    assert retried.series == total - 3 * PART_ITEMS  # only what was missing
    assert _requests(store) == total
    assert store.ingest_telemetry("production", sent).duplicate
    with store.transaction("sdk") as tx:  # the one-transaction path records the same parts
        assert tx.telemetry.ingest("production", sent).duplicate
    assert _requests(store) == total


def test_a_window_split_across_parts_counts_as_one_window(store: Store) -> None:
    wide = window(
        T0,
        series=[
            {
                "flag": "checkout",
                "variant": "legacy",
                "route": f"/r{route}",
                "requests": 1,
                "errors": 0,
                "latency": ONE.to_dict(),
            }
            for route in range(PART_ITEMS + 10)
        ],
        usage=[{"flag": "checkout", "variant": "legacy", "count": 5}],
    )
    sent = batch(wide)
    assert len(split_batch(parse_batch(sent))) == 2
    result = store.ingest_telemetry("production", sent)
    assert (result.windows, result.series) == (1, PART_ITEMS + 10)
    with store.transaction("judge") as tx:
        got = tx.telemetry.variant_window("production", "checkout", T0, T0 + timedelta(seconds=10))
    assert (got["legacy"].requests, got["legacy"].usage) == (PART_ITEMS + 10, 5)


def test_writers_of_a_process_take_turns_in_arrival_order() -> None:
    """SQLite's busy handler favours whoever retries first; the gate serves in order, so a
    flag change queued behind one part of a batch runs before the batch's next part."""
    gate = WriteGate()
    order: list[str] = []
    queued = threading.Semaphore(0)

    def writer(name: str) -> None:
        queued.release()
        with gate.held():
            order.append(name)

    with gate.held():  # a part of a batch in progress
        with gate.held():  # re-entrant for its own thread
            pass
        threads: list[threading.Thread] = []
        for name in ("flag change", "next part", "another"):
            thread = threading.Thread(target=writer, args=(name,))
            thread.start()
            queued.acquire()
            deadline = 200  # until it waits on the gate (its ticket is taken under the lock)
            while gate._next_ticket < len(threads) + 2 and deadline:
                threading.Event().wait(0.01)
                deadline -= 1
            threads.append(thread)
    for thread in threads:
        thread.join(30)
    assert order == ["flag change", "next part", "another"]
