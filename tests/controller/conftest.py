"""Fixtures for controller tests: a seeded store on a fake clock, a controller ticked by hand."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rollwise.store import Store

from ..store._telemetry import FakeClock
from ._support import Harness, make_controller, seed


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


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
