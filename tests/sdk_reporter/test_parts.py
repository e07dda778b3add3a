"""The reporter's parts on their own: options, answers and backoff, the queue, batches."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rollwise import ConfigError, ReporterOptions
from rollwise.core.telemetry import MAX_BATCH_WINDOWS, RequestSeries, SketchData, TelemetryBatch
from rollwise.sdk.recorder import ClosedWindow
from rollwise.sdk.reporter._build import Drained, build_batches
from rollwise.sdk.reporter._http import Verdict, backoff, classify
from rollwise.sdk.reporter._queue import BatchQueue, Pending

from ._support import TOKEN

LOG = logging.getLogger("rollwise.test")
T0 = datetime.fromtimestamp(1_000_000, UTC)


# -- options ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"url": "rollwise.internal"}, "reporting.url"),
        ({"token": " "}, "reporting.token"),
        ({"queue_size": 0}, "reporting.queue_size"),
        ({"timeout": 0}, "reporting.timeout"),
        ({"close_timeout": float("nan")}, "reporting.close_timeout"),
        ({"initial_backoff": 2.0, "max_backoff": 1.0}, "reporting.max_backoff"),
        ({"instance": ""}, "reporting.instance"),
    ],
)
def test_invalid_options_name_the_field(overrides: dict[str, Any], field: str) -> None:
    values: dict[str, Any] = {"url": "http://127.0.0.1:1", "token": TOKEN, **overrides}
    with pytest.raises(ConfigError) as caught:
        ReporterOptions(**values)
    assert caught.value.path == field


def test_the_token_stays_out_of_reprs() -> None:
    assert TOKEN not in repr(ReporterOptions("http://127.0.0.1:1", TOKEN))


# -- answers and backoff ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        (200, Verdict.DELIVERED),
        (202, Verdict.DELIVERED),
        (409, Verdict.DELIVERED),  # the batch id is already stored
        (408, Verdict.RETRY),
        (429, Verdict.RETRY),
        (500, Verdict.RETRY),
        (503, Verdict.RETRY),
        (400, Verdict.REJECTED),
        (401, Verdict.REJECTED),
        (403, Verdict.REJECTED),
        (422, Verdict.REJECTED),
    ],
)
def test_what_each_status_means(status: int, verdict: Verdict) -> None:
    assert classify(httpx.Response(status, json={})).verdict is verdict


def test_retry_after_is_read_and_error_messages_kept() -> None:
    answer = classify(
        httpx.Response(
            503,
            headers={"Retry-After": "7"},
            json={"error": {"code": "busy", "message": "try later", "details": {}}},
        )
    )
    assert answer.retry_after == 7.0
    assert answer.detail == "HTTP 503: try later"
    assert classify(httpx.Response(429, headers={"Retry-After": "soon"})).retry_after is None


@given(
    attempt=st.integers(1, 200),
    draw=st.floats(0.0, 0.999999),
    retry_after=st.none() | st.floats(0, 1e6),
)
def test_backoff_grows_is_capped_and_jittered(
    attempt: int, draw: float, retry_after: float | None
) -> None:
    delay = backoff(attempt, 0.5, 60.0, lambda: draw, retry_after)
    plain = min(60.0, 0.5 * 2 ** (attempt - 1))
    assert delay <= 60.0
    if retry_after is None:
        assert plain / 2 <= delay <= plain
    else:
        assert delay >= min(retry_after, 60.0)


# -- the queue -------------------------------------------------------------------------------


def _pending(number: int) -> Pending:
    return Pending(TelemetryBatch(batch_id=f"batch-{number:04d}", instance="i", sent_at=T0))


@given(
    capacity=st.integers(1, 5),
    steps=st.lists(st.sampled_from(["put", "send", "fail"]), max_size=60),
)
def test_the_queue_is_bounded_and_every_batch_is_sent_or_dropped_once(
    capacity: int, steps: list[str]
) -> None:
    queue = BatchQueue(capacity)
    made: list[str] = []
    sent: list[str] = []
    dropped: list[str] = []
    for step in steps:
        if step == "put":
            batch = _pending(len(made))
            made.append(batch.batch.batch_id)
            dropped += [p.batch.batch_id for p in queue.put(batch)]
        else:
            taken = queue.take()
            if taken is None:
                continue
            if step == "send":
                queue.done()
                sent.append(taken.batch.batch_id)
            else:
                dropped += [p.batch.batch_id for p in queue.put_back(taken)]
        assert len(queue) <= capacity
    waiting = [p.batch.batch_id for p in queue.clear()]
    assert sorted(sent + dropped + waiting) == made  # nothing lost, nothing twice
    assert dropped == sorted(dropped)  # the oldest go first
    assert queue.idle


# -- batches ---------------------------------------------------------------------------------


def _series(route: str = "") -> RequestSeries:
    sketch = SketchData(accuracy=0.01, offset=0, bins=[], zero_count=0, count=0, sum=0.0)
    return RequestSeries(flag="f", variant="on", route=route, requests=1, errors=0, latency=sketch)


def test_usage_and_comparisons_join_the_window_the_tick_closed() -> None:
    drained = Drained(
        windows=[ClosedWindow(T0, 10, (_series(),))],
        usage=[("f", "on", 5)],
        comparisons=[
            {
                "name": "pricing",
                "flag": "f",
                "variant": "on",
                "counts": {"match": 2, "mismatch": 0},
                "durations": {
                    "control": {"count": 2, "sum_seconds": 0.1, "max_seconds": 0.06},
                    "candidate": {"count": 0, "sum_seconds": 0.0, "max_seconds": 0.0},
                },
            }
        ],
    )
    [batch] = build_batches(drained, T0, 10, LOG).batches
    [window] = batch.windows
    assert [row.count for row in window.usage] == [5]
    [comparison] = window.comparisons
    assert comparison.counts == {"match": 2}  # zeros are not shipped
    assert list(comparison.durations) == ["control"]


def test_counts_for_a_window_without_requests_get_a_window_of_their_own() -> None:
    later = datetime.fromtimestamp(1_000_010, UTC)
    drained = Drained(windows=[ClosedWindow(T0, 10, (_series(),))], usage=[("f", "on", 1)])
    [batch] = build_batches(drained, later, 10, LOG).batches
    assert [(w.start, len(w.series), len(w.usage)) for w in batch.windows] == [
        (T0, 1, 0),
        (later, 0, 1),
    ]


def test_rows_the_wire_refuses_are_skipped_and_counted_not_the_batch() -> None:
    drained = Drained(
        usage=[("f", "on", 1)],
        comparisons=[
            {"name": "x" * 201, "flag": "f", "variant": "on", "counts": {"match": 1}},
            {"name": "ok", "flag": "f", "variant": "on", "counts": {"match": 1}},
        ],
        samples=[{"name": "ok"}],  # a sample missing its fields
    )
    built = build_batches(drained, T0, 10, LOG)
    assert built.invalid_rows == 2
    [batch] = built.batches
    assert [c.name for c in batch.windows[0].comparisons] == ["ok"]
    assert batch.samples == []


def test_wire_limits_split_windows_and_cut_samples() -> None:
    closed = [
        ClosedWindow(datetime.fromtimestamp(1_000_000 + 10 * n, UTC), 10, (_series(),))
        for n in range(MAX_BATCH_WINDOWS + 5)
    ]
    sample = {
        "name": "p",
        "flag": "f",
        "variant": "on",
        "primary": "control",
        "outcome": "mismatch",
        "at": 1.0,
    }
    built = build_batches(Drained(windows=closed, samples=[sample] * 1005), T0, 10, LOG)
    assert [len(b.windows) for b in built.batches] == [MAX_BATCH_WINDOWS, 5]
    assert len(built.batches[0].samples) == 1000
    assert built.batches[1].samples == []
    assert built.samples_cut == 5
    for batch in built.batches:  # each one fits the wire schema
        TelemetryBatch(batch_id="b" * 8, instance="i", sent_at=T0, windows=batch.windows)


def test_a_catch_up_with_wide_sketches_is_packed_under_the_byte_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Windows are packed by size too: a catch-up after an outage whose windows carry wide
    latency sketches would otherwise exceed the control plane's body limit (a 413: lost)."""
    from rollwise.sdk.reporter import _build as reporter_build

    monkeypatch.setattr(reporter_build, "MAX_BATCH_BYTES", 64 * 1024)
    wide = SketchData(
        accuracy=0.01, offset=0, bins=list(range(1, 140)), zero_count=0, count=9730, sum=1.0
    )
    series = tuple(
        RequestSeries(flag="f", variant="on", route=f"/r{n}", requests=1, errors=0, latency=wide)
        for n in range(20)
    )
    closed = [
        ClosedWindow(datetime.fromtimestamp(1_000_000 + 10 * n, UTC), 10, series) for n in range(60)
    ]
    built = build_batches(Drained(windows=closed), T0, 10, LOG)
    assert len(built.batches) > 1
    assert sum(len(b.windows) for b in built.batches) == 60  # nothing lost, order kept
    starts = [w.start for b in built.batches for w in b.windows]
    assert starts == sorted(starts)
    for batch in built.batches:
        body = TelemetryBatch(batch_id="b" * 8, instance="i", sent_at=T0, windows=batch.windows)
        assert len(body.model_dump_json()) <= 64 * 1024 + 1024  # the envelope on top


def test_nothing_drained_builds_nothing() -> None:
    assert build_batches(Drained(), T0, 10, LOG).batches == []
