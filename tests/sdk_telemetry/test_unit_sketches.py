"""Distinct-unit sketches in the SDK: per window and (flag, variant), every unit served and
every unit with a server error, hashed before the sketch sees it (a lone surrogate too),
shipped with the window in the batch, and started afresh in a forked child."""

from __future__ import annotations

import base64
import logging
from datetime import UTC, datetime

import datasketches
import pytest

from rollwise.core.telemetry import UnitSketches
from rollwise.sdk.recorder import RequestRecorder
from rollwise.sdk.reporter._build import Drained, build_batches

from .._support.clock import FakeClock
from .._support.fork import Send, forked

START = 1_700_000_000.0


def estimate(text: str) -> float:
    return float(datasketches.hll_sketch.deserialize(base64.b64decode(text)).get_estimate())


def counts(entry: UnitSketches) -> tuple[int, int]:
    return round(estimate(entry.seen)), round(estimate(entry.failing))


def drained_units(
    recorder: RequestRecorder, clock: FakeClock[float]
) -> dict[tuple[str, str], tuple[int, int]]:
    clock.advance(10)
    units: dict[tuple[str, str], tuple[int, int]] = {}
    for window in recorder.drain():
        for entry in window.units:
            units[(entry.flag, entry.variant)] = counts(entry)
    return units


def test_units_served_and_units_that_failed_are_counted_once_each() -> None:
    clock = FakeClock(START)
    recorder = RequestRecorder(clock=clock)
    for i in range(300):  # 60 users, 5 requests each; user k fails when k % 10 == 0
        user = f"user-{i % 60}"
        failed = (i % 60) % 10 == 0 and i < 60
        recorder.record("checkout", "domain", 0.01, 500 if failed else 200, "/pay", user)
    recorder.record("checkout", "domain", 0.01, None, "/pay", "user-1")  # an exception fails
    recorder.record("checkout", "domain", 0.01, 404, "/pay", "user-2")  # 4xx: not a failure
    recorder.record("checkout", "legacy", 0.01, 503, "/pay", 42)  # a unit that is an int
    recorder.record("checkout", "legacy", 0.01, 500, "/pay")  # no unit: requests only
    recorder.record("checkout", "legacy", 0.01, 500, "/pay", "")  # empty: no unit

    units = drained_units(recorder, clock)
    assert units == {("checkout", "domain"): (60, 7), ("checkout", "legacy"): (1, 1)}


def test_a_lone_surrogate_unit_is_hashed_safely_and_counted() -> None:
    clock = FakeClock(START)
    recorder = RequestRecorder(clock=clock)
    for unit in ("\ud800", "\ud800", "x\udfffy", "plain", "ünïcode"):
        recorder.record("checkout", "domain", 0.01, 500, "", unit)
    assert recorder.invalid_records == 0
    assert drained_units(recorder, clock) == {("checkout", "domain"): (4, 4)}


def test_a_unit_whose_text_raises_is_counted_invalid_and_the_request_still_recorded() -> None:
    class Broken:
        def __str__(self) -> str:
            raise RuntimeError("no text")

    clock = FakeClock(START)
    recorder = RequestRecorder(clock=clock)
    recorder.record("checkout", "domain", 0.01, 200, "", Broken())
    assert recorder.invalid_records == 1
    clock.advance(10)
    (window,) = recorder.drain()
    assert window.series[0].requests == 1
    assert window.units == ()


def test_windows_carry_their_own_units_and_the_batch_ships_them() -> None:
    clock = FakeClock(START)
    recorder = RequestRecorder(clock=clock)
    recorder.record("checkout", "domain", 0.01, 500, "", "a")
    clock.advance(10)
    recorder.record("checkout", "domain", 0.01, 200, "", "b")
    recorder.record("checkout", "domain", 0.01, 200, "", "c")
    clock.advance(10)
    windows = recorder.drain()
    assert [[counts(u) for u in w.units] for w in windows] == [[(1, 1)], [(2, 0)]]
    target = datetime.fromtimestamp(START + 20, UTC)
    built = build_batches(Drained(windows=windows), target, 10, logging.getLogger("test"))
    (batch,) = built.batches
    assert [[counts(u) for u in w.units] for w in batch.windows] == [[(1, 1)], [(2, 0)]]


def test_without_tracking_no_sketch_is_kept() -> None:
    clock = FakeClock(START)
    recorder = RequestRecorder(clock=clock, track_units=False)
    recorder.record("checkout", "domain", 0.01, 500, "", "a")
    clock.advance(10)
    (window,) = recorder.drain()
    assert window.units == ()


@pytest.mark.parametrize("field", ["seen", "failing"])
def test_a_malformed_sketch_is_refused_by_the_wire_schema_naming_the_field(field: str) -> None:
    good = base64.b64encode(datasketches.hll_sketch(12).serialize_compact()).decode()
    bad = base64.b64encode(b"\x02\x01\x07\x0c\x03\x08\x05\x08" + b"\x00" * 4).decode()
    values = {"flag": "f", "variant": "v", "seen": good, "failing": good, field: bad}
    with pytest.raises(ValueError, match=rf"{field}\n.*not a unit sketch: .*header says 28"):
        UnitSketches.model_validate(values)


def test_a_forked_child_starts_with_no_units() -> None:
    clock = FakeClock(START)
    recorder = RequestRecorder(clock=clock)
    recorder.record("checkout", "domain", 0.01, 500, "", "parent-user")

    def child(send: Send) -> None:
        recorder.record("checkout", "domain", 0.01, 200, "", "child-1")
        recorder.record("checkout", "domain", 0.01, 200, "", "child-2")
        clock.advance(10)
        found = [counts(u) for w in recorder.drain() for u in w.units]
        send({"units": found})

    with forked(child) as reports:
        assert reports.next() == {"units": [[2, 0]]}
    clock.advance(10)
    assert [counts(u) for w in recorder.drain() for u in w.units] == [(1, 1)]
