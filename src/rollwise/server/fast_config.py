"""The SDK config endpoint's fast path: plain ASGI in front of the FastAPI app.

Every application replica polls ``GET /api/v1/sdk/config``, and almost every poll is a 304.
For the common case — a cached token of the right scope, an environment whose document is
in the hub — this answers from memory without routing, dependency injection or a thread
hop. Anything else (no or unknown token, a bad query, an environment not yet cached) falls
through to the FastAPI route, which is the single place where errors are produced, and
which also documents the endpoint in the OpenAPI spec.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs

from starlette.types import Scope, Send

from .auth import TokenCache
from .config_hub import ConfigHub
from .metrics import ServerMetrics

__all__ = ["SdkConfigFastPath"]

PATH = "/api/v1/sdk/config"
ROUTE = "/api/v1/sdk/config"


class SdkConfigFastPath:
    """Answers what it can; ``handle`` returns False for everything else."""

    def __init__(self, hub: ConfigHub, tokens: TokenCache, metrics: ServerMetrics) -> None:
        self.hub = hub
        self.tokens = tokens
        self._ok = metrics.requests.labels("GET", ROUTE, "200")
        self._not_modified = metrics.requests.labels("GET", ROUTE, "304")
        self._latency = metrics.latency.labels("GET", ROUTE)

    async def handle(self, scope: Scope, send: Send) -> bool:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "GET":
            return False
        started = time.perf_counter()
        answer = self._answer(scope)
        if answer is None:
            return False
        status, headers, body = answer
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        (self._ok if status == 200 else self._not_modified).inc()
        self._latency.observe(time.perf_counter() - started)
        return True

    def _answer(self, scope: Scope) -> tuple[int, list[tuple[bytes, bytes]], bytes] | None:
        authorization = if_none_match = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value
            elif name == b"if-none-match":
                if_none_match = value
        if authorization is None or authorization[:7].lower() != b"bearer ":
            return None
        token = self.tokens.cached(authorization[7:].strip().decode("latin-1"))
        if token is None:
            return None
        environment = _environment_param(scope["query_string"])
        if environment is _INVALID:
            return None
        if token.scope == "sdk":
            if environment is not None and environment != token.environment:
                return None
            environment = token.environment
        elif environment is None:
            return None
        cached = self.hub.cached(environment)  # type: ignore[arg-type]
        if cached is None:
            return None
        etag = cached.etag_bytes
        headers = [(b"etag", etag), (b"cache-control", b"no-cache")]
        if if_none_match is not None and etag in _etags(if_none_match):
            return 304, headers, b""
        headers.append((b"content-type", b"application/json"))
        headers.append((b"content-length", cached.length))
        return 200, headers, cached.body


_INVALID: Any = object()


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
