"""Fault injection for the demo: make the domain implementation fail or slow down.

``CAMERA_SERVICE_FAULT`` (off by default) is a comma-separated list of:

- ``error-rate=0.05``: that share of domain calls answers **500** ``injected_fault``
  before doing anything. It is an answer, not an exception, so it is *not* rescued by the
  fallback to legacy: the per-variant error rate shows it (this is what makes a rollout
  roll back in ``rollwise demo --fault error-rate=0.05``).
- ``exception-rate=0.05``: that share of domain calls raises ``RuntimeError``: the fallback
  to legacy answers and counts it (see :mod:`camera_service.dispatch`).
- ``latency=2x``: every domain request takes ``factor`` times as long; the extra sleep is
  ``(factor - 1) * max(elapsed, 5 ms)`` where ``elapsed`` runs from the moment the request
  entered the application (:class:`RequestStart`) to the end of the domain call. Measuring
  only the call would not do: on a loaded machine the request's own overhead (routing, the
  thread pool's queue) dwarfs a millisecond call, and "2x" shrank to 1.6x of the request
  latency the rollout judges. The floor makes a sub-millisecond request visibly slower.
  ``latency=50ms`` (or ``0.05s``) adds a fixed delay instead.

Only the domain implementation is affected, whichever way it runs (primary, or in the
shadow of a dual-run comparison).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from starlette.types import ASGIApp, Receive, Scope, Send

from .errors import InjectedFault, SettingsError

__all__ = [
    "LATENCY_FLOOR_SECONDS",
    "FaultInjector",
    "FaultSpec",
    "InjectedException",
    "RequestStart",
    "request_started",
]

T = TypeVar("T")

LATENCY_FLOOR_SECONDS = 0.005
_SETTING = "CAMERA_SERVICE_FAULT"

request_started: ContextVar[float | None] = ContextVar("request_started", default=None)
"""``time.perf_counter()`` when the current request entered the application, if known."""


class RequestStart:
    """ASGI middleware noting when each request entered (for ``latency=Nx``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = request_started.set(time.perf_counter())
        try:
            await self.app(scope, receive, send)
        finally:
            request_started.reset(token)


class InjectedException(RuntimeError):
    """What ``exception-rate`` raises: an unexpected failure, as a bug would produce."""


@dataclass(frozen=True, slots=True)
class FaultSpec:
    error_rate: float = 0.0
    exception_rate: float = 0.0
    latency_factor: float = 1.0
    latency_added_seconds: float = 0.0

    @property
    def active(self) -> bool:
        return bool(
            self.error_rate
            or self.exception_rate
            or self.latency_factor != 1.0
            or self.latency_added_seconds
        )

    @classmethod
    def parse(cls, text: str | None) -> FaultSpec:
        """Parse ``error-rate=0.05,latency=2x``; an empty or missing text is no fault."""
        values: dict[str, float] = {}
        for item in (text or "").split(","):
            item = item.strip()
            if not item:
                continue
            key, equals, raw = item.partition("=")
            key, raw = key.strip().lower(), raw.strip().lower()
            if not equals:
                raise SettingsError(_SETTING, f"{item!r} is not key=value")
            if key in ("error-rate", "exception-rate"):
                rate = _number(raw, item)
                if not 0.0 <= rate <= 1.0:
                    raise SettingsError(_SETTING, f"{key} must be between 0 and 1, got {raw}")
                values[key.replace("-", "_")] = rate
            elif key == "latency":
                values.update(_latency(raw, item))
            else:
                raise SettingsError(
                    _SETTING, f"unknown fault {key!r} (use error-rate, exception-rate, latency)"
                )
        return cls(**values)

    def describe(self) -> dict[str, float]:
        return {
            "error_rate": self.error_rate,
            "exception_rate": self.exception_rate,
            "latency_factor": self.latency_factor,
            "latency_added_seconds": self.latency_added_seconds,
        }


def _number(raw: str, item: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise SettingsError(_SETTING, f"{item!r}: {raw!r} is not a number") from None


def _latency(raw: str, item: str) -> dict[str, float]:
    if raw.endswith("x"):
        factor = _number(raw[:-1], item)
        if not factor >= 1.0:
            raise SettingsError(_SETTING, f"latency factor must be at least 1, got {raw}")
        return {"latency_factor": factor}
    if raw.endswith("ms"):
        added = _number(raw[:-2], item) / 1000.0
    elif raw.endswith("s"):
        added = _number(raw[:-1], item)
    else:
        raise SettingsError(_SETTING, f"latency is a factor (2x) or a delay (50ms), got {raw!r}")
    if not added >= 0.0:
        raise SettingsError(_SETTING, f"latency delay must not be negative, got {raw}")
    return {"latency_added_seconds": added}


class FaultInjector:
    """Applies a :class:`FaultSpec` around calls; counts what it injected.

    ``random`` draws floats in ``[0, 1)``; ``clock`` (``perf_counter``'s time scale, as
    :data:`request_started`) and ``sleep`` measure and add latency (all injectable, so tests
    check behaviour without waiting).
    """

    def __init__(
        self,
        spec: FaultSpec,
        *,
        random: Callable[[], float],
        clock: Callable[[], float] = time.perf_counter,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.spec = spec
        self._random = random
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self.injected: Counter[str] = Counter()

    def call(self, operation: str, function: Callable[..., T], *args: Any) -> T:
        spec = self.spec
        if not spec.active:
            return function(*args)
        if spec.error_rate and self._random() < spec.error_rate:
            self._count("error")
            raise InjectedFault(f"injected fault in the domain service ({operation})")
        if spec.exception_rate and self._random() < spec.exception_rate:
            self._count("exception")
            raise InjectedException(f"injected exception in the domain service ({operation})")
        started = self._clock()
        try:
            return function(*args)
        finally:
            extra = spec.latency_added_seconds
            if spec.latency_factor != 1.0:
                entered = request_started.get()
                since = started if entered is None else entered
                elapsed = max(self._clock() - since, LATENCY_FLOOR_SECONDS)
                extra += (spec.latency_factor - 1.0) * elapsed
            if extra > 0.0:
                self._count("latency")
                self._sleep(extra)

    def _count(self, kind: str) -> None:
        with self._lock:
            self.injected[kind] += 1

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self.injected)
