"""Packed sketches merged as bytes give exactly the blob the unpack-merge-pack path gives,
and anything outside the usual case is left to that path (``None``)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rollwise.stats.sketch import LatencySketch, SketchError, unpack_sketch_data
from rollwise.store.telemetry._packed import PackedSum, merge_packed, pack_data, pack_started
from rollwise.store.telemetry._sketch import merge_sketch_data, pack

values = st.lists(
    st.one_of(
        st.floats(min_value=1e-6, max_value=1e4),
        st.just(0.0),
    ),
    max_size=60,
)


def sketch(recorded: list[float], repeat: int = 0) -> LatencySketch:
    made = LatencySketch()
    for value in recorded:
        made.add(value)
    for _ in range(repeat):  # doubling: bins wider than one byte
        made.merge(made.copy())
    return made


def slow(stored: bytes, delta: LatencySketch) -> bytes:
    return pack(merge_sketch_data(unpack_sketch_data(stored), delta.to_data()))


@settings(max_examples=400, deadline=None, database=None)
@given(
    stored=values,
    delta=values,
    stored_repeat=st.integers(0, 40),
    delta_repeat=st.integers(0, 20),
)
def test_merged_bytes_equal_the_unpacked_merge(
    stored: list[float], delta: list[float], stored_repeat: int, delta_repeat: int
) -> None:
    old, new = sketch(stored, stored_repeat), sketch(delta, delta_repeat)
    assert pack_data(new.to_data()) == pack(new.to_data())
    blob = pack(old.to_data())
    merged = merge_packed(blob, pack_data(new.to_data()))
    if merged is not None:
        assert merged == slow(blob, new)


@settings(max_examples=200, deadline=None, database=None)
@given(st.lists(st.tuples(values, st.integers(0, 36)), min_size=1, max_size=8))
def test_a_packed_sum_is_the_sum_latency_sketches_give(
    parts: list[tuple[list[float], int]],
) -> None:
    sketches = [sketch(recorded, repeat) for recorded, repeat in parts]
    expected = sketches[0].copy()
    expected.sum += 0.0
    total = PackedSum(pack_started(sketches[0]))
    for other in sketches[1:]:
        expected.merge(other)
        total.add(other, pack_started(other))
    assert total.packed() == pack_data(expected.to_data())


def test_the_usual_case_is_merged_as_bytes() -> None:
    old = sketch([0.01 * (1 + i % 37) for i in range(500)], repeat=3)
    new = sketch([0.02 * (1 + i % 11) for i in range(50)])
    blob = pack(old.to_data())
    merged = merge_packed(blob, pack_data(new.to_data()))
    assert merged is not None
    assert merged == slow(blob, new)
    both = old.copy()
    both.merge(new)
    assert unpack_sketch_data(merged).count == both.count


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ([], [0.01, 0.02]),  # an empty stored sketch
        ([0.01], []),  # an empty delta
        ([0.0], [0.01]),  # stored values in the zero bucket only
        ([1e-6], [1e4]),  # a range wider than max_bins: the lowest bins fold
    ],
)
def test_unusual_sketches_are_left_to_the_full_merge(old: list[float], new: list[float]) -> None:
    assert merge_packed(pack(sketch(old).to_data()), pack_data(sketch(new).to_data())) is None


def test_a_corrupt_stored_blob_is_left_to_the_path_that_refuses_it() -> None:
    blob = bytearray(pack(sketch([0.01, 0.02]).to_data()))
    blob[0] = 9  # an unknown format version
    delta = pack_data(sketch([0.03]).to_data())
    assert merge_packed(bytes(blob), delta) is None
    with pytest.raises(SketchError):
        unpack_sketch_data(bytes(blob))
