"""The SDK endpoints' fast path: plain ASGI in front of the FastAPI app.

Every application replica polls ``GET /api/v1/sdk/config``, and almost every poll is a 304;
every replica also keeps ``GET /api/v1/sdk/stream`` open, and a fleet reconnects together
after a restart. For the common case — a cached token of the right scope, an environment
whose document is in the hub — this answers from memory without routing, dependency
injection or a thread hop. Anything else (no or unknown token, a bad query, an environment
not yet cached) falls through to the FastAPI routes, which are the single place where
errors are produced, and which also document the endpoints in the OpenAPI spec.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any
from urllib.parse import parse_qs

from starlette.types import Receive, Scope, Send

from ..store import TokenRecord
from .auth import TokenCache
from .auth_limiter import FailedAuthLimiter
from .config_hub import CachedConfig, ConfigHub
from .event_stream import StreamPolicy, run_stream
from .metrics import ServerMetrics

__all__ = ["SdkConfigFastPath"]

PATH = "/api/v1/sdk/config"
ROUTE = "/api/v1/sdk/config"
STREAM_PATH = "/api/v1/sdk/stream"


class SdkConfigFastPath:
    """Answers what it can; ``handle`` returns False for everything else."""

    def __init__(
        self,
        hub: ConfigHub,
        tokens: TokenCache,
        metrics: ServerMetrics,
        stream: StreamPolicy | None = None,
        limiter: FailedAuthLimiter | None = None,
    ) -> None:
        self.hub = hub
        self.tokens = tokens
        self.limiter = limiter
        self.stream = stream or StreamPolicy()
        self._ok = metrics.requests.labels("GET", ROUTE, "200")
        self._not_modified = metrics.requests.labels("GET", ROUTE, "304")
        self._latency = metrics.latency.labels("GET", ROUTE)
        self._streams = metrics.sse_clients
        self._stream_ok = metrics.requests.labels("GET", STREAM_PATH, "200")
        self._lookups: dict[str, asyncio.Future[TokenRecord | None]] = {}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> bool:
        if scope["type"] != "http" or scope["method"] != "GET":
            return False
        if scope["path"] == STREAM_PATH:
            return await self._stream(scope, receive, send)
        if scope["path"] != PATH:
            return False
        started = time.perf_counter()
        await self._revalidate(scope)
        answer = self._answer(scope)
        if answer is None:
            return False
        status, headers, body = answer
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        (self._ok if status == 200 else self._not_modified).inc()
        self._latency.observe(time.perf_counter() - started)
        return True

    async def _revalidate(self, scope: Scope) -> None:
        """Look a token missing from the cache up here, off the loop, once for all the
        requests carrying it meanwhile: every SDK of a service shares its token, the cache
        expires every few seconds, and a restarted control plane sees a whole fleet at once.

        A token found unknown falls through to the routes, whose guard counts it against the
        client address once and answers 401; an address over its limit and a token known to
        be unknown are left to the guard too (it answers 429 or 401 without a lookup).
        """
        secret = _bearer(scope["headers"])
        if secret is None or self.tokens.cached(secret) is not None:
            return
        pending = self._lookups.get(secret)
        if pending is None:
            if not self.tokens.was_valid(secret):
                limiter = self.limiter
                if limiter is None or self.tokens.known_unknown(secret):
                    return
                client = scope.get("client")
                if limiter.retry_after(str(client[0]) if client else "unknown") is not None:
                    return
            pending = asyncio.ensure_future(asyncio.to_thread(self.tokens.authenticate, secret))
            self._lookups[secret] = pending
            pending.add_done_callback(lambda _: self._lookups.pop(secret, None))
        # the database may be away: the route answers (503); a token found unknown falls
        # through to the guard, which counts it once
        with contextlib.suppress(Exception):
            await asyncio.shield(pending)

    async def _stream(self, scope: Scope, receive: Receive, send: Send) -> bool:
        await self._revalidate(scope)
        found = self._target(scope["headers"], scope["query_string"])
        if found is None:
            return False
        token, cached = found
        self._stream_ok.inc()
        await run_stream(
            self.hub,
            cached.environment,
            token.id,
            cached,
            self.stream,
            receive,
            send,
            self._streams,
        )
        return True

    def _target(
        self, headers: list[tuple[bytes, bytes]], query: bytes
    ) -> tuple[TokenRecord, CachedConfig] | None:
        """The cached token and the cached document it may read, or None (the route's)."""
        secret = _bearer(headers)
        token = self.tokens.cached(secret) if secret is not None else None
        if token is None:
            return None
        environment = _environment_param(query)
        if environment is _INVALID:
            return None
        if token.scope == "sdk":
            if environment is not None and environment != token.environment:
                return None
            environment = token.environment
        if environment is None:
            return None
        cached = self.hub.cached(environment)
        if cached is None:
            return None
        return token, cached

    def _answer(self, scope: Scope) -> tuple[int, list[tuple[bytes, bytes]], bytes] | None:
        found = self._target(scope["headers"], scope["query_string"])
        if found is None:
            return None
        if_none_match = None
        for name, value in scope["headers"]:
            if name == b"if-none-match":
                if_none_match = value
                break
        cached = found[1]
        etag = cached.etag_bytes
        headers = [(b"etag", etag), (b"cache-control", b"no-cache")]
        if if_none_match is not None and etag in _etags(if_none_match):
            return 304, headers, b""
        headers.append((b"content-type", b"application/json"))
        headers.append((b"content-length", cached.length))
        return 200, headers, cached.body


_INVALID: Any = object()


def _bearer(headers: list[tuple[bytes, bytes]]) -> str | None:
    for name, value in headers:
        if name == b"authorization":
            if value[:7].lower() != b"bearer ":
                return None
            return value[7:].strip().decode("latin-1")
    return None


def _environment_param(query: bytes) -> str | Any | None:
    if not query:
        return None
    values = parse_qs(query.decode("latin-1"), keep_blank_values=True)
    if set(values) - {"environment"}:
        return None
    found = values.get("environment")
    if found is None:
        return None
    if len(found) != 1 or not 0 < len(found[0]) <= 64:
        return _INVALID
    return found[0]


def _etags(header: bytes) -> set[bytes]:
    return {part.strip().removeprefix(b"W/") for part in header.split(b",")}
