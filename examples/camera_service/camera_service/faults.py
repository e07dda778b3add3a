"""Fault injection for the demo: make the domain implementation fail or slow down.

``CAMERA_SERVICE_FAULT`` (off by default) is a comma-separated list of:

- ``error-rate=0.05``: that share of domain calls answers **500** ``injected_fault``
  before doing anything. It is an answer, not an exception, so it is *not* rescued by the
  fallback to legacy: the per-variant error rate shows it (this is what makes a rollout
  roll back in ``rollwise demo --fault error-rate=0.05``).
- ``exception-rate=0.05``: that share of domain calls raises ``RuntimeError``: the fallback
  to legacy answers and counts it (see :mod:`camera_service.dispatch`).
- ``latency=2x``: every request the **domain variant serves** takes ``factor`` times as
  long. With :class:`RequestStart` installed (the app does it for a latency factor), the
  domain call only marks its request, and the answer is held back when it starts, by
  ``(factor - 1) * max(elapsed, 5 ms)`` with ``elapsed`` running from the moment the request
  entered the application: the whole request is slowed (routing, the thread pool's queue,
  the hand-back to the event loop), with an async sleep that holds no worker thread. The
  floor makes a sub-millisecond request visibly slower. Without the middleware (a bare
  injector) the call itself sleeps ``(factor - 1) * max(call time, 5 ms)`` after it ran.
- ``latency=50ms`` (or ``0.05s``): a fixed delay after every domain call, whichever way it
  runs (primary, or in the shadow of a dual-run comparison).

Why a factor slows the domain-served *requests*, not every domain *call*: on a loaded
machine (load 11-29 on 2 cores) measuring only the call made "2x" 1.6x of the request
latency the rollout judges; and slowing the domain calls that run in the shadow of legacy
requests (a quarter of the demo's traffic is compared alert-rule reads, where the legacy
request waits for its shadow) made legacy slower too: the judged p50 ratio fell to 1.78x,
too close to the demo's 1.5x gate to be shown within a step. Errors and exceptions still
hit the domain implementation whichever way it runs.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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

_DOMAIN = b"domain"
_VARIANT_HEADER = b"x-camera-variant"

request_started: ContextVar[float | None] = ContextVar("request_started", default=None)
"""``time.perf_counter()`` when the current request entered the application, if known."""


class _SlowAnswer:
    """The current request's latency fault: set by a domain call, applied by RequestStart.

    Shared by reference with the thread pool and the dual-run's shadow task (they run in
    copies of the request's context), so a mark made there is seen when the answer starts.
    """

    __slots__ = ("entered", "injector")

    def __init__(self, entered: float) -> None:
        self.entered = entered
        self.injector: FaultInjector | None = None


_slow_answer: ContextVar[_SlowAnswer | None] = ContextVar("camera_slow_answer", default=None)


def _served_by_domain(message: Message) -> bool:
    """Whether an ``http.response.start`` is recorded under the domain variant."""
    return any(
        name.lower() == _VARIANT_HEADER and value == _DOMAIN
        for name, value in message.get("headers", ())
    )


class RequestStart:
    """ASGI middleware (inside the recording) for ``latency=Nx``: notes when each request
    entered, and holds back the answer of a request the domain variant served after a
    domain call asked for it (see the module docs)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        entered = time.perf_counter()
        slow = _SlowAnswer(entered)

        async def send_slowed(message: Message) -> None:
            injector = slow.injector
            if (
                injector is not None
                and message["type"] == "http.response.start"
                and _served_by_domain(message)
            ):
                await injector.hold_answer(entered)
            await send(message)

        token = request_started.set(entered)
        slow_token = _slow_answer.set(slow)
        try:
            await self.app(scope, receive, send_slowed)
        finally:
            _slow_answer.reset(slow_token)
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
    :data:`request_started`), ``sleep`` (in the call's thread) and ``async_sleep`` (holding
    an answer back, in the event loop) measure and add latency (all injectable, so tests
    check behaviour without waiting).
    """

    def __init__(
        self,
        spec: FaultSpec,
        *,
        random: Callable[[], float],
        clock: Callable[[], float] = time.perf_counter,
        sleep: Callable[[float], None] = time.sleep,
        async_sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        self.spec = spec
        self._random = random
        self._clock = clock
        self._sleep = sleep
        self._async_sleep = async_sleep
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
                slow = _slow_answer.get()
                if slow is not None:  # RequestStart slows the answer, if domain serves it
                    slow.injector = self
                else:
                    entered = request_started.get()
                    since = started if entered is None else entered
                    elapsed = max(self._clock() - since, LATENCY_FLOOR_SECONDS)
                    extra += (spec.latency_factor - 1.0) * elapsed
            if extra > 0.0:
                self._count("latency")
                self._sleep(extra)

    async def hold_answer(self, entered: float) -> None:
        """Hold back the answer of a domain-served request: ``factor`` times its time so far."""
        elapsed = max(self._clock() - entered, LATENCY_FLOOR_SECONDS)
        self._count("latency")
        await self._async_sleep((self.spec.latency_factor - 1.0) * elapsed)

    def _count(self, kind: str) -> None:
        with self._lock:
            self.injected[kind] += 1

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self.injected)
