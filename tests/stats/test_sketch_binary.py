"""The sketch's binary form: any sketch round-trips exactly, in fewer bytes than its JSON,
and a corrupt blob is refused rather than building a poisoned sketch."""

from __future__ import annotations

import json
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rollwise.stats.sketch import LatencySketch, SketchError, unpack_sketch_data

values = st.lists(
    st.one_of(
        st.floats(min_value=1e-6, max_value=30.0),
        st.floats(min_value=0.0, max_value=1e12),
        st.just(0.0),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None, database=None)
@given(recorded=values, repeat=st.integers(1, 70_000))
def test_every_sketch_round_trips_exactly(recorded: list[float], repeat: int) -> None:
    sketch = LatencySketch()
    for value in recorded:
        sketch.add(value)
    if sketch.count:  # counts wide enough for every bin width
        heavy = LatencySketch()
        heavy.add(recorded[0] if recorded[0] > 1e-9 else 1.0)
        for _ in range(min(repeat, 20)):
            sketch.merge(heavy)
    blob = sketch.to_bytes()
    assert LatencySketch.from_bytes(blob).to_dict() == sketch.to_dict()
    assert len(blob) <= len(json.dumps(sketch.to_dict()))


def test_counts_take_the_width_their_largest_needs() -> None:
    sketch = LatencySketch()
    for _ in range(300):
        sketch.add(0.05)
    sketch.add(0.5)
    assert len(sketch.to_bytes()) == 46 + 2 * (sketch.to_data().bins.__len__())
    assert LatencySketch.from_bytes(sketch.to_bytes()).quantile(0.5) == sketch.quantile(0.5)


@pytest.mark.parametrize(
    "blob",
    [
        b"",
        b"\x02" + bytes(45),  # unknown version
        struct.pack("<BBdiQddd", 1, 3, 0.01, 0, 0, 0.0, 0.0, 0.0) + b"\x01\x02\x03",
        struct.pack("<BBdiQddd", 1, 1, 0.01, 0, 0, 1.0, 0.5, 0.1) + b"\x01",  # min > max
        struct.pack("<BBdiQddd", 1, 1, 0.01, 0, 0, float("nan"), 0.1, 0.1) + b"\x01",
        struct.pack("<BBdiQddd", 1, 0, 0.01, 0, 0, 0.0, 0.0, 0.0) + b"\x01",  # bins, width 0
        struct.pack("<BBdiQddd", 1, 1, 0.01, 200_000, 0, 0.1, 0.1, 0.1) + b"\x01",
        struct.pack("<BBdiQddd", 1, 0, 0.01, 0, 0, 2.0, 0.0, 0.0),  # empty with a sum
    ],
)
def test_a_corrupt_blob_is_refused(blob: bytes) -> None:
    with pytest.raises(SketchError):
        unpack_sketch_data(blob)
