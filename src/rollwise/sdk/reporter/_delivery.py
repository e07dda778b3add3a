"""Getting queued batches to the control plane: attempts, backoff, drops, the HTTP client.

One :class:`Delivery` belongs to one process (a forked child builds its own). The reporter's
sender thread runs :meth:`Delivery.send_forever`; ``flush()`` without a started sender runs
:meth:`Delivery.send_until` in the caller's thread. A batch's bytes are fixed by its first
attempt (send time, the drops it carries, who sent it), so every retry re-sends the same body
under the same ``batch_id``.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

import httpx

from ...core.telemetry import SdkInfo, TelemetryBatch
from ._http import Answer, Verdict, backoff, post_batch
from ._options import ReporterOptions
from ._queue import BatchQueue, Pending
from ._stats import ReporterStats

__all__ = ["Delivery"]


class Delivery:
    """The queue, the counts and the sending of one process's batches.

    ``sender`` says who sends, asked when a batch is first attempted. While ``closing``,
    nothing is attempted past ``close_deadline``; ``hurry`` wakes a backoff early.
    """

    def __init__(
        self,
        options: ReporterOptions,
        url: str,
        *,
        transport: httpx.BaseTransport | None,
        clock: Callable[[], float],
        random: Callable[[], float],
        logger: logging.Logger,
        sender: Callable[[], SdkInfo],
    ) -> None:
        self.options = options
        self.url = url
        self._transport = transport
        self._clock = clock
        self._random = random
        self._logger = logger
        self._sender_info = sender
        self.queue = BatchQueue(options.queue_size)
        self.stats = ReporterStats()
        self.hurry = threading.Event()
        self.closing = False
        self.close_deadline = math.inf
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._http: httpx.Client | None = None
        self._rejection_logged: int | None = None

    def enqueue(self, batch: TelemetryBatch) -> None:
        dropped = self.queue.put(Pending(batch))
        if dropped:
            self.lost(dropped, f"the queue is full ({self.options.queue_size} batches)")

    # -- loops ---------------------------------------------------------------------------

    def send_forever(self, retired: threading.Event) -> None:
        """The sender thread: send as batches come; on close, until empty or out of time.

        ``retired`` is set when ``close()`` stops waiting for it: a sender still inside a
        request then counts what it held as dropped and ends, rather than carry on alone.
        """
        failures = 0
        while not retired.is_set():
            closing = self.closing
            if closing and time.monotonic() >= self.close_deadline:
                return
            pending = self.queue.take(None if not closing else 0.0, stop=lambda: self.closing)
            if pending is None:
                if closing:
                    return
                continue
            try:
                failures = self._send_one(pending, failures)
            except Exception:  # the send loop's boundary: it outlives one bad batch
                self._logger.exception("rollwise: sending telemetry batch failed; dropped")
                self.queue.done()
                self.stats.lost([pending])  # counted as dropped, reported later
            if retired.is_set():
                self.lost(self.queue.clear(), "close() ran out of time")

    def send_until(self, deadline: float) -> bool:
        """Send in the caller's thread until the queue is empty (True) or ``deadline``."""
        failures = 0
        with self._send_lock:
            while time.monotonic() < deadline:
                pending = self.queue.take(0.0)
                if pending is None:
                    return True
                failures = self._send_one(pending, failures, deadline)
            return self.queue.idle

    # -- one batch -----------------------------------------------------------------------

    def _send_one(self, pending: Pending, failures: int, deadline: float = math.inf) -> int:
        """One attempt; on a retryable failure, back off. Returns the failures in a row."""
        if self.closing:
            deadline = min(deadline, self.close_deadline)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            self.lost(self.queue.put_back(pending), "out of time")
            return failures
        answer = self._attempt(pending, min(self.options.timeout, remaining))
        if answer.verdict is Verdict.DELIVERED:
            self.queue.done()
            if self.stats.delivered_now(self._clock()):
                self._logger.info("rollwise: telemetry is delivered to %s again", self.url)
            self._rejection_logged = None
            return 0
        if answer.verdict is Verdict.REJECTED:
            self.queue.done()
            self._rejected(pending, answer)
            return failures
        self.stats.add("retries")
        if self.stats.failed(answer.detail):
            self._logger.warning(
                "rollwise: cannot deliver telemetry to %s (%s); retrying with backoff",
                self.url,
                answer.detail,
            )
        dropped = self.queue.put_back(pending)
        if dropped:
            self.lost(dropped, f"the queue is full ({self.options.queue_size} batches)")
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
            pending.carried = self.stats.take_unreported()
            update = {
                "sent_at": datetime.fromtimestamp(self._clock(), UTC),
                "dropped": pending.carried,
                "sdk": self._sender_info(),
            }
            pending.batch = pending.batch.model_copy(update=update)
            pending.body = pending.batch.model_dump_json().encode()
        pending.attempts += 1
        return post_batch(self.http_client(), self.url, pending.body, timeout)

    def _pause(self, delay: float, deadline: float) -> bool:
        """Wait ``delay`` (not past ``deadline``); True if woken early to try again now."""
        end = min(time.monotonic() + delay, deadline)
        while True:
            if self.closing:
                end = min(end, self.close_deadline)
            remaining = end - time.monotonic()
            if remaining <= 0:
                return False
            if self.hurry.wait(remaining):
                self.hurry.clear()
                return True

    def _rejected(self, pending: Pending, answer: Answer) -> None:
        self.stats.add("rejected")
        self.stats.lost([pending])
        level = logging.WARNING if answer.status != self._rejection_logged else logging.DEBUG
        self._rejection_logged = answer.status
        self._logger.log(
            level,
            "rollwise: the control plane rejected telemetry batch %s (%s); dropped, not retried",
            pending.batch.batch_id,
            answer.detail,
        )

    def lost(self, batches: list[Pending], why: str, *, loud: bool = False) -> None:
        """Count lost batches; log at WARNING the first drop of an outage (or if ``loud``)."""
        if not batches:
            return
        loud = loud or self.stats.dropped.batches == 0 or self.stats.last_error is None
        count = self.stats.lost(batches)
        self._logger.log(
            logging.WARNING if loud else logging.DEBUG,
            "rollwise: dropped %d telemetry batch(es): %s (counted and reported later)",
            count,
            why,
        )

    # -- the HTTP client -----------------------------------------------------------------

    def http_client(self) -> httpx.Client:
        with self._lock:
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

    def begin_closing(self, seconds: float) -> None:
        """From now on send only until ``seconds`` from now, and wake whoever waits."""
        self.close_deadline = time.monotonic() + seconds
        self.closing = True
        self.hurry.set()
        self.queue.wake()

    def end_closing(self) -> bool:
        """Count what is left as dropped, close the HTTP client; True if all was delivered."""
        delivered = self.queue.idle
        self.lost(self.queue.clear(), "close() ran out of time", loud=True)
        with self._lock:
            http, self._http = self._http, None
            self.closing = False
            self.close_deadline = math.inf
        if http is not None:
            http.close()
        return delivered
