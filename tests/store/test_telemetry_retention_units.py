"""Retention purges the distinct-unit buckets (``unit_buckets``) like the other bucket
tables, on SQLite and PostgreSQL: each resolution at its own age, then all of them."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from rollwise.store import Store, TelemetryPolicy
from rollwise.store.tables.units import unit_buckets

from .._support.clock import FakeClock
from ._telemetry import NOW, T0, batch
from .test_unit_buckets import ENV, FLAG, unit_window, users


@pytest.fixture
def clock() -> FakeClock[datetime]:
    return FakeClock(NOW)


def test_retention_purges_unit_buckets_with_the_others(
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
            tx.environments.create(ENV)
            tx.flags.create(FLAG, variants=["legacy", "domain"])
        with store.transaction("sdk") as tx:
            tx.telemetry.ingest(ENV, batch(unit_window(T0, "domain", users("u", 20), ["u-1"])))
        with store.engine.connect() as connection:
            stored = connection.execute(select(unit_buckets.c.resolution)).scalars().all()
        clock.advance(hours=1, minutes=30)  # 10 s rows expire, 5 min and 1 h rows stay
        with store.transaction("retention") as tx:
            first = tx.telemetry.purge()
        with store.engine.connect() as connection:
            kept = connection.execute(select(unit_buckets.c.resolution)).scalars().all()
        clock.advance(days=100)  # everything expires (1 h rows after 90 days)
        with store.transaction("retention") as tx:
            second = tx.telemetry.purge()
        with store.engine.connect() as connection:
            left = connection.execute(select(unit_buckets)).all()
    finally:
        store.close()
    assert sorted(stored) == [10, 300, 3600]
    assert first.deleted["unit_buckets"] == 1
    assert first.deleted["request_buckets"] == 1  # the window's series, purged alike
    assert sorted(kept) == [300, 3600]
    assert second.deleted["unit_buckets"] == 2
    assert left == []
