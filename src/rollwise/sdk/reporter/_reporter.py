"""The reporter: ticks drain the sources, a sender thread POSTs the batches.

The guarantees (never blocks a request, bounded memory, no double counting, flush on close,
fork safety) are the package's: see :mod:`rollwise.sdk.reporter`.
"""

from __future__ import annotations

import atexit
import logging
import random as _random
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import httpx

from ... import _fork
from ...core.telemetry import ProcessSample, SdkInfo, TelemetryBatch
from ...errors import ConfigError
from ..recorder import RequestRecorder
from ._build import Batch, build_batches
from ._delivery import Delivery
from ._http import TELEMETRY_PATH
from ._identity import SenderIdentity, check_release, release_from_env, revision_number
from ._options import ComparisonSource, OverrideSource, ReporterHealth, ReporterOptions
from ._process import ProcessSampler
from ._sources import Sources

if TYPE_CHECKING:
    from ..client import Client

__all__ = ["Reporter"]

TICK_DELAY = 0.1
"""Seconds after a window boundary at which a tick runs (the window is closed by then)."""


class Reporter:
    """Drains request windows, usage, comparisons and overrides; sends them in batches.

    ``client`` contributes its recorder, usage counts, comparisons and registered override
    counters (and gets usage counting turned on while the reporter runs). ``recorder``
    replaces the client's recorder (or stands alone); ``comparisons`` and ``overrides``
    add sources. ``transport`` is handed to httpx (tests inject one); ``clock`` gives wall
    seconds for window attribution; ``random`` draws jitter in ``[0, 1)``.

    Every batch says who sent it (``sdk``: rollwise's version, host, pid, when the reporter
    started, the client's configuration revision at send time, and ``release``: the one
    given, else the client's, else ``ROLLWISE_RELEASE`` from ``environ``, default
    ``os.environ``; a bad value is a :class:`ConfigError` here).
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
        release: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.options = options
        self.client = client
        if recorder is None:
            recorder = client.recorder if client is not None else RequestRecorder(clock=clock)
        self.recorder = recorder
        self._logger = logger or logging.getLogger("rollwise")
        self._sources = Sources(recorder, client, comparisons, overrides, self._logger)
        if release is not None:
            try:
                release = check_release(release)
            except ValueError as error:
                raise ConfigError.single(None, "release", str(error)) from None
        if release is None and client is not None:
            release = getattr(client, "release", None)  # the client's (its options or env)
        self._release = release if release is not None else release_from_env(environ)
        self._transport = transport
        self._clock = clock
        # the stdlib's shared generator is reseeded in forked children (a private one is not)
        self._random = random if random is not None else _random.random
        self._url = options.url.rstrip("/") + TELEMETRY_PATH
        self._started = False
        self._fresh_process_state()

    def _fresh_process_state(self) -> None:
        """Everything that belongs to one process: rebuilt in a forked child."""
        self._state_lock = threading.Lock()
        self._collect_lock = threading.Lock()
        self._delivery = Delivery(
            self.options,
            self._url,
            transport=self._transport,
            clock=self._clock,
            random=self._random,
            logger=self._logger,
            sender=self.sdk_info,
        )
        self._stats = self._delivery.stats
        self._sampler = ProcessSampler(self._logger)  # this process's pid and CPU clock
        self._identity = SenderIdentity.here(self._release, self._now())
        self._last_queued = self._clock()  # the idle heartbeat counts from here
        base = self.options.instance or socket.gethostname() or "unknown"
        self.instance = f"{base[:180]}:{self._identity.pid}"
        self._tick_errors = 0
        self._recorder_drops = self.recorder.dropped_windows
        self._ticker: threading.Thread | None = None
        self._sender: threading.Thread | None = None
        self._stop_ticking = threading.Event()
        self._retired = threading.Event()

    # -- sources -------------------------------------------------------------------------

    def add_comparisons(self, source: ComparisonSource) -> None:
        """Also drain ``source`` (a DualRun or a comparison sink) on every tick."""
        self._sources.add_comparisons(source)

    def add_override_counter(self, counter: OverrideSource) -> None:
        """Also drain ``counter`` (an OverrideCounter) on every tick."""
        self._sources.add_override_counter(counter)

    # -- ticks ---------------------------------------------------------------------------

    def collect(self, *, include_open: bool = False) -> int:
        """What a tick does: drain every source and queue the batches; how many were queued.

        ``include_open`` also closes the recorder's open window (``close``/``flush`` do).
        """
        with self._collect_lock:
            now = self._clock()
            drained = self._sources.drain(include_open)
            seconds = self.recorder.window_seconds
            current = (int(now) // seconds) * seconds
            target = datetime.fromtimestamp(current if include_open else current - seconds, UTC)
            built = build_batches(drained, target, seconds, self._logger, self._process_sample())
            recorder_drops = self.recorder.dropped_windows
            lost_windows = recorder_drops - self._recorder_drops
            self._recorder_drops = recorder_drops
            self._stats.lost_parts(windows=max(lost_windows, 0), samples=built.samples_cut)
            self._stats.add("invalid_rows", built.invalid_rows)
            batches = built.batches
            if not batches and self._delivery.queue.idle:
                if self._stats.has_unreported():
                    batches = [Batch([], [], [])]  # only drops to report, and nothing else will
                elif not include_open and self._heartbeat_due(now):
                    batches = [Batch([], [], [])]  # a heartbeat: the sdk part says we are here
            for parts in batches:
                self._enqueue(parts, now)
            return len(batches)

    def _process_sample(self) -> ProcessSample | None:
        """This process's CPU and memory under its release, when the client names a release
        flag (what process gates judge) and psutil is installed; never raises."""
        client = self.client
        series = getattr(client, "release_series", None) if client is not None else None
        if series is None:
            return None
        figures = self._sampler.sample()
        if figures is None:
            return None
        try:
            return ProcessSample(flag=series.flag, variant=series.release, **figures)
        except ValueError:  # a figure off the wire's range: no sample this window
            return None

    def _heartbeat_due(self, now: float) -> bool:
        interval = self.options.heartbeat_interval
        return interval is not None and now - self._last_queued >= interval

    def _enqueue(self, parts: Batch, now: float) -> None:
        self._last_queued = now
        batch = TelemetryBatch(
            batch_id=uuid.uuid4().hex,
            instance=self.instance,
            sent_at=datetime.fromtimestamp(now, UTC),
            windows=parts.windows,
            samples=parts.samples,
            overrides=parts.overrides,
            exposures=parts.exposures,
            events=parts.events,
        )
        self._delivery.enqueue(batch)

    def _until_next_tick(self) -> float:
        seconds = self.recorder.window_seconds
        now = self._clock()
        return max(0.0, ((int(now) // seconds) + 1) * seconds + TICK_DELAY - now)

    def _tick_forever(self, stop: threading.Event) -> None:
        while not stop.wait(self._until_next_tick()):
            try:
                self.collect()
            except Exception:  # the tick loop's boundary: it outlives one bad tick
                self._tick_errors += 1  # logged and counted (health: source_errors)
                self._logger.exception("rollwise: reporter tick failed; will retry")

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> Reporter:
        """Start ticking and sending (idempotent); turns the client's usage counting on."""
        with self._state_lock:
            if self._started and self._threads_alive():
                return self
            self._started = True
            self._delivery.closing = False
            self._identity = SenderIdentity.here(self._release, self._now())
            self._last_queued = self._clock()
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
        self._delivery.http_client()
        self._stop_ticking = threading.Event()
        self._delivery.hurry = threading.Event()
        self._retired = threading.Event()
        self._sender = threading.Thread(
            target=self._delivery.send_forever,
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
            self._delivery.hurry.set()
            return self._delivery.queue.wait_idle(limit)
        return self._delivery.send_until(time.monotonic() + limit)

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
        except Exception:  # the close path's boundary: close() finishes whatever a source does
            self._tick_errors += 1  # logged and counted (health: source_errors)
            self._logger.exception("rollwise: reporter could not collect on close")
        self._delivery.begin_closing(self.options.close_timeout)
        if sender is not None and sender is not threading.current_thread():
            sender.join(self.options.close_timeout + 1.0)
        self._retired.set()
        with self._state_lock:
            self._ticker = self._sender = None
        return self._delivery.end_closing()

    def __enter__(self) -> Reporter:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _after_fork_in_child(self) -> None:
        self._fresh_process_state()  # a new pid, started now
        self._sources.errors = 0
        self._recorder_drops = 0  # the recorder starts over in the child too
        if self._started:
            self._start_threads()

    # -- introspection -------------------------------------------------------------------

    def health(self) -> ReporterHealth:
        stats = self._stats
        return ReporterHealth(
            instance=self.instance,
            started=self._started,
            queued=len(self._delivery.queue),
            batches_sent=stats.delivered,
            retries=stats.retries,
            batches_rejected=stats.rejected,
            batches_dropped=stats.dropped.batches,
            windows_dropped=stats.dropped.windows,
            samples_dropped=stats.dropped.samples,
            invalid_rows=stats.invalid_rows,
            last_error=stats.last_error,
            last_delivery_at=stats.last_delivery,
            source_errors=self._sources.errors + self._tick_errors,
        )

    def sdk_info(self) -> SdkInfo:
        """What the next batch says about its sender (the revision is read now)."""
        client = self.client
        revision = revision_number(client.revision) if client is not None else None
        return self._identity.info(revision)

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)
