"""A clock that moves only when the test says so: durations become exact, never timed."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Generic, TypeVar, overload

Now = TypeVar("Now", float, datetime)

EPOCH = 1_700_000_000.0
"""The default reading in seconds (a realistic wall-clock time, a multiple of 10 s)."""


class FakeClock(Generic[Now]):
    """Tells the time the code under test reads: epoch seconds or an aware ``datetime``.

    ``advance(10)``, ``advance(seconds=10)`` and ``advance(minutes=5)`` work for both kinds.
    Reads and moves are thread-safe: recorders and reporters read it from their own threads.
    """

    @overload
    def __init__(self: FakeClock[float], now: float = EPOCH) -> None: ...

    @overload
    def __init__(self: FakeClock[datetime], now: datetime) -> None: ...

    def __init__(self, now: float | datetime = EPOCH) -> None:
        self._now = now
        self._lock = threading.Lock()

    @property
    def now(self) -> Now:
        with self._lock:
            return self._now  # type: ignore[return-value]

    @now.setter
    def now(self, value: Now) -> None:
        with self._lock:
            self._now = value

    def __call__(self) -> Now:
        return self.now

    def advance(self, seconds: float = 0.0, **delta: float) -> None:
        """Move forward by ``seconds`` plus any ``timedelta`` keywords (minutes, hours, days)."""
        step = timedelta(seconds=seconds, **delta)
        with self._lock:
            if isinstance(self._now, datetime):
                self._now = self._now + step
            else:
                self._now = self._now + step.total_seconds()
