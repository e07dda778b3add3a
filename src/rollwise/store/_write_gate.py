"""First come, first served for SQLite's one writer within a process.

SQLite lets one transaction write at a time; the others wait in its busy handler, which
sleeps and retries (up to 100 ms between tries) and so favours whoever asks again first.
A batch stored as a series of short transactions would then take the lock back after each
of them while a flag change kept sleeping: short transactions alone do not make a fair
queue. This gate does: write transactions of one process take a ticket and enter in
order, so a flag change waits for at most the one transaction in progress. A thread that
already holds the gate passes through (a nested transaction behaves as it did without it).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["WriteGate"]


class WriteGate:
    """A FIFO ticket lock, re-entrant for the thread holding it."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._next_ticket = 0
        self._serving = 0
        self._holder: int | None = None
        self._depth = 0

    @contextmanager
    def held(self) -> Iterator[None]:
        me = threading.get_ident()
        with self._condition:
            if self._holder == me:
                self._depth += 1
            else:
                ticket = self._next_ticket
                self._next_ticket += 1
                while ticket != self._serving:
                    self._condition.wait()
                self._holder, self._depth = me, 1
        try:
            yield
        finally:
            with self._condition:
                self._depth -= 1
                if self._depth == 0:
                    self._holder = None
                    self._serving += 1
                    self._condition.notify_all()
