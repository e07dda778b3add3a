"""Per-variant request outcomes and latencies, in wall-clock-aligned windows.

A rollout is judged on what the application measures under each variant, so every request
served under a flag is recorded here: by (flag, variant, route template), how many, how many
failed (5xx or an exception), how many were the client's fault (4xx, counted apart), and a
latency sketch. ``record()`` is called on the request path: one lock, one dict lookup, a few
additions and a sketch update — no allocation once a series exists.

Windows are aligned to the wall clock (``[k * window_seconds, (k + 1) * window_seconds)``),
so that the windows of every process fall in the same time bucket in the control plane.
When a request lands in a new window, the previous one is closed and queued; the reporter
takes closed windows with :meth:`RequestRecorder.drain`. At most ``max_closed`` closed
windows wait (an hour at the default 10 s): beyond that the oldest is dropped and counted,
so a dead control plane never grows memory.

Totals since the recorder was made (for Prometheus, see :mod:`rollwise.sdk.prometheus`) are
kept per series apart from the windows: draining never resets them.

In a forked child the recorder starts empty: the parent reports what it recorded.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from ..core.telemetry import RequestSeries, SketchData
from ..stats.sketch import DEFAULT_ACCURACY, LatencySketch
from . import _fork

__all__ = ["ClosedWindow", "RequestRecorder", "SeriesKey", "SeriesTotals", "outcome_of"]

SeriesKey = tuple[str, str, str]
"""(flag, variant, route template)."""

SUCCESS = "success"
ERROR = "error"
CLIENT_ERROR = "client_error"


def outcome_of(status: int | None) -> str:
    """``error`` for a 5xx or no response (an exception), ``client_error`` for a 4xx."""
    if status is None or status >= 500:
        return ERROR
    if status >= 400:
        return CLIENT_ERROR
    return SUCCESS


class _Series:
    """One series: its open window's counts and sketch, and its totals so far."""

    __slots__ = (
        "client_errors",
        "errors",
        "requests",
        "sketch",
        "total",
    )

    def __init__(self, accuracy: float) -> None:
        self.requests = 0
        self.errors = 0
        self.client_errors = 0
        self.sketch = LatencySketch(accuracy)
        self.total: SeriesTotals = SeriesTotals(accuracy)


class SeriesTotals:
    """Everything one series recorded since the recorder was made (closed windows only).

    Exporters add the open window (:meth:`RequestRecorder.totals` does) to get live figures.
    """

    __slots__ = ("client_errors", "errors", "requests", "sketch")

    def __init__(self, accuracy: float) -> None:
        self.requests = 0
        self.errors = 0
        self.client_errors = 0
        self.sketch = LatencySketch(accuracy)

    @property
    def successes(self) -> int:
        return self.requests - self.errors - self.client_errors


@dataclass(frozen=True, slots=True)
class ClosedWindow:
    """One closed window: its start (UTC), length, and a series per key that saw requests."""

    start: datetime
    seconds: int
    series: tuple[RequestSeries, ...]


class RequestRecorder:
    """Thread-safe recorder of request outcomes by (flag, variant, route).

    ``clock`` gives seconds since the epoch (injected in tests). ``accuracy`` is the
    latency sketch's relative error.
    """

    def __init__(
        self,
        *,
        window_seconds: int = 10,
        max_closed: int = 360,
        accuracy: float = DEFAULT_ACCURACY,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if window_seconds < 1:
            raise ValueError("window_seconds must be at least 1")
        self.window_seconds = window_seconds
        self.accuracy = accuracy
        self._clock = clock
        self._lock = threading.Lock()
        self._series: dict[SeriesKey, _Series] = {}
        self._closed: deque[ClosedWindow] = deque()
        self._max_closed = max_closed
        self.dropped_windows = 0
        self._window_start, self._window_end = self._bounds(clock())
        _fork.track(self)

    # -- the request path --------------------------------------------------------------

    def record(
        self,
        flag: str,
        variant: str,
        seconds: float,
        status: int | None = 200,
        route: str = "",
    ) -> None:
        """One request: ``status`` None means it raised (a server error)."""
        now = self._clock()
        with self._lock:
            if now >= self._window_end:
                self._rotate(now)
            series = self._series.get((flag, variant, route))
            if series is None:
                series = self._series[(flag, variant, route)] = _Series(self.accuracy)
            series.requests += 1
            if status is None or status >= 500:
                series.errors += 1
            elif status >= 400:
                series.client_errors += 1
            series.sketch.add(seconds)

    # -- windows -----------------------------------------------------------------------

    def drain(self, *, include_open: bool = False) -> list[ClosedWindow]:
        """Closed windows, oldest first, handed over once; ``include_open`` closes the
        current window first (on shutdown, so that nothing recorded is left behind)."""
        now = self._clock()
        with self._lock:
            if now >= self._window_end or include_open:
                self._rotate(now)
            closed = list(self._closed)
            self._closed.clear()
        return closed

    def _bounds(self, now: float) -> tuple[float, float]:
        start = (int(now) // self.window_seconds) * self.window_seconds
        return float(start), float(start + self.window_seconds)

    def _rotate(self, now: float) -> None:
        """Close the open window (caller holds the lock) and open the one holding ``now``."""
        series = []
        for (flag, variant, route), current in self._series.items():
            if current.requests == 0:
                continue
            series.append(
                RequestSeries(
                    flag=flag,
                    variant=variant,
                    route=route,
                    requests=current.requests,
                    errors=current.errors,
                    client_errors=current.client_errors,
                    latency=SketchData.model_validate(current.sketch.to_dict()),
                )
            )
            total = current.total
            total.requests += current.requests
            total.errors += current.errors
            total.client_errors += current.client_errors
            total.sketch.merge(current.sketch)
            current.requests = current.errors = current.client_errors = 0
            current.sketch = LatencySketch(self.accuracy)
        if series:
            if len(self._closed) >= self._max_closed:
                self._closed.popleft()
                self.dropped_windows += 1
            start = datetime.fromtimestamp(self._window_start, UTC)
            self._closed.append(ClosedWindow(start, self.window_seconds, tuple(series)))
        self._window_start, self._window_end = self._bounds(now)

    # -- totals ------------------------------------------------------------------------

    def totals(self) -> dict[SeriesKey, SeriesTotals]:
        """Totals per series since the recorder was made, open window included (copies)."""
        with self._lock:
            result: dict[SeriesKey, SeriesTotals] = {}
            for key, current in self._series.items():
                combined = SeriesTotals(self.accuracy)
                combined.requests = current.total.requests + current.requests
                combined.errors = current.total.errors + current.errors
                combined.client_errors = current.total.client_errors + current.client_errors
                combined.sketch = current.total.sketch.copy()
                combined.sketch.merge(current.sketch)
                result[key] = combined
            return result

    def _after_fork_in_child(self) -> None:
        self._lock = threading.Lock()
        self._series = {}
        self._closed = deque()
        self.dropped_windows = 0
        self._window_start, self._window_end = self._bounds(self._clock())
