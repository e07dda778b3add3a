"""Distinct-unit sketches in the store, on SQLite and PostgreSQL: unions per bucket across
processes, retries and parts (a unit counts once), the step's union over several windows,
only known flags and variants, and the range a query covers."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

import datasketches
import pytest

from rollwise.core.bucketing import hash_key
from rollwise.store import Store

from .._support.clock import FakeClock
from ._telemetry import NOW, T0, batch, series, window

FLAG = "checkout"
ENV = "production"


def sketch(units: Iterable[str]) -> str:
    found = datasketches.hll_sketch(12, datasketches.tgt_hll_type.HLL_8)
    for unit in units:
        found.update(hash_key(unit))
    return base64.b64encode(found.serialize_compact()).decode()


def unit_window(
    start: datetime, variant: str, seen: Iterable[str], failing: Iterable[str], flag: str = FLAG
) -> dict[str, Any]:
    """A wire window with one request series and the unit sketches of ``variant``."""
    found = window(start, series=[series(flag, variant, [0.01])])
    found["units"] = [
        {"flag": flag, "variant": variant, "seen": sketch(seen), "failing": sketch(failing)}
    ]
    return found


@pytest.fixture
def units_store(database_url: str) -> Iterator[Store]:
    store = Store(database_url, clock=FakeClock(NOW))
    with store.transaction("setup") as tx:
        tx.environments.create(ENV)
        tx.flags.create(FLAG, variants=["legacy", "domain"])
    try:
        yield store
    finally:
        store.close()


def ingest(store: Store, *windows: dict[str, Any], **extra: Any) -> None:
    with store.transaction("sdk") as tx:
        tx.telemetry.ingest(ENV, batch(*windows, **extra))


def read(store: Store, start: datetime, end: datetime) -> dict[str, tuple[int, int]]:
    with store.transaction("read") as tx:
        found = tx.units.unit_window(ENV, FLAG, start, end)
    return {v: (round(w.units.estimate), round(w.failing.estimate)) for v, w in found.items()}


def users(prefix: str, count: int) -> list[str]:
    return [f"{prefix}-{i}" for i in range(count)]


def test_two_processes_and_two_windows_union_into_distinct_units(units_store: Store) -> None:
    # process 1 saw users 0-99 (0-4 failing); process 2 users 50-149 (4-9 failing), same window
    ingest(units_store, unit_window(T0, "domain", users("u", 100), users("u", 5)))
    ingest(
        units_store,
        unit_window(T0, "domain", users("u", 150)[50:], users("u", 10)[4:]),
        instance="host-2:1",
    )
    # a later window, 10 minutes on: users 100-199, user 0 fails again (counted once)
    later = T0 + timedelta(minutes=10)
    ingest(units_store, unit_window(later, "domain", users("u", 200)[100:], ["u-0", "u-150"]))
    ingest(units_store, unit_window(T0, "legacy", users("x", 30), []))

    step = read(units_store, T0, later + timedelta(seconds=10))
    assert step == {"domain": (200, 11), "legacy": (30, 0)}
    assert read(units_store, T0, T0 + timedelta(seconds=10)) == {
        "domain": (150, 10),
        "legacy": (30, 0),
    }
    assert read(units_store, later, later + timedelta(seconds=10)) == {"domain": (100, 2)}
    assert read(units_store, T0 + timedelta(minutes=1), later) == {}


def test_a_retried_batch_and_a_repeated_sketch_count_nothing_twice(units_store: Store) -> None:
    sent = unit_window(T0, "domain", users("u", 40), users("u", 4))
    ingest(units_store, sent, batch_id="batch-units-1")
    ingest(units_store, sent, batch_id="batch-units-1")  # the retry: a duplicate
    ingest(units_store, sent, batch_id="batch-units-2")  # the same units again: a union
    assert read(units_store, T0, T0 + timedelta(seconds=10)) == {"domain": (40, 4)}


def test_unknown_flags_and_variants_and_old_windows_are_not_stored(units_store: Store) -> None:
    ingest(units_store, unit_window(T0, "ghost", users("u", 5), []))
    ingest(units_store, unit_window(T0, "domain", users("u", 5), [], flag="other-flag"))
    ingest(units_store, unit_window(NOW - timedelta(days=3), "domain", users("u", 5), []))
    assert read(units_store, T0 - timedelta(days=4), NOW) == {}


def test_large_counts_are_estimated_within_bounds_across_resolutions(units_store: Store) -> None:
    # 6 windows of 2,000 new users each (HLL mode), read back from the hourly bucket
    for k in range(6):
        start = T0 + timedelta(minutes=5 * k)
        chunk = users(f"w{k}", 2000)
        ingest(units_store, unit_window(start, "domain", chunk, chunk[:100]))
    with units_store.transaction("read") as tx:
        found = tx.units.unit_window(ENV, FLAG, T0, T0 + timedelta(hours=1))["domain"]
    assert found.units.lower <= 12_000 <= found.units.upper
    assert abs(found.units.estimate - 12_000) / 12_000 < 0.05
    assert found.failing.lower <= 600 <= found.failing.upper
