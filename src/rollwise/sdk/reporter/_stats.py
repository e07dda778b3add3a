"""The reporter's counters: what it delivered, retried and dropped, under one lock.

Drops are counted twice on purpose: in the totals a health endpoint shows, and in the
tally still to be reported to the control plane (``TelemetryBatch.dropped``), which the
next batch sent takes over and gives back if it is dropped in turn.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass

from ...core.telemetry import DropCounts
from ._queue import Pending

__all__ = ["ReporterStats"]


@dataclass(slots=True)
class _Tally:
    batches: int = 0
    windows: int = 0
    samples: int = 0

    def any(self) -> bool:
        return bool(self.batches or self.windows or self.samples)


class ReporterStats:
    """Thread-safe counters of one reporter in one process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.delivered = 0
        self.retries = 0
        self.rejected = 0
        self.invalid_rows = 0
        self.dropped = _Tally()
        self._unreported = _Tally()
        self.last_error: str | None = None
        self.last_delivery: float | None = None

    def lost(self, batches: Iterable[Pending]) -> int:
        """Count batches that will never be delivered, and what they carried; how many."""
        lost = 0
        with self._lock:
            for pending in batches:
                lost += 1
                carried = pending.carried
                pending.carried = DropCounts()
                for tally in (self.dropped, self._unreported):
                    tally.batches += 1
                    tally.windows += pending.windows
                    tally.samples += pending.samples
                self._unreported.batches += carried.batches
                self._unreported.windows += carried.windows
                self._unreported.samples += carried.samples
        return lost

    def lost_parts(self, *, windows: int = 0, samples: int = 0) -> None:
        """Windows or samples dropped before they were ever in a batch."""
        with self._lock:
            for tally in (self.dropped, self._unreported):
                tally.windows += windows
                tally.samples += samples

    def has_unreported(self) -> bool:
        with self._lock:
            return self._unreported.any()

    def take_unreported(self) -> DropCounts:
        """The drops the next batch reports; given back by :meth:`lost` if it is lost too."""
        with self._lock:
            tally, self._unreported = self._unreported, _Tally()
        return DropCounts(batches=tally.batches, windows=tally.windows, samples=tally.samples)

    def add(self, name: str, amount: int = 1) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + amount)

    def delivered_now(self, at: float) -> bool:
        """Count a delivery; True if it ends a streak of failures."""
        with self._lock:
            self.delivered += 1
            self.last_delivery = at
            recovered = self.last_error is not None
            self.last_error = None
            return recovered

    def failed(self, detail: str) -> bool:
        """Remember a failure; True if it starts a streak (the one worth logging)."""
        with self._lock:
            first = self.last_error is None
            self.last_error = detail
            return first
