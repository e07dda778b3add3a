"""RequestRecorder under threads (exact counts) and across a real fork()."""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from typing import Any

from rollwise.sdk.recorder import ClosedWindow, RequestRecorder, SeriesKey

from .._support.clock import FakeClock
from .._support.fork import Send, forked
from ._support import totals_counts

THREADS = 8
PER_THREAD = 20_000
KEYS: list[SeriesKey] = [("f", "on", ""), ("f", "off", ""), ("g", "on", "/r")]


def test_exact_counts_under_concurrent_threads_while_windows_rotate_and_drain() -> None:
    ticks = itertools.count()
    # every clock read moves time by 1 ms: windows close all the time, from every thread
    recorder = RequestRecorder(window_seconds=1, clock=lambda: 1_700_000_000 + next(ticks) / 1000)
    start = threading.Barrier(THREADS + 1)
    drained: list[ClosedWindow] = []
    done = threading.Event()

    def work(worker: int) -> None:
        start.wait()
        for index in range(PER_THREAD):
            flag, variant, route = KEYS[(worker + index) % len(KEYS)]
            status = 500 if index % 10 == 0 else 404 if index % 10 == 1 else 200
            recorder.record(flag, variant, 0.001 * (1 + index % 100), status, route)

    def reader() -> None:
        start.wait()
        while not done.is_set():
            drained.extend(recorder.drain())
            recorder.totals()

    workers = [threading.Thread(target=work, args=(n,)) for n in range(THREADS)]
    drainer = threading.Thread(target=reader)
    for thread in [*workers, drainer]:
        thread.start()
    for thread in workers:
        thread.join()
    done.set()
    drainer.join()
    drained.extend(recorder.drain(include_open=True))

    expected: Counter[SeriesKey] = Counter()
    for worker in range(THREADS):
        for index in range(PER_THREAD):
            expected[KEYS[(worker + index) % len(KEYS)]] += 1
    seen: Counter[SeriesKey] = Counter()
    latencies: Counter[SeriesKey] = Counter()
    errors = client_errors = 0
    for window in drained:
        for series in window.series:
            key = (series.flag, series.variant, series.route)
            seen[key] += series.requests
            latencies[key] += series.latency.count
            errors += series.errors
            client_errors += series.client_errors
    assert seen == expected
    assert latencies == expected
    assert errors == client_errors == THREADS * PER_THREAD // 10
    assert len({w.start for w in drained}) > 10  # windows really rotated meanwhile
    totals = totals_counts(recorder.totals())
    assert {key: counts[0] for key, counts in totals.items()} == expected
    assert sum(counts[1] for counts in totals.values()) == THREADS * PER_THREAD // 10
    assert recorder.dropped_windows == recorder.invalid_records == 0


def test_a_forked_child_starts_empty_while_the_parent_keeps_its_data() -> None:
    clock = FakeClock()
    recorder = RequestRecorder(clock=clock)
    for _ in range(3):
        recorder.record("f", "on", 0.01)
    clock.advance(10)
    recorder.record("f", "on", 0.02, 500)  # one closed window waiting, one open

    def child(send: Send) -> None:
        report: dict[str, Any] = {
            "totals": len(recorder.totals()),
            "windows": len(recorder.drain(include_open=True)),
        }
        recorder.record("f", "on", 0.03, 404)
        [window] = recorder.drain(include_open=True)
        report["child"] = [window.series[0].requests, window.series[0].client_errors]
        report["child_totals"] = recorder.totals()[("f", "on", "")].requests
        send(report)

    with forked(child) as next_report:
        report = next_report()
    assert report == {"totals": 0, "windows": 0, "child": [1, 1], "child_totals": 1}
    assert totals_counts(recorder.totals()) == {("f", "on", ""): (4, 1, 0, 4)}
    windows = recorder.drain(include_open=True)
    assert [w.series[0].requests for w in windows] == [3, 1]
