"""One SDK event stream (``GET /api/v1/sdk/stream``) as plain ASGI.

Thousands of streams stay open on one process, and a change goes to all of them at once,
so a stream costs as little as it can while it waits and when it is told: its coroutine
only waits for the client to leave (``receive``), and everything the stream writes — a new
version, a keep-alive comment, the end — is written by whoever makes it due (the hub's
wake-up, a timer), at once, with a send stepped by hand (:mod:`.eager_send`) of bytes built
once for every stream. No task is woken per stream and no timer is set per change; a send
that blocks (a client not reading) is finished by a task of its own, and what became due
meanwhile is written after it.

A stream ends when its token is revoked (the hub's revision poll says so), and at the
latest after its lifetime (``sse_max_lifetime_seconds``, minus up to 10% of jitter so that
a fleet started together does not reconnect together): SDKs reconnect, re-authenticate and
are told the current version first, so nothing is missed in between.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass

from prometheus_client import Gauge
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from .config_hub import CachedConfig, ConfigHub, Subscription
from .eager_send import Remainder, send_now
from .settings import ServerSettings

__all__ = ["EventStreamResponse", "StreamPolicy", "run_stream"]

RETRY = b"retry: 2000\n"
"""How long SDKs wait before reconnecting (milliseconds), sent with the first event."""
KEEPALIVE = b": keepalive\n\n"
HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]
_END: Message = {"type": "http.response.body", "body": b"", "more_body": False}


@dataclass(frozen=True, slots=True)
class StreamPolicy:
    keepalive_seconds: float = 15.0
    max_lifetime_seconds: float = 3600.0
    jitter: Callable[[], float] = random.random
    """A number in [0, 1): the share of 10% cut from each stream's lifetime."""

    @classmethod
    def of(cls, settings: ServerSettings) -> StreamPolicy:
        return cls(settings.sse_keepalive_seconds, settings.sse_max_lifetime_seconds)

    def lifetime(self) -> float:
        return self.max_lifetime_seconds * (1.0 - 0.1 * self.jitter())


async def run_stream(
    hub: ConfigHub,
    environment: str,
    token_id: str,
    first: CachedConfig,
    policy: StreamPolicy,
    receive: Receive,
    send: Send,
    gauge: Gauge | None = None,
) -> str:
    """Serve one stream until it ends; returns why (``lifetime``, ``revoked``,
    ``disconnected``)."""
    subscription = hub.subscribe(environment, token_id)
    stream = _Stream(hub, subscription, send, first.revision, policy.keepalive_seconds)
    if gauge is not None:
        gauge.inc()
    lifetime = asyncio.get_running_loop().call_later(
        policy.lifetime(), subscription.end, "lifetime"
    )
    try:
        await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
        await send({"type": "http.response.body", "body": RETRY + first.event, "more_body": True})
        stream.started()
        # ASGI: receive() answers http.disconnect once the client left or the response ended
        try:
            while (await receive())["type"] != "http.disconnect":
                pass  # a request body (a GET has none): read and ignored
        except asyncio.CancelledError:
            if stream.failure is None:
                raise
            stream.uncancel()
        if stream.failure is not None and not isinstance(stream.failure, OSError):
            raise stream.failure
        return subscription.ended or "disconnected"
    finally:
        stream.close()
        lifetime.cancel()
        hub.unsubscribe(subscription)
        if gauge is not None:
            gauge.dec()


class _Wake(asyncio.Event):
    """The stream's wake-up as the hub sees it: set on a change, a keep-alive or the end,
    it writes what is due at once instead of waking a coroutine."""

    def __init__(self, stream: _Stream) -> None:
        super().__init__()
        self._stream = stream

    def set(self) -> None:
        self._stream.write_due()


class _Stream:
    """What one stream has sent, and the writing of what is due (on the event loop)."""

    __slots__ = (
        "_finishing",
        "_hub",
        "_keepalive",
        "_keepalive_seconds",
        "_leaving",
        "_left",
        "_send",
        "_sent",
        "_subscription",
        "_task",
        "_writing",
        "closed",
        "failure",
    )

    def __init__(
        self,
        hub: ConfigHub,
        subscription: Subscription,
        send: Send,
        sent: int,
        keepalive_seconds: float,
    ) -> None:
        self._hub = hub
        self._subscription = subscription
        self._send = send
        self._sent = sent
        self._keepalive_seconds = keepalive_seconds
        self._writing = True  # the first event is being sent: what is due waits for it
        self._finishing: asyncio.Future[None] | None = None
        self._leaving = self._left = False  # the end: unsubscribing is due, or done
        self._task = asyncio.current_task()
        self.closed = False
        """The response ended, or the client left: nothing more is written."""
        self.failure: BaseException | None = None
        subscription.wake = _Wake(self)
        self._keepalive = self._arm_keepalive()

    def _arm_keepalive(self) -> asyncio.TimerHandle:
        loop = asyncio.get_running_loop()
        return loop.call_later(self._keepalive_seconds, self._subscription.keepalive)

    def started(self) -> None:
        """The first event is out: write what became due meanwhile."""
        self._writing = False
        self.write_due()

    def write_due(self) -> None:
        if self._writing or self.closed:
            return  # the send in progress writes what is due after it
        if self._subscription.ended is not None and not self._left:
            if not self._leaving:  # not while the hub loops over its streams
                self._leaving = True
                asyncio.get_running_loop().call_soon(self._leave)
            return
        while (message := self._due()) is not None:
            try:
                remainder = send_now(self._send, message)
            except Exception as error:  # noqa: BLE001 - the stream's coroutine re-raises it
                self._fail(error)
                return
            if remainder is not None:  # the client is not reading: finish in a task
                self._writing = True
                self._finishing = asyncio.ensure_future(self._finish(remainder))
                return
            if self.closed or not self._subscription.keepalive_due:
                return  # nothing else can be due

    def _due(self) -> Message | None:
        """The next message to write, if any: the end, a new version, a keep-alive."""
        subscription = self._subscription
        if subscription.ended is not None:
            self.closed = True
            return _END
        latest = self._hub.cached(subscription.environment)
        if latest is not None and latest.revision != self._sent:
            self._sent = latest.revision
            return {"type": "http.response.body", "body": latest.event, "more_body": True}
        if subscription.keepalive_due:
            subscription.keepalive_due = False
            self._keepalive = self._arm_keepalive()
            return {"type": "http.response.body", "body": KEEPALIVE, "more_body": True}
        return None

    def _leave(self) -> None:
        """Unsubscribed before the end is written: once a client sees its stream end, the
        hub no longer counts it."""
        self._left = True
        self._hub.unsubscribe(self._subscription)
        self.write_due()

    async def _finish(self, remainder: Remainder) -> None:
        try:
            await remainder
        except Exception as error:  # noqa: BLE001 - the stream's coroutine re-raises it
            self._fail(error)
            return
        self._writing = False
        self.write_due()

    def _fail(self, error: Exception) -> None:
        """A send raised: the stream's coroutine stops waiting for the client, and re-raises
        what is not an OSError (a server's word for a client that left)."""
        self.closed = True
        self.failure = error
        if self._task is not None:
            self._task.cancel()

    def uncancel(self) -> None:
        """The cancellation that ``_fail`` asked for was handled."""
        if self._task is not None:
            self._task.uncancel()

    def close(self) -> None:
        self.closed = True
        self._keepalive.cancel()
        if self._finishing is not None:
            self._finishing.cancel()


class EventStreamResponse(Response):
    """What the FastAPI route returns: the same stream as the fast path serves."""

    media_type = "text/event-stream"

    def __init__(
        self,
        hub: ConfigHub,
        environment: str,
        token_id: str,
        first: CachedConfig,
        policy: StreamPolicy,
        gauge: Gauge | None = None,
    ) -> None:
        super().__init__()
        self._stream = (hub, environment, token_id, first, policy)
        self._gauge = gauge

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await run_stream(*self._stream, receive, send, self._gauge)
