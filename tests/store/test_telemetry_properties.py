"""Property: however traffic is split into windows and batches, a window query returns the
exact totals and the same latency sketch as merging everything locally."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rollwise.stats.sketch import LatencySketch, unpack_sketch_data
from rollwise.store import Store
from rollwise.store.telemetry._sketch import merge_sketch_data, pack

from .._support.clock import FakeClock
from ._telemetry import T0, batch, series, window

VARIANTS = ("legacy", "domain")
requests = st.tuples(
    st.integers(min_value=0, max_value=400),  # seconds after T0
    st.sampled_from(VARIANTS),
    st.lists(st.floats(min_value=1e-4, max_value=30.0), min_size=1, max_size=20),
    st.integers(min_value=0, max_value=3),
)


@pytest.fixture
def shared_store(database_url: str) -> Iterator[Store]:
    store = Store(database_url, clock=FakeClock(T0 + timedelta(minutes=30)))
    with store.transaction("setup") as tx:
        tx.environments.create("production")
    try:
        yield store
    finally:
        store.close()


@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(traffic=st.lists(requests, min_size=1, max_size=12), batches=st.integers(1, 4))
def test_totals_and_sketches_survive_any_split(
    shared_store: Store, traffic: list[tuple[int, str, list[float], int]], batches: int
) -> None:
    flag = f"flag-{next(_names)}"
    with shared_store.transaction("setup") as tx:
        tx.flags.create(flag, variants=list(VARIANTS))
    sent = [
        window(
            T0 + timedelta(seconds=offset),
            series=[series(flag, variant, values, errors=min(errors, len(values)))],
        )
        for offset, variant, values, errors in traffic
    ]
    for index in range(batches):
        part = sent[index::batches]
        if part:
            with shared_store.transaction("sdk") as tx:
                tx.telemetry.ingest("production", batch(*part))
    with shared_store.transaction("judge") as tx:
        got = tx.telemetry.variant_window("production", flag, T0, T0 + timedelta(hours=1))
        head = tx.telemetry.variant_window("production", flag, T0, T0 + timedelta(seconds=200))
    for variant in VARIANTS:
        mine = [t for t in traffic if t[1] == variant]
        if not mine:
            assert variant not in got
            continue
        local = LatencySketch()
        for _, _, values, _ in mine:
            for value in values:
                local.add(value)
        assert got[variant].requests == sum(len(t[2]) for t in mine)
        assert got[variant].errors == sum(min(t[3], len(t[2])) for t in mine)
        assert got[variant].latency.to_dict()["bins"] == local.to_dict()["bins"]
        for q in (0.5, 0.95, 0.99):
            assert got[variant].quantile(q) == local.quantile(q)
        early = sum(len(t[2]) for t in mine if (t[0] // 10) * 10 < 200)
        assert (head[variant].requests if variant in head else 0) == early


_names = itertools.count()


latency_values = st.lists(
    st.one_of(
        st.floats(min_value=1e-4, max_value=30.0),
        st.floats(min_value=0.0, max_value=1e12),  # wide ranges fold beyond 800 bins
        st.just(0.0),
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None, database=None)
@given(first=latency_values, second=latency_values)
def test_stored_sketches_merge_exactly_as_sketch_objects_do(
    first: list[float], second: list[float]
) -> None:
    """Ingest merges stored sketches in their field form (unpacked from the binary column,
    packed again): the same result as LatencySketch.merge."""
    a, b = LatencySketch(), LatencySketch()
    for value in first:
        a.add(value)
    for value in second:
        b.add(value)
    expected = a.copy()
    expected.merge(b)
    stored = unpack_sketch_data(a.to_bytes())
    got = LatencySketch.from_bytes(pack(merge_sketch_data(stored, b.to_data()))).to_dict()
    want = expected.to_dict()
    if not want["bins"]:  # where an empty range starts means nothing
        got, want = {**got, "offset": 0}, {**want, "offset": 0}
    assert got == want
