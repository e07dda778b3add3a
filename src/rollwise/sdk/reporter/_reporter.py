"""Shipping what the SDK measured to the control plane, in the background.

Every window (the recorder's, 10 s by default, aligned to the wall clock) a tick drains:

- the recorder's closed request windows (per flag, variant and route),
- evaluation counts per flag and variant (the usage share; counted only while a reporter
  runs, see :meth:`rollwise.Client.set_usage_counting`),
- dual-run comparison counts and mismatch samples,
- per-request override decisions,

turns them into :class:`~rollwise.core.telemetry.TelemetryBatch` objects and queues them.
A sender thread POSTs each batch to ``{url}/api/v1/sdk/telemetry`` with the sdk token.

Guarantees:

- **Never blocks a request.** The request path only touches in-memory counters; ticks
  and sends run on the reporter's own two threads. Nothing starts before :meth:`start`.
- **Bounded memory.** At most ``queue_size`` batches wait (plus the one being sent); when
  full, the oldest is dropped. Drops are counted in :meth:`Reporter.health` and reported to
  the control plane in the ``dropped`` field of the next batch sent.
- **No double counting.** A batch is retried (5xx, 408, 429, network errors; capped
  exponential backoff with jitter) with the same ``batch_id`` and the same bytes, and the
  control plane stores each id once. Other 4xx answers drop the batch (logged, counted).
- **Flushes on close.** :meth:`close` closes the open window too and sends everything
  within ``close_timeout`` seconds; a started reporter is also closed at interpreter exit.
- **Fork-safe.** A forked child starts with an empty queue and zero counters, a new
  instance name, and restarts its threads if the parent's reporter was started.

Attribution: request series carry their own window; usage and comparison counts drained by
a tick belong to the window that tick closed (on close or flush: the open window).

Usage::

    import rollwise

    options = rollwise.ClientOptions(
        reporting=rollwise.ReporterOptions("https://rollwise.internal", token=SDK_TOKEN)
    )
    with rollwise.Client(source, options=options) as client:  # starts the reporter too
        ...

    # or on its own, for a client or just a recorder:
    reporter = rollwise.Reporter(rollwise.ReporterOptions(url, token), client=client)
    reporter.start()
    ...
    reporter.close()
"""

from __future__ import annotations

import atexit
import logging
import math
import os
import random as _random
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from ...core.telemetry import TelemetryBatch
from ...errors import ConfigError
from ... import _fork
from ..recorder import ClosedWindow, RequestRecorder
from ._build import Batch, Drained, build_batches
from ._http import TELEMETRY_PATH, Answer, Verdict, backoff, post_batch
from ._queue import BatchQueue, Pending
from ._stats import ReporterStats
from ._usage import UsageCounter

if TYPE_CHECKING:
    from ..client import Client

__all__ = [
    "ComparisonSource",
    "OverrideSource",
    "Reporter",
    "ReporterHealth",
    "ReporterOptions",
    "UsageCounter",
]

TICK_DELAY = 0.1
"""Seconds after a window boundary at which a tick runs (the window is closed by then)."""


@dataclass(frozen=True, slots=True)
class ReporterOptions:
    """Where to report and how patiently.

    ``url`` is the control plane's base URL (``https://host`` or ``https://host/prefix``),
    ``token`` an sdk token (it names the environment). ``queue_size`` batches may wait;
    ``timeout`` bounds each POST; retries wait ``initial_backoff * 2**n`` seconds, at most
    ``max_backoff``, jittered; :meth:`Reporter.close` waits at most ``close_timeout``.
    ``instance`` names this process in the control plane (default: the host name); the
    process id is appended so that forked workers differ. ``ticks=False`` starts no tick
    thread: draining is left to :meth:`Reporter.collect`, ``flush`` and ``close`` (for
    tests, and for applications that drive reporting themselves, e.g. once per job).
    """

    url: str
    token: str = field(repr=False)
    queue_size: int = 60
    timeout: float = 5.0
    initial_backoff: float = 0.5
    max_backoff: float = 60.0
    close_timeout: float = 5.0
    instance: str | None = None
    ticks: bool = True

    def __post_init__(self) -> None:
        def invalid(name: str, reason: str) -> ConfigError:
            return ConfigError.single(None, f"reporting.{name}", reason)

        if not self.url.startswith(("http://", "https://")):
            raise invalid("url", f"must start with http:// or https:// (got {self.url!r})")
        if not self.token or not self.token.strip():
            raise invalid("token", "an sdk token is required")
        if self.queue_size < 1:
            raise invalid("queue_size", "must be at least 1")
        for name in ("timeout", "initial_backoff", "max_backoff", "close_timeout"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise invalid(name, f"must be a positive number of seconds (got {value!r})")
        if self.max_backoff < self.initial_backoff:
            raise invalid("max_backoff", "must not be smaller than initial_backoff")
        if self.instance is not None and not self.instance.strip():
            raise invalid("instance", "must not be empty")


@dataclass(frozen=True, slots=True)
class ReporterHealth:
    """What a reporter did in this process, for health endpoints and logs.

    ``batches_dropped`` counts batches lost for any reason: the queue was full, the control
    plane rejected them (also in ``batches_rejected``), or ``close()`` ran out of time.
    ``invalid_rows`` are rows that did not fit the wire schema and were skipped.
    """

    instance: str
    started: bool
    queued: int
    batches_sent: int
    retries: int
    batches_rejected: int
    batches_dropped: int
    windows_dropped: int
    samples_dropped: int
    invalid_rows: int
    last_error: str | None
    last_delivery_at: float | None


class ComparisonSource(Protocol):
    """A dual-run sink (or a :class:`~rollwise.sdk.compare.DualRun`): ``drain() -> dict``."""

    def drain(self) -> dict[str, Any]: ...


class OverrideSource(Protocol):
    """An :class:`~rollwise.sdk.override_tokens.OverrideCounter`: ``drain() -> rows``."""

    def drain(self) -> list[dict[str, Any]]: ...


class Reporter:
    """Drains request windows, usage, comparisons and overrides; sends them in batches.

    ``client`` contributes its recorder, usage counts, comparisons and registered override
    counters (and gets usage counting turned on while the reporter runs). ``recorder``
    replaces the client's recorder (or stands alone); ``comparisons`` and ``overrides``
    add sources. ``transport`` is handed to httpx (tests inject one); ``clock`` gives wall
    seconds for window attribution; ``random`` draws jitter in ``[0, 1)``.
    """

    def __init__(
        self,
        options: ReporterOptions,
        *,
        client: Client | None = None,
        recorder: RequestRecorder | None = None,
        comparisons: Iterable[ComparisonSource] = (),
        overrides: Iterable[OverrideSource] = (),
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        random: Callable[[], float] | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        self.options = options
        self.client = client
        if recorder is None:
            recorder = client.recorder if client is not None else RequestRecorder(clock=clock)
        self.recorder = recorder
        self._comparisons = list(comparisons)
        self._overrides = list(overrides)
        self._transport = transport
        self._clock = clock
        # the stdlib's shared generator is reseeded in forked children (a private one is not)
        self._random = random if random is not None else _random.random
        self._logger = logger or logging.getLogger("rollwise")
        self._url = options.url.rstrip("/") + TELEMETRY_PATH
        self._started = False
        self._fresh_process_state()

    def _fresh_process_state(self) -> None:
        """Everything that belongs to one process: rebuilt in a forked child."""
        self._state_lock = threading.Lock()
        self._collect_lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._queue = BatchQueue(self.options.queue_size)
        self._stats = ReporterStats()
        base = self.options.instance or socket.gethostname() or "unknown"
        self.instance = f"{base[:180]}:{os.getpid()}"
        self._http: httpx.Client | None = None
        self._recorder_drops = self.recorder.dropped_windows
        self._ticker: threading.Thread | None = None
        self._sender: threading.Thread | None = None
        self._stop_ticking = threading.Event()
        self._retired = threading.Event()
        self._hurry = threading.Event()
        self._closing = False
        self._close_deadline = math.inf
        self._rejection_logged: int | None = None

    # -- sources -------------------------------------------------------------------------

    def add_comparisons(self, source: ComparisonSource) -> None:
        """Also drain ``source`` (a DualRun or a comparison sink) on every tick."""
        self._comparisons.append(source)

    def add_override_counter(self, counter: OverrideSource) -> None:
        """Also drain ``counter`` (an OverrideCounter) on every tick."""
        self._overrides.append(counter)

    def _drain(self, include_open: bool) -> Drained:
        """Take everything from every source; one failing source loses nothing of the others."""
        drained = Drained()
        client = self.client
        comparisons = list(self._comparisons)
        overrides = list(self._overrides)
        if client is not None:
            comparisons.insert(0, client.comparisons)
            overrides[:0] = client.override_counters
        self._guarded("recorder", drained.windows.extend, self._drain_recorder, include_open)
        if client is not None:
            self._guarded("usage", drained.usage.extend, client.usage.drain)
        for source in comparisons:
            self._guarded("comparisons", _take_comparisons(drained), source.drain)
        for counter in overrides:
            self._guarded("overrides", drained.overrides.extend, counter.drain)
        return drained

    def _drain_recorder(self, include_open: bool) -> list[ClosedWindow]:
        return self.recorder.drain(include_open=include_open)

    def _guarded(
        self, name: str, keep: Callable[[Any], object], drain: Callable[..., Any], *args: Any
    ) -> None:
        try:
            keep(drain(*args))
        except Exception:  # a broken source must not cost the others' data (logged)
            self._logger.exception("rollwise: reporter could not drain %s", name)

    # -- ticks ---------------------------------------------------------------------------

    def collect(self, *, include_open: bool = False) -> int:
        """What a tick does: drain every source and queue the batches; how many were queued.

        ``include_open`` also closes the recorder's open window (``close``/``flush`` do).
        """
        with self._collect_lock:
            now = self._clock()
            drained = self._drain(include_open)
            seconds = self.recorder.window_seconds
            current = (int(now) // seconds) * seconds
            target = datetime.fromtimestamp(current if include_open else current - seconds, UTC)
            built = build_batches(drained, target, seconds, self._logger)
            recorder_drops = self.recorder.dropped_windows
            lost_windows = recorder_drops - self._recorder_drops
            self._recorder_drops = recorder_drops
            self._stats.lost_parts(windows=max(lost_windows, 0), samples=built.samples_cut)
            self._stats.add("invalid_rows", built.invalid_rows)
            batches = built.batches
            if not batches and self._stats.has_unreported() and self._queue.idle:
                batches = [Batch([], [], [])]  # only drops to report, and nothing else will
            for parts in batches:
                self._enqueue(parts, now)
            return len(batches)

    def _enqueue(self, parts: Batch, now: float) -> None:
        batch = TelemetryBatch(
            batch_id=uuid.uuid4().hex,
            instance=self.instance,
            sent_at=datetime.fromtimestamp(now, UTC),
            windows=parts.windows,
            samples=parts.samples,
            overrides=parts.overrides,
        )
        dropped = self._queue.put(Pending(batch))
        if dropped:
            self._lost(dropped, f"the queue is full ({self.options.queue_size} batches)")

    def _until_next_tick(self) -> float:
        seconds = self.recorder.window_seconds
        now = self._clock()
        return max(0.0, ((int(now) // seconds) + 1) * seconds + TICK_DELAY - now)

    def _tick_forever(self, stop: threading.Event) -> None:
        while not stop.wait(self._until_next_tick()):
            try:
                self.collect()
            except Exception:  # the background loop outlives one bad tick (logged)
                self._logger.exception("rollwise: reporter tick failed; will retry")

    # -- sending -------------------------------------------------------------------------

    def _send_forever(self, retired: threading.Event) -> None:
        """The sender thread: send as batches come; on close, until empty or out of time.

        ``retired`` is set when ``close()`` stops waiting for it: a sender still inside a
        request then counts what it held as dropped and ends, rather than carry on alone.
        """
        failures = 0
        while not retired.is_set():
            closing = self._closing
            if closing and time.monotonic() >= self._close_deadline:
                return
            pending = self._queue.take(None if not closing else 0.0, stop=lambda: self._closing)
            if pending is None:
                if closing:
                    return
                continue
            try:
                failures = self._send_one(pending, failures)
            except Exception:  # the sender must outlive one bad batch (logged, counted)
                self._logger.exception("rollwise: sending telemetry batch failed; dropped")
                self._queue.done()
                self._stats.lost([pending])
            if retired.is_set():
                self._lost(self._queue.clear(), "close() ran out of time")

    def _send_until(self, deadline: float) -> bool:
        """Send in the caller's thread until the queue is empty (True) or ``deadline``."""
        failures = 0
        with self._send_lock:
            while time.monotonic() < deadline:
                pending = self._queue.take(0.0)
                if pending is None:
                    return True
                failures = self._send_one(pending, failures, deadline)
            return self._queue.idle

    def _send_one(self, pending: Pending, failures: int, deadline: float = math.inf) -> int:
        """One attempt; on a retryable failure, back off. Returns the failures in a row."""
        if self._closing:
            deadline = min(deadline, self._close_deadline)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            self._lost(self._queue.put_back(pending), "out of time")
            return failures
        answer = self._attempt(pending, min(self.options.timeout, remaining))
        if answer.verdict is Verdict.DELIVERED:
            self._queue.done()
            if self._stats.delivered_now(self._clock()):
                self._logger.info("rollwise: telemetry is delivered to %s again", self._url)
            self._rejection_logged = None
            return 0
        if answer.verdict is Verdict.REJECTED:
            self._queue.done()
            self._rejected(pending, answer)
            return failures
        self._stats.add("retries")
        if self._stats.failed(answer.detail):
            self._logger.warning(
                "rollwise: cannot deliver telemetry to %s (%s); retrying with backoff",
                self._url,
                answer.detail,
            )
        dropped = self._queue.put_back(pending)
        if dropped:
            self._lost(dropped, f"the queue is full ({self.options.queue_size} batches)")
        failures += 1
        delay = backoff(
            failures,
            self.options.initial_backoff,
            self.options.max_backoff,
            self._random,
            answer.retry_after,
        )
        if self._pause(delay, deadline):
            return 0  # hurried (close or flush): start the backoff again from the bottom
        return failures

    def _attempt(self, pending: Pending, timeout: float) -> Answer:
        if pending.body is None:  # the first attempt fixes the bytes every retry re-sends
            pending.carried = self._stats.take_unreported()
            sent_at = datetime.fromtimestamp(self._clock(), UTC)
            pending.batch = pending.batch.model_copy(
                update={"sent_at": sent_at, "dropped": pending.carried}
            )
            pending.body = pending.batch.model_dump_json().encode()
        pending.attempts += 1
        return post_batch(self._http_client(), self._url, pending.body, timeout)

    def _pause(self, delay: float, deadline: float) -> bool:
        """Wait ``delay`` (not past ``deadline``); True if woken early to try again now."""
        end = min(time.monotonic() + delay, deadline)
        while True:
            if self._closing:
                end = min(end, self._close_deadline)
            remaining = end - time.monotonic()
            if remaining <= 0:
                return False
            if self._hurry.wait(remaining):
                self._hurry.clear()
                return True

    def _rejected(self, pending: Pending, answer: Answer) -> None:
        self._stats.add("rejected")
        self._stats.lost([pending])
        level = logging.WARNING if answer.status != self._rejection_logged else logging.DEBUG
        self._rejection_logged = answer.status
        self._logger.log(
            level,
            "rollwise: the control plane rejected telemetry batch %s (%s); dropped, not retried",
            pending.batch.batch_id,
            answer.detail,
        )

    def _lost(self, batches: list[Pending], why: str, *, loud: bool = False) -> None:
        """Count lost batches; log at WARNING the first drop of an outage (or if ``loud``)."""
        if not batches:
            return
        loud = loud or self._stats.dropped.batches == 0 or self._stats.last_error is None
        count = self._stats.lost(batches)
        self._logger.log(
            logging.WARNING if loud else logging.DEBUG,
            "rollwise: dropped %d telemetry batch(es): %s (counted and reported later)",
            count,
            why,
        )

    def _http_client(self) -> httpx.Client:
        with self._state_lock:
            if self._http is None:
                self._http = httpx.Client(
                    headers={
                        "Authorization": f"Bearer {self.options.token}",
                        "User-Agent": "rollwise-python",
                    },
                    timeout=self.options.timeout,
                    transport=self._transport,
                )
            return self._http

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> Reporter:
        """Start ticking and sending (idempotent); turns the client's usage counting on."""
        with self._state_lock:
            if self._started and self._threads_alive():
                return self
            self._started = True
            self._closing = False
        _fork.track(self)
        atexit.register(self.close)  # a normal exit still sends the last window
        if self.client is not None:
            self.client.set_usage_counting(True)
        self._start_threads()
        return self

    def _threads_alive(self) -> bool:
        threads = [self._sender, self._ticker] if self.options.ticks else [self._sender]
        return all(thread is not None and thread.is_alive() for thread in threads)

    def _start_threads(self) -> None:
        # made here, in the caller's thread: httpx imports httpcore when its first client is
        # made, and a fork() while the sender thread held that import's lock would leave a
        # child deadlocked on it forever
        self._http_client()
        self._stop_ticking = threading.Event()
        self._hurry = threading.Event()
        self._retired = threading.Event()
        self._sender = threading.Thread(
            target=self._send_forever,
            args=(self._retired,),
            name="rollwise-reporter-send",
            daemon=True,
        )
        self._sender.start()
        if self.options.ticks:
            self._ticker = threading.Thread(
                target=self._tick_forever,
                args=(self._stop_ticking,),
                name="rollwise-reporter-tick",
                daemon=True,
            )
            self._ticker.start()

    def flush(self, timeout: float | None = None) -> bool:
        """Close the open window, queue everything and send it now; True when all arrived.

        Waits at most ``timeout`` seconds (default ``close_timeout``). Works whether the
        reporter is started (its sender does the work) or not (this thread does).
        """
        self.collect(include_open=True)
        limit = self.options.close_timeout if timeout is None else timeout
        sender = self._sender
        if self._started and sender is not None and sender.is_alive():
            self._hurry.set()
            return self._queue.wait_idle(limit)
        return self._send_until(time.monotonic() + limit)

    def close(self) -> bool:
        """Stop, closing the open window and sending everything within ``close_timeout``.

        Returns True when everything was delivered; what was not is counted as dropped.
        A reporter never started sends nothing (use :meth:`flush`). Idempotent.
        """
        with self._state_lock:
            if not self._started:
                return True
            self._started = False
        _fork.untrack(self)
        atexit.unregister(self.close)
        self._stop_ticking.set()
        ticker, sender = self._ticker, self._sender
        if ticker is not None and ticker is not threading.current_thread():
            ticker.join(self.options.close_timeout)
        if self.client is not None:
            self.client.set_usage_counting(False)
        try:
            self.collect(include_open=True)
        except Exception:  # close() must finish whatever a source does (logged)
            self._logger.exception("rollwise: reporter could not collect on close")
        self._close_deadline = time.monotonic() + self.options.close_timeout
        self._closing = True
        self._hurry.set()
        self._queue.wake()
        if sender is not None and sender is not threading.current_thread():
            sender.join(self.options.close_timeout + 1.0)
        self._retired.set()
        delivered = self._queue.idle
        self._lost(self._queue.clear(), "close() ran out of time", loud=True)
        with self._state_lock:
            http, self._http = self._http, None
            self._ticker = self._sender = None
            self._closing = False
            self._close_deadline = math.inf
        if http is not None:
            http.close()
        return delivered

    def __enter__(self) -> Reporter:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _after_fork_in_child(self) -> None:
        self._fresh_process_state()
        self._recorder_drops = 0  # the recorder starts over in the child too
        if self._started:
            self._start_threads()

    # -- introspection -------------------------------------------------------------------

    def health(self) -> ReporterHealth:
        stats = self._stats
        return ReporterHealth(
            instance=self.instance,
            started=self._started,
            queued=len(self._queue),
            batches_sent=stats.delivered,
            retries=stats.retries,
            batches_rejected=stats.rejected,
            batches_dropped=stats.dropped.batches,
            windows_dropped=stats.dropped.windows,
            samples_dropped=stats.dropped.samples,
            invalid_rows=stats.invalid_rows,
            last_error=stats.last_error,
            last_delivery_at=stats.last_delivery,
        )


def _take_comparisons(drained: Drained) -> Callable[[dict[str, Any]], None]:
    def keep(report: dict[str, Any]) -> None:
        drained.comparisons.extend(report.get("comparisons", ()))
        drained.samples.extend(report.get("samples", ()))

    return keep
