"""RequestRecorder: wall-clock windows, outcomes, drain and totals, inputs that must not hurt.

A fake clock moves time; everything else is the real recorder.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import pytest

import rollwise
from rollwise.errors import ConfigError
from rollwise.sdk.recorder import (
    CLIENT_ERROR,
    ERROR,
    SUCCESS,
    RequestRecorder,
    outcome_of,
)
from rollwise.stats import LatencySketch

from .._support.clock import FakeClock
from ._support import totals_counts, window_counts

T0 = 1_700_000_003.5  # 3.5 s into a 10-second window starting at 1_700_000_000
START = 1_700_000_000.0


def make(clock: FakeClock | None = None, **options: Any) -> tuple[RequestRecorder, FakeClock]:
    clock = clock or FakeClock(T0)
    return RequestRecorder(clock=clock, **options), clock


# -- windows ---------------------------------------------------------------------------


def test_a_window_closes_when_a_request_lands_in_the_next_one() -> None:
    recorder, clock = make()
    recorder.record("checkout", "domain", 0.120)
    recorder.record("checkout", "domain", 0.080, 503)
    assert recorder.drain() == []  # still open
    clock.advance(6.5)  # exactly the next window's start
    recorder.record("checkout", "legacy", 0.050)
    [window] = recorder.drain()
    assert window.start == datetime.fromtimestamp(START, UTC)
    assert window.seconds == 10
    [series] = window.series
    assert (series.flag, series.variant, series.route) == ("checkout", "domain", "")
    assert (series.requests, series.errors, series.client_errors) == (2, 1, 0)
    latency = LatencySketch.from_dict(series.latency.model_dump())
    assert latency.count == 2
    assert latency.quantile(1.0) == 0.120


def test_windows_are_aligned_to_the_wall_clock_and_empty_ones_are_skipped() -> None:
    recorder, clock = make(window_seconds=5)
    for at in (T0, T0 + 1, T0 + 7, T0 + 31.5):  # in the windows starting at +0, +0, +10, +35
        clock.now = at
        recorder.record("f", "on", 0.01)
    starts = [w.start.timestamp() for w in recorder.drain()]
    assert starts == [START, START + 10]
    assert all(w.start.timestamp() % 5 == 0 for w in recorder.drain(include_open=True))


def test_drain_rotates_on_its_own_when_the_window_is_over() -> None:
    recorder, clock = make()
    recorder.record("f", "on", 0.01)
    clock.advance(60)  # no request since: drain itself closes the window
    [window] = recorder.drain()
    assert window.start.timestamp() == START


def test_closed_windows_are_handed_over_once() -> None:
    recorder, clock = make()
    recorder.record("f", "on", 0.01)
    clock.advance(10)
    assert len(recorder.drain()) == 1
    assert recorder.drain() == []
    assert recorder.pending_windows == 0


def test_include_open_closes_the_current_window_and_a_later_part_adds_up() -> None:
    recorder, clock = make()
    recorder.record("f", "on", 0.01)
    [first] = recorder.drain(include_open=True)
    recorder.record("f", "on", 0.02, 500)
    clock.advance(1)
    [second] = recorder.drain(include_open=True)
    assert first.start == second.start == datetime.fromtimestamp(START, UTC)
    assert (first.series[0].requests, second.series[0].requests) == (1, 1)
    assert second.series[0].errors == 1
    assert recorder.drain(include_open=True) == []  # nothing recorded since


def test_oldest_windows_are_dropped_and_counted_beyond_max_closed() -> None:
    recorder, clock = make(max_closed=2)
    for index in range(5):
        clock.now = T0 + 10 * index
        recorder.record("f", "on", 0.01)
    windows = recorder.drain()  # the 5th window is still open
    assert [w.start.timestamp() for w in windows] == [START + 20, START + 30]
    assert recorder.dropped_windows == 2
    assert recorder.totals()[("f", "on", "")].requests == 5  # totals lose nothing


# -- outcomes ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (100, SUCCESS),
        (200, SUCCESS),
        (204, SUCCESS),
        (301, SUCCESS),
        (304, SUCCESS),
        (399, SUCCESS),
        (400, CLIENT_ERROR),
        (404, CLIENT_ERROR),
        (429, CLIENT_ERROR),
        (499, CLIENT_ERROR),
        (500, ERROR),
        (503, ERROR),
        (599, ERROR),
        (None, ERROR),
    ],
)
def test_outcome_classification(status: int | None, outcome: str) -> None:
    assert outcome_of(status) == outcome
    recorder, _ = make()
    recorder.record("f", "on", 0.01, status)
    total = recorder.totals()[("f", "on", "")]
    counts = {SUCCESS: total.successes, ERROR: total.errors, CLIENT_ERROR: total.client_errors}
    assert counts == {name: int(name == outcome) for name in counts}
    [window] = recorder.drain(include_open=True)
    series = window.series[0]
    assert (series.errors, series.client_errors) == (counts[ERROR], counts[CLIENT_ERROR])


def test_series_are_kept_apart_by_flag_variant_and_route() -> None:
    recorder, clock = make()
    for flag, variant, route in [("a", "on", ""), ("a", "off", ""), ("a", "on", "/x/{id}")]:
        recorder.record(flag, variant, 0.01, route=route)
    recorder.record("b", "on", 0.01, 404, route="/x/{id}")
    clock.advance(10)
    counts = window_counts(recorder.drain())
    assert counts == {
        (START, ("a", "on", "")): (1, 0, 0, 1),
        (START, ("a", "off", "")): (1, 0, 0, 1),
        (START, ("a", "on", "/x/{id}")): (1, 0, 0, 1),
        (START, ("b", "on", "/x/{id}")): (1, 0, 1, 1),
    }


# -- totals ------------------------------------------------------------------------------


def test_totals_include_the_open_window_and_are_never_reset_by_drain() -> None:
    recorder, clock = make()
    key = ("f", "on", "")
    recorder.record("f", "on", 0.01)
    assert totals_counts(recorder.totals()) == {key: (1, 0, 0, 1)}
    clock.advance(10)
    recorder.record("f", "on", 0.02, 500)
    recorder.drain(include_open=True)
    assert recorder.drain() == []
    assert totals_counts(recorder.totals()) == {key: (2, 1, 0, 2)}
    recorder.record("f", "on", 0.03, 404)
    total = recorder.totals()[key]
    assert (total.requests, total.errors, total.client_errors, total.successes) == (3, 1, 1, 1)
    assert total.sketch.quantile(1.0) == 0.03


def test_totals_are_copies() -> None:
    recorder, _ = make()
    recorder.record("f", "on", 0.01)
    first = recorder.totals()
    first[("f", "on", "")].requests += 100
    first[("f", "on", "")].sketch.add(5.0)
    assert totals_counts(recorder.totals()) == {("f", "on", ""): (1, 0, 0, 1)}


def test_totals_stay_exact_over_many_windows_nobody_read() -> None:
    recorder, clock = make()
    for index in range(50):  # beyond the windows kept apart for totals: they get compacted
        recorder.record("f", "on", 0.001 * (index + 1), 500 if index % 10 == 0 else 200)
        recorder.record("g", "on", 0.5)
        clock.advance(10)
    totals = recorder.totals()
    assert totals_counts(totals) == {
        ("f", "on", ""): (50, 5, 0, 50),
        ("g", "on", ""): (50, 0, 0, 50),
    }
    assert totals[("f", "on", "")].sketch.max == 0.05
    assert len(recorder.drain()) == 50  # and the windows are all still there to drain
    assert totals_counts(recorder.totals())[("f", "on", "")] == (50, 5, 0, 50)


def test_latency_in_windows_and_totals_is_accurate() -> None:
    recorder, clock = make()
    values = [0.001 * 1.013**i for i in range(700)]
    for value in values:
        recorder.record("f", "on", value)
    clock.advance(10)
    [window] = recorder.drain()
    latency = LatencySketch.from_dict(window.series[0].latency.model_dump())
    total = recorder.totals()[("f", "on", "")].sketch
    for sketch in (latency, total):
        for q in (0.5, 0.95, 0.99):
            truth = values[int(q * (len(values) - 1))]
            assert sketch.quantile(q) == pytest.approx(truth, rel=0.01)


@pytest.mark.slow  # a million recordings
def test_a_million_requests_in_one_series_stay_under_8_kib() -> None:
    recorder, _ = make()
    record = recorder.record
    for index in range(1_000_000):
        record("checkout", "domain", 1e-5 * 1.0001**index)  # 10 µs up to ~220 s
    total = recorder.totals()[("checkout", "domain", "")]
    assert total.requests == total.sketch.count == 1_000_000
    assert total.sketch.memory_bytes() <= 8 * 1024


# -- what must not hurt the application ------------------------------------------------------


def test_bad_status_or_key_is_counted_not_raised() -> None:
    recorder, _ = make()
    recorder.record("f", "on", 0.01, "500")  # type: ignore[arg-type]
    recorder.record(["f"], "on", 0.01)  # type: ignore[arg-type]
    recorder.record("f", {"on": 1}, 0.01)  # type: ignore[arg-type]
    assert recorder.invalid_records == 3
    assert recorder.totals() == {}


def test_bad_latency_keeps_the_request_without_a_latency() -> None:
    recorder, _ = make()
    recorder.record("f", "on", "slow", 503)  # type: ignore[arg-type]
    recorder.record("f", "on", None)  # type: ignore[arg-type]
    recorder.record("f", "on", math.nan)  # not a number: ignored by the sketch, not invalid
    recorder.record("f", "on", -0.5)  # a clock stepping back: counted as 0
    recorder.record("f", "on", math.inf)
    assert recorder.invalid_records == 2
    total = recorder.totals()[("f", "on", "")]
    assert (total.requests, total.errors, total.sketch.count) == (5, 1, 2)
    assert total.sketch.min == 0.0
    assert len(recorder.drain(include_open=True)[0].series) == 1


def test_series_the_wire_format_refuses_are_left_out_and_counted() -> None:
    recorder, _ = make()
    recorder.record("", "on", 0.01)
    recorder.record("f", "v" * 201, 0.01)
    recorder.record("f", "on", 0.01, route="/" + "x" * 200)
    recorder.record("f", "on", 0.01)
    [window] = recorder.drain(include_open=True)
    assert [(s.flag, s.variant, s.route) for s in window.series] == [("f", "on", "")]
    assert recorder.rejected_series == 3
    assert len(recorder.totals()) == 4  # Prometheus still sees them


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"window_seconds": 0}, "window_seconds"),
        ({"window_seconds": 3601}, "window_seconds"),
        ({"window_seconds": 2.5}, "window_seconds"),
        ({"window_seconds": True}, "window_seconds"),
        ({"max_closed": 0}, "max_closed"),
        ({"max_closed": "10"}, "max_closed"),
        ({"accuracy": 0.0}, "accuracy"),
        ({"accuracy": 1.5}, "accuracy"),
    ],
)
def test_bad_options_name_the_field(options: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        RequestRecorder(**options)
    assert caught.value.path == field


def test_the_client_uses_the_recorder_it_is_given() -> None:
    recorder = RequestRecorder()
    document = {"flags": [{"key": "f", "variants": ["off", "on"]}]}
    with rollwise.Client(document, options=rollwise.ClientOptions(recorder=recorder)) as client:
        assert client.recorder is recorder
    with rollwise.Client(document) as client:
        assert isinstance(client.recorder, RequestRecorder)
