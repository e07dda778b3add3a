"""A store on a fake clock, and a scene on it (both databases)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from rollwise.store import Store

from .._support.clock import FakeClock
from ._support import Scene, start_of_hour


@pytest.fixture
def clock() -> FakeClock[datetime]:
    return FakeClock(start_of_hour())


@pytest.fixture
def scene(database_url: str, clock: FakeClock[datetime]) -> Iterator[Scene]:
    store = Store(database_url, clock=clock)
    try:
        yield Scene(store, clock)
    finally:
        store.close()
