"""The reporter's bounded queue of batches waiting to be sent.

Memory is bounded whatever the control plane does: at most ``capacity`` batches wait, plus
the one being sent. When a new batch does not fit, the oldest waiting one is dropped and
handed back to the caller, which counts it. A batch whose send failed goes back to the head
(it is still the oldest), so a long outage drops the oldest data first and keeps the newest.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from ...core.telemetry import DropCounts, TelemetryBatch

__all__ = ["BatchQueue", "Pending"]


@dataclass(slots=True)
class Pending:
    """One batch on its way: its content, and once first sent, its frozen body.

    The body (and with it ``sent_at`` and the drops it reports) is fixed on the first
    attempt, so that every retry sends the same bytes under the same ``batch_id``.
    """

    batch: TelemetryBatch
    body: bytes | None = None
    attempts: int = 0
    carried: DropCounts = field(default_factory=DropCounts)

    @property
    def windows(self) -> int:
        return len(self.batch.windows)

    @property
    def samples(self) -> int:
        return len(self.batch.samples)


class BatchQueue:
    """A thread-safe FIFO of :class:`Pending` batches that drops the oldest when full."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._items: deque[Pending] = deque()
        self._in_flight = 0
        self._changed = threading.Condition(threading.Lock())

    def __len__(self) -> int:
        return len(self._items)

    @property
    def idle(self) -> bool:
        """Nothing waiting and nothing being sent."""
        with self._changed:
            return not self._items and self._in_flight == 0

    def put(self, pending: Pending) -> list[Pending]:
        """Append ``pending``; return the batches dropped to make room (oldest first)."""
        with self._changed:
            dropped = self._make_room()
            self._items.append(pending)
            self._changed.notify_all()
        return dropped

    def take(
        self, timeout: float | None = 0.0, stop: Callable[[], bool] = lambda: False
    ) -> Pending | None:
        """The oldest batch, now marked in flight; None if none came within ``timeout``
        (None: no limit) or ``stop()`` became true first (checked when woken)."""
        with self._changed:
            if not self._items and timeout != 0.0:
                self._changed.wait_for(lambda: bool(self._items) or stop(), timeout)
            if not self._items:
                return None
            self._in_flight += 1
            return self._items.popleft()

    def done(self) -> None:
        """The batch taken last was delivered or given up."""
        with self._changed:
            self._in_flight -= 1
            self._changed.notify_all()

    def put_back(self, pending: Pending) -> list[Pending]:
        """Return a batch whose send failed to the head; if full, it is the one dropped."""
        with self._changed:
            self._in_flight -= 1
            if len(self._items) >= self.capacity:
                self._changed.notify_all()
                return [pending]
            self._items.appendleft(pending)
            self._changed.notify_all()
        return []

    def wake(self) -> None:
        """Wake a waiting :meth:`take` so that it checks its ``stop`` again."""
        with self._changed:
            self._changed.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._items or self._in_flight:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
            return True

    def clear(self) -> list[Pending]:
        """Remove and return every waiting batch."""
        with self._changed:
            items = list(self._items)
            self._items.clear()
            self._changed.notify_all()
        return items

    def _make_room(self) -> list[Pending]:
        dropped = []
        while len(self._items) >= self.capacity:
            dropped.append(self._items.popleft())
        return dropped
