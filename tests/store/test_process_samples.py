"""Process samples (CPU, memory) on SQLite and PostgreSQL: stored per release in the ingest
transaction, mean and max over instances, idempotent, split batches counted once, purged by
retention, and migration 0015 up and down."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, select

from rollwise.store import Store, TelemetryPolicy
from rollwise.store.store import _alembic_config
from rollwise.store.tables.telemetry import process_buckets

from .._db import fresh_postgres_database
from .._support.clock import FakeClock
from ._telemetry import NOW, T0, batch, series, window

FLAG = "camera-release"


def sampled(start: datetime, process: dict[str, Any] | None = None, **parts: Any) -> dict[str, Any]:
    """A wire window, with a process sample when given."""
    found = window(start, **parts)
    return found if process is None else {**found, "process": process}


def _sample(variant: str, cpu: float, memory: float, rss: int) -> dict[str, Any]:
    return {
        "flag": FLAG,
        "variant": variant,
        "cpu_percent": cpu,
        "memory_percent": memory,
        "rss_bytes": rss,
    }


@pytest.fixture
def clock() -> FakeClock[datetime]:
    return FakeClock(NOW)


@pytest.fixture
def process_store(database_url: str, clock: FakeClock[datetime]) -> Iterator[Store]:
    store = Store(database_url, clock=clock)
    with store.transaction("setup") as tx:
        tx.environments.create("production")
        tx.flags.create(FLAG, variants=["v1", "v2"])
    try:
        yield store
    finally:
        store.close()


def _ingest(store: Store, *windows: dict[str, Any], **extra: Any) -> Any:
    with store.transaction("sdk") as tx:
        return tx.telemetry.ingest("production", batch(*windows, **extra))


def test_samples_of_two_instances_give_the_mean_and_max_per_release(
    process_store: Store,
) -> None:
    _ingest(process_store, sampled(T0, process=_sample("v2", 40.0, 20.0, 100_000_000)))
    _ingest(process_store, sampled(T0, process=_sample("v2", 90.0, 30.0, 300_000_000)))
    _ingest(process_store, sampled(T0, process=_sample("v1", 10.0, 15.0, 50_000_000)))
    with process_store.transaction("read") as tx:
        found = tx.telemetry.process_window("production", FLAG, T0, T0 + timedelta(seconds=10))
    assert set(found) == {"v1", "v2"}
    v2 = found["v2"]
    assert v2.samples == 2
    assert v2.cpu_mean == pytest.approx(65.0)
    assert v2.cpu_max == pytest.approx(90.0)
    assert v2.memory_mean == pytest.approx(25.0)
    assert v2.memory_max == pytest.approx(30.0)
    assert v2.rss_mean == pytest.approx(200_000_000)
    assert v2.rss_max == 300_000_000
    assert found["v1"].samples == 1


def test_a_retried_batch_counts_its_sample_once(process_store: Store) -> None:
    first = _ingest(
        process_store, sampled(T0, process=_sample("v2", 50, 10, 1)), batch_id="b-same-01"
    )
    again = _ingest(
        process_store, sampled(T0, process=_sample("v2", 50, 10, 1)), batch_id="b-same-01"
    )
    assert not first.duplicate
    assert again.duplicate
    with process_store.transaction("read") as tx:
        found = tx.telemetry.process_window("production", FLAG, T0, T0 + timedelta(seconds=10))
    assert found["v2"].samples == 1


def test_a_window_split_across_parts_stores_its_sample_once(process_store: Store) -> None:
    many = [series(FLAG, "v2", [0.01], route=f"/r{i}") for i in range(250)]  # 3 parts
    result = _ingest(process_store, sampled(T0, series=many, process=_sample("v2", 30, 5, 7)))
    assert result.windows == 1
    with process_store.transaction("read") as tx:
        found = tx.telemetry.process_window("production", FLAG, T0, T0 + timedelta(seconds=10))
        requests = tx.telemetry.variant_window("production", FLAG, T0, T0 + timedelta(seconds=10))
    assert found["v2"].samples == 1
    assert requests["v2"].requests == 250


def test_samples_of_unknown_flags_or_releases_are_ignored_and_counted(
    process_store: Store,
) -> None:
    unknown_release = _ingest(process_store, sampled(T0, process=_sample("v9", 50, 10, 1)))
    other = _sample("v1", 50, 10, 1) | {"flag": "nobody"}
    unknown_flag = _ingest(process_store, sampled(T0, process=other))
    assert unknown_release.ignored.process == 1
    assert unknown_release.ignored.unknown_variants == [f"{FLAG}/v9"]
    assert unknown_flag.ignored.unknown_flags == ["nobody"]
    with process_store.transaction("read") as tx:
        assert tx.telemetry.process_window("production", FLAG, T0, T0 + timedelta(hours=1)) == {}


def test_a_window_over_many_buckets_reads_coarser_ones_and_adds_up(
    process_store: Store,
) -> None:
    for minute in range(12):
        start = T0 + timedelta(minutes=minute)
        _ingest(process_store, sampled(start, process=_sample("v2", float(minute), 10, 1)))
    with process_store.transaction("read") as tx:
        found = tx.telemetry.process_window("production", FLAG, T0, T0 + timedelta(minutes=12))
    assert found["v2"].samples == 12
    assert found["v2"].cpu_max == pytest.approx(11.0)
    assert found["v2"].cpu_mean == pytest.approx(5.5)


def test_retention_purges_process_buckets_with_the_others(
    database_url: str, clock: FakeClock[datetime]
) -> None:
    policy = TelemetryPolicy(
        keep_10s=timedelta(hours=1),
        keep_5m=timedelta(hours=2),
        keep_batch_ids=timedelta(minutes=45),
    )
    store = Store(database_url, clock=clock, telemetry=policy)
    try:
        with store.transaction("setup") as tx:
            tx.environments.create("production")
            tx.flags.create(FLAG, variants=["v1", "v2"])
        _ingest(store, sampled(T0, process=_sample("v2", 50, 10, 1)))
        clock.advance(hours=1, minutes=30)  # 10 s rows expire, 5 min and 1 h rows stay
        with store.transaction("retention") as tx:
            first = tx.telemetry.purge()
        clock.advance(days=100)  # everything expires (1 h rows after 90 days)
        with store.transaction("retention") as tx:
            second = tx.telemetry.purge()
        with store.engine.connect() as connection:
            left = connection.execute(select(process_buckets)).all()
    finally:
        store.close()
    assert first.deleted["process_buckets"] == 1
    assert second.deleted["process_buckets"] == 2
    assert left == []


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrated.db'}"
        return
    with fresh_postgres_database() as url:
        yield url


def _migrate(url: str, revision: str, *, down: bool = False) -> list[str]:
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            config = _alembic_config()
            config.attributes["connection"] = connection
            (command.downgrade if down else command.upgrade)(config, revision)
        return inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_0015_creates_process_buckets_and_its_downgrade_drops_them(empty_url: str) -> None:
    assert "process_buckets" not in _migrate(empty_url, "0014")
    assert "process_buckets" in _migrate(empty_url, "0015")
    assert "process_buckets" not in _migrate(empty_url, "0014", down=True)
    assert "process_buckets" in _migrate(empty_url, "head")
