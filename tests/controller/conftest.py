"""Fixtures for controller tests: a seeded store on a fake clock, a controller ticked by hand,
and the session's PostgreSQL database emptied for tests that run controllers as processes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rollwise.store import Store

from .._db import PostgresEmptier
from .._support.clock import FakeClock
from ..store._telemetry import NOW
from ._support import Harness, make_controller, seed


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def seeded(database_url: str, clock: FakeClock) -> Iterator[Store]:
    store = Store(database_url, clock=clock)
    seed(store)
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def harness(seeded: Store, clock: FakeClock) -> Iterator[Harness]:
    with make_controller(seeded, clock) as controller:
        yield Harness(seeded, clock, controller)


@pytest.fixture
def empty_postgres(postgres_url: str, postgres_emptier: PostgresEmptier) -> str:
    """The session's PostgreSQL database, emptied (processes share it; no SQLite file lock)."""
    postgres_emptier.empty()
    return postgres_url
