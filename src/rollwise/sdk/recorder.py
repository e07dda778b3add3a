"""Per-variant request outcomes and latencies, in wall-clock-aligned windows.

A rollout is judged on what the application measures under each variant, so every request
served under a flag is recorded here: by (flag, variant, route template), how many, how many
failed (5xx or an exception), how many were the client's fault (4xx, counted apart), and a
latency sketch (:class:`rollwise.stats.LatencySketch`, 1% relative error, at most ~7 KiB per
series whatever the request count). ``record()`` is called on the request path: a clock
read, one lock, three dict lookups, a few additions and a sketch update, with no allocation
once a series exists in the current window (about 5x a bare mmh3 hash).

Windows are aligned to the wall clock (``[k * window_seconds, (k + 1) * window_seconds)``),
so that the windows of every process fall in the same time bucket in the control plane.
When a request lands in a new window, the previous one is closed and queued (a pointer
swap: the work of turning it into wire objects happens in :meth:`RequestRecorder.drain`,
on the reporter's thread). At most ``max_closed`` closed windows wait (an hour at the
default 10 s): beyond that the oldest is dropped and counted in ``dropped_windows``, so a
dead control plane never grows memory. ``drain(include_open=True)`` also closes the
current, partial window (on shutdown); a later window may then have the same start, and
the control plane adds the two up.

Totals since the recorder was made (for Prometheus, see :mod:`rollwise.sdk.prometheus`) are
kept per series apart from the windows: draining never resets them, dropping a window never
loses them.

``record()`` never raises into the application: a ``status`` that is neither an int nor None,
or a key that cannot be hashed, is not recorded; a ``seconds`` that is not a number leaves
the request counted without a latency; both are counted in ``invalid_records``. A series
whose flag, variant or route the wire format refuses (empty flag or variant, longer than
200 characters) is left out of drained windows and counted in ``rejected_series``.

A request that names its ``unit`` (the flag's sticky unit) is also counted in the window's
distinct-unit sketches of its (flag, variant): every unit served, and every unit with a
server error (:mod:`rollwise.sdk._units`; needs the ``units`` extra, else units are not
tracked). The unit is hashed first: the sketches never see its text.

In a forked child the recorder starts empty: the parent reports what it recorded.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import ValidationError

from .. import _fork
from ..core.telemetry import RequestSeries, SketchData, UnitSketches
from ..errors import ConfigError
from ..stats.sketch import DEFAULT_ACCURACY, LatencySketch, SketchError
from . import _units

__all__ = [
    "CLIENT_ERROR",
    "ERROR",
    "SUCCESS",
    "ClosedWindow",
    "RequestRecorder",
    "SeriesKey",
    "SeriesTotals",
    "outcome_of",
]

SeriesKey = tuple[str, str, str]
"""(flag, variant, route template)."""

SUCCESS = "success"
ERROR = "error"
CLIENT_ERROR = "client_error"

_MAX_UNMERGED = 8
"""Closed windows kept apart for totals before the recorder folds them in itself."""


def outcome_of(status: int | None) -> str:
    """``error`` for a 5xx or no response (an exception), ``client_error`` for a 4xx,
    ``success`` otherwise (1xx, 2xx, 3xx)."""
    if status is None or status >= 500:
        return ERROR
    if status >= 400:
        return CLIENT_ERROR
    return SUCCESS


class _WindowSeries(LatencySketch):
    """One series in the open window: its counts, and itself the window's latency sketch."""

    __slots__ = ("client_errors", "errors", "requests")

    def __init__(self, accuracy: float) -> None:
        super().__init__(accuracy)
        self.requests = 0
        self.errors = 0
        self.client_errors = 0


_Windows = dict[str, dict[str, dict[str, _WindowSeries]]]
"""flag -> variant -> route -> series: three lookups on strings beat one on a tuple key."""
_Units = dict[str, dict[str, _units.UnitPair]]
"""flag -> variant -> the window's distinct-unit sketches."""


def _items(window: _Windows) -> Iterator[tuple[SeriesKey, _WindowSeries]]:
    for flag, variants in window.items():
        for variant, routes in variants.items():
            for route, series in routes.items():
                yield (flag, variant, route), series


class SeriesTotals:
    """Everything one series recorded since the recorder was made."""

    __slots__ = ("client_errors", "errors", "requests", "sketch")

    def __init__(self, accuracy: float) -> None:
        self.requests = 0
        self.errors = 0
        self.client_errors = 0
        self.sketch = LatencySketch(accuracy)

    @property
    def successes(self) -> int:
        return self.requests - self.errors - self.client_errors

    def add(self, requests: int, errors: int, client_errors: int, sketch: LatencySketch) -> None:
        self.requests += requests
        self.errors += errors
        self.client_errors += client_errors
        self.sketch.merge(sketch)

    def copy(self) -> SeriesTotals:
        clone = SeriesTotals(self.sketch.accuracy)
        clone.add(self.requests, self.errors, self.client_errors, self.sketch)
        return clone


def _accumulate(totals: dict[SeriesKey, SeriesTotals], window: _Windows, accuracy: float) -> None:
    for key, series in _items(window):
        total = totals.get(key)
        if total is None:
            total = totals[key] = SeriesTotals(accuracy)
        total.add(series.requests, series.errors, series.client_errors, series)


@dataclass(frozen=True, slots=True)
class ClosedWindow:
    """One closed window: its start (UTC), length, and a series per key that saw requests."""

    start: datetime
    seconds: int
    series: tuple[RequestSeries, ...]
    units: tuple[UnitSketches, ...] = ()


@dataclass(frozen=True, slots=True)
class _Closed:
    start: float
    series: _Windows
    units: _Units


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
        track_units: bool = True,
    ) -> None:
        if isinstance(window_seconds, bool) or not isinstance(window_seconds, int):
            raise ConfigError.single(None, "window_seconds", "must be an integer")
        if not 1 <= window_seconds <= 3600:
            raise ConfigError.single(None, "window_seconds", "must be from 1 to 3600 seconds")
        if isinstance(max_closed, bool) or not isinstance(max_closed, int) or max_closed < 1:
            raise ConfigError.single(None, "max_closed", "must be an integer of at least 1")
        try:
            LatencySketch(accuracy)
        except SketchError as error:
            raise ConfigError.single(None, "accuracy", str(error)) from None
        self.window_seconds = window_seconds
        self.accuracy = accuracy
        self.track_units = track_units and _units.AVAILABLE
        """Whether units are counted (asked, and the ``units`` extra installed)."""
        self._clock = clock
        self._max_closed = max_closed
        self._reset()
        _fork.track(self)

    def _reset(self) -> None:
        # _lock guards the open window, the closed queue and the counters below; it is the
        # only lock record() takes. _totals_lock serialises the readers that fold closed
        # windows into _totals (always taken before _lock, never while holding it).
        self._lock = threading.Lock()
        self._totals_lock = threading.Lock()
        self._open: _Windows = {}
        self._units: _Units = {}
        self._closed: deque[_Closed] = deque()
        self._unmerged: list[_Windows] = []  # closed, not yet in _totals
        self._backlog: dict[SeriesKey, SeriesTotals] = {}  # unmerged overflow, not in _totals
        self._totals: dict[SeriesKey, SeriesTotals] = {}
        self.dropped_windows = 0
        self.invalid_records = 0
        self.rejected_series = 0
        self._window_start, self._window_end = self._bounds(self._clock())

    # -- the request path --------------------------------------------------------------

    def record(
        self,
        flag: str,
        variant: str,
        seconds: float,
        status: int | None = 200,
        route: str = "",
        unit: object = None,
    ) -> None:
        """One request: ``status`` None means it raised (a server error); ``unit`` the
        flag's sticky unit, when the request had one. Never raises."""
        hashed: int | None = None
        if unit is not None and unit != "" and self.track_units:
            try:
                hashed = _units.unit_hash(unit)
            except Exception:  # noqa: BLE001 - the hot-path guard: a unit whose str() raises
                self.invalid_records += 1
        now = self._clock()
        lock = self._lock
        lock.acquire()  # not `with`: acquire/try/finally costs half as much
        try:
            if now >= self._window_end:
                self._rotate(now)
            try:
                series = self._open[flag][variant][route]
            except KeyError:
                series = self._new_series(flag, variant, route, status)
            if status is None or status >= 400:
                if status is None or status >= 500:
                    series.errors += 1
                else:
                    series.client_errors += 1
            series.requests += 1
            series.add(seconds)
            if hashed is not None:
                try:
                    pair = self._units[flag][variant]
                except KeyError:
                    pair = self._units.setdefault(flag, {})[variant] = _units.UnitPair()
                pair.seen.update(hashed)
                if status is None or status >= 500:
                    pair.failing.update(hashed)
        except TypeError:
            self.invalid_records += 1
        finally:
            lock.release()

    def _new_series(self, flag: str, variant: str, route: str, status: int | None) -> _WindowSeries:
        hash((flag, variant, route))  # raise TypeError (invalid) before creating anything
        outcome_of(status)
        series = _WindowSeries(self.accuracy)
        self._open.setdefault(flag, {}).setdefault(variant, {})[route] = series
        return series

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
        self._fold_totals()
        windows: list[ClosedWindow] = []
        rejected = 0
        for window in closed:
            series: list[RequestSeries] = []
            for (flag, variant, route), current in _items(window.series):
                try:
                    series.append(
                        RequestSeries(
                            flag=flag,
                            variant=variant,
                            route=route,
                            requests=current.requests,
                            errors=current.errors,
                            client_errors=current.client_errors,
                            latency=SketchData.model_validate(current.to_dict()),
                        )
                    )
                except ValidationError:
                    rejected += 1
            units: list[UnitSketches] = []
            for flag, variants in window.units.items():
                for variant, pair in variants.items():
                    seen, failing = pair.wire()
                    try:
                        units.append(
                            UnitSketches(flag=flag, variant=variant, seen=seen, failing=failing)
                        )
                    except ValidationError:
                        rejected += 1
            if series:
                start = datetime.fromtimestamp(window.start, UTC)
                windows.append(
                    ClosedWindow(start, self.window_seconds, tuple(series), tuple(units))
                )
        if rejected:
            with self._lock:
                self.rejected_series += rejected
        return windows

    @property
    def pending_windows(self) -> int:
        """Closed windows waiting for :meth:`drain`."""
        return len(self._closed)

    def _bounds(self, now: float) -> tuple[float, float]:
        start = (int(now) // self.window_seconds) * self.window_seconds
        return float(start), float(start + self.window_seconds)

    def _rotate(self, now: float) -> None:
        """Close the open window (caller holds the lock) and open the one holding ``now``."""
        opened = self._open
        if opened:
            self._open = {}
            units, self._units = self._units, {}
            if len(self._closed) >= self._max_closed:
                self._closed.popleft()
                self.dropped_windows += 1
            self._closed.append(_Closed(self._window_start, opened, units))
            self._unmerged.append(opened)
            if len(self._unmerged) > _MAX_UNMERGED:  # nobody reads totals: keep memory flat
                _accumulate(self._backlog, self._unmerged.pop(0), self.accuracy)
        self._window_start, self._window_end = self._bounds(now)

    # -- totals ------------------------------------------------------------------------

    def _fold_totals(self) -> None:
        """Fold the windows closed since the last fold into ``_totals`` (outside ``_lock``:
        closed windows are never written again)."""
        with self._totals_lock:
            with self._lock:
                unmerged, self._unmerged = self._unmerged, []
                backlog, self._backlog = self._backlog, {}
            self._merge_pending(unmerged, backlog)

    def _merge_pending(
        self, unmerged: list[_Windows], backlog: dict[SeriesKey, SeriesTotals]
    ) -> None:
        totals = self._totals
        for key, pending in backlog.items():
            total = totals.get(key)
            if total is None:
                totals[key] = pending
            else:
                total.add(pending.requests, pending.errors, pending.client_errors, pending.sketch)
        for window in unmerged:
            _accumulate(totals, window, self.accuracy)

    def totals(self) -> dict[SeriesKey, SeriesTotals]:
        """Totals per series since the recorder was made, open window included (copies)."""
        with self._totals_lock:
            with self._lock:  # one consistent cut: closed windows taken, open one copied
                unmerged, self._unmerged = self._unmerged, []
                backlog, self._backlog = self._backlog, {}
                live = [
                    (key, s.requests, s.errors, s.client_errors, s.copy())
                    for key, s in _items(self._open)
                ]
            self._merge_pending(unmerged, backlog)
            result = {key: total.copy() for key, total in self._totals.items()}
        for key, requests, errors, client_errors, sketch in live:
            total = result.get(key)
            if total is None:
                total = result[key] = SeriesTotals(self.accuracy)
            total.add(requests, errors, client_errors, sketch)
        return result

    def _after_fork_in_child(self) -> None:
        self._reset()
