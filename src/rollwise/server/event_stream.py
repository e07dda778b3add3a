"""One SDK event stream (``GET /api/v1/sdk/stream``) as plain ASGI.

Thousands of streams stay open on one process, so each costs one coroutine and one small
task watching for the client's disconnect, and a change is one ``send`` per stream of bytes
built once. A stream ends when its token is revoked (the hub's revision poll says so), and
at the latest after its lifetime (``sse_max_lifetime_seconds``, minus up to 10% of jitter so
that a fleet started together does not reconnect together): SDKs reconnect, re-authenticate
and are told the current version first, so nothing is missed in between.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass

from prometheus_client import Gauge
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from .config_hub import CachedConfig, ConfigHub, Subscription
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
    """Serve one stream until it ends; returns why (``lifetime``, ``revoked``, ...).

    No timer is set or cancelled per change (10,000 streams wake at once): the lifetime
    is one timer, and the keep-alive one re-armed only when it fires.
    """
    subscription = hub.subscribe(environment, token_id)
    if gauge is not None:
        gauge.inc()
    watcher = asyncio.ensure_future(_watch_disconnect(receive, subscription))
    loop = asyncio.get_running_loop()
    lifetime = loop.call_later(policy.lifetime(), subscription.end, "lifetime")
    keepalive = loop.call_later(policy.keepalive_seconds, subscription.keepalive)
    try:
        await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
        await send({"type": "http.response.body", "body": RETRY + first.event, "more_body": True})
        sent = first.revision
        wake = subscription.wake
        while True:
            await wake.wait()
            wake.clear()
            if subscription.ended is not None:
                break
            latest = hub.cached(environment)
            if latest is not None and latest.revision != sent:
                sent = latest.revision
                await send({"type": "http.response.body", "body": latest.event, "more_body": True})
            if subscription.keepalive_due:
                subscription.keepalive_due = False
                await send({"type": "http.response.body", "body": KEEPALIVE, "more_body": True})
                keepalive = loop.call_later(policy.keepalive_seconds, subscription.keepalive)
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return subscription.ended or "ended"
    finally:
        lifetime.cancel()
        keepalive.cancel()
        watcher.cancel()
        hub.unsubscribe(subscription)
        if gauge is not None:
            gauge.dec()


async def _watch_disconnect(receive: Receive, subscription: Subscription) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            subscription.end("disconnected")
            return


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
