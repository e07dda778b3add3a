"""The request guard: plain ASGI in front of the routes, before any body is read.

For ``/api/`` routes it checks the bearer token first (401 without a live token; 429 with
``Retry-After`` once the client address failed too often, see :mod:`.auth_limiter`), then
the body size for every route (413 ``payload_too_large``): a declared ``Content-Length``
over the limit is refused before a byte is read, and a chunked body is read only up to
the limit. A refused request's connection is closed, so its unread body is never read.

The token it found travels to the route's ``require`` dependency in the request state:
one lookup per request. When the database cannot be asked, the request goes on to the
route, whose dependency meets the same error and answers it like every route does.
"""

from __future__ import annotations

import anyio.to_thread
from sqlalchemy.exc import SQLAlchemyError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..store import TokenRecord
from .auth import STATE_KEY, TokenCache, bearer_secret
from .auth_limiter import FailedAuthLimiter
from .errors import error_response
from .limits import BodyLimits

__all__ = ["RequestGuard"]


class _TooLarge(Exception):
    pass


class _Gone(Exception):
    """The client disconnected before its body was complete."""


class RequestGuard:
    def __init__(
        self, app: ASGIApp, *, tokens: TokenCache, limiter: FailedAuthLimiter, limits: BodyLimits
    ) -> None:
        self.app = app
        self.tokens = tokens
        self.limiter = limiter
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length, chunked = _body_framing(scope)
        pending = chunked or bool(length)
        if scope["path"].startswith("/api/"):
            refusal = await self._authenticate(scope, pending)
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        limit = self.limits.for_request(scope["method"], scope["path"])
        if length is not None and length > limit:
            await _too_large(limit)(scope, receive, send)
            return
        if chunked:
            try:
                body = await _read_up_to(receive, limit)
            except _TooLarge:
                await _too_large(limit)(scope, receive, send)
                return
            except _Gone:
                return
            receive = _replay(body, receive)
        await self.app(scope, receive, send)

    async def _authenticate(self, scope: Scope, pending: bool) -> _Refusal | None:
        secret = bearer_secret(scope["headers"])
        if secret is None:
            return _unauthorized("a bearer token is required", pending)
        token: TokenRecord | None = self.tokens.cached(secret)
        if token is None:
            address = _address(scope)
            wait = self.limiter.retry_after(address)
            if wait is not None and not self.tokens.was_valid(secret):
                return _Refusal(
                    429,
                    "too_many_requests",
                    f"too many requests with unknown tokens from {address}; try again in {wait} s",
                    {"retry_after_seconds": wait},
                    {"Retry-After": str(wait)},
                    close=pending,
                )
            # counted once the lookup says "unknown", never while it runs: a fleet behind
            # one proxy, all new to a freshly started replica, is not a flood. Lookups are
            # read-only and unknown tokens are remembered, so a flood costs no write.
            if not self.tokens.known_unknown(secret):
                try:
                    token = await anyio.to_thread.run_sync(self.tokens.authenticate, secret)
                except SQLAlchemyError:  # the database is away: the route answers (503)
                    return None
            if token is None:
                self.limiter.failed(address)
                return _unauthorized("the token is unknown or revoked", pending)
        scope.setdefault("state", {})[STATE_KEY] = token
        return None


class _Refusal:
    """An error answered by the guard itself (a small ASGI app)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        *,
        close: bool,
    ) -> None:
        all_headers = dict(headers or {})
        if close:  # the body was not read: do not read it to reach the next request
            all_headers["Connection"] = "close"
        self.response = error_response(status, code, message, dict(details or {}), all_headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.response(scope, receive, send)


def _unauthorized(message: str, pending: bool) -> _Refusal:
    return _Refusal(
        401, "unauthorized", message, headers={"WWW-Authenticate": "Bearer"}, close=pending
    )


def _too_large(limit: int) -> _Refusal:
    return _Refusal(
        413,
        "payload_too_large",
        f"the request body is larger than this route accepts ({limit} bytes)",
        {"limit_bytes": limit},
        close=True,
    )


def _body_framing(scope: Scope) -> tuple[int | None, bool]:
    """The declared ``Content-Length`` (None if absent) and whether the body is chunked."""
    length: int | None = None
    chunked = False
    for name, value in scope["headers"]:
        if name == b"content-length" and value.strip().isdigit():
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    return length, chunked


def _address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


async def _read_up_to(receive: Receive, limit: int) -> bytes:
    """The whole body, or :class:`_TooLarge` as soon as more than ``limit`` bytes came."""
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise _Gone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        parts.append(chunk)
        if not message.get("more_body", False):
            return b"".join(parts)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives ``body`` once, then defers to the real one (disconnects)."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
