"""Bearer tokens with scopes: admin ⊃ write ⊃ read, and sdk (one environment: its config,
and reporting its telemetry).

Authenticated tokens are cached for a few seconds so that the SDK config endpoint, polled
by every application replica, costs no database round trip; a revocation made through this
server takes effect at once, one made elsewhere within the cache time. Unknown secrets are
remembered as unknown for as long, and looking one up is a read, never a write.

For ``/api/`` routes the request guard (:mod:`.guard`) authenticates before any body is
read and hands the token to :func:`require` in the request state.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ..store import Store, TokenRecord
from ..store.tokens import TOUCH_EVERY, hash_secret
from .errors import ApiError

__all__ = [
    "STATE_KEY",
    "Principal",
    "TokenCache",
    "bearer_secret",
    "require",
    "target_environment",
]

_RANK = {"read": 1, "write": 2, "admin": 3}
_NEEDED = {"report": "an sdk, write or admin"}
V = TypeVar("V")
STATE_KEY = "rollwise_token"
"""Where the request guard leaves the token it authenticated (``request.state``)."""
bearer = HTTPBearer(auto_error=False, description="A rollwise API or SDK token")


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the token, and the actor name the audit log records."""

    token: TokenRecord

    @property
    def actor(self) -> str:
        return f"token:{self.token.name}:{self.token.id}"


class TokenCache:
    """Tokens by secret, remembered ``ttl`` seconds; unknown secrets ``negative_ttl``.

    A lookup that misses is a read-only transaction. Only a live token costs a write
    (its ``last_used_at``, at most once a minute per token), so a flood of made-up tokens
    costs reads, and the same made-up token again costs nothing until ``negative_ttl``.
    """

    MAX_ENTRIES = 10_000

    def __init__(
        self,
        store: Store,
        ttl: float,
        clock: Callable[[], float] = time.monotonic,
        *,
        negative_ttl: float = 30.0,
    ) -> None:
        self._store = store
        self._ttl = ttl
        self._negative_ttl = negative_ttl
        self._clock = clock
        self._entries: dict[str, tuple[TokenRecord, float]] = {}
        self._unknown: dict[str, float] = {}

    def authenticate(self, secret: str) -> TokenRecord | None:
        """The live token with ``secret`` or None; may read the database (call it off the
        event loop)."""
        key = hash_secret(secret)
        now = self._clock()
        cached = self._entries.get(key)
        if cached is not None and cached[1] > now:
            return cached[0]
        if self._unknown.get(key, 0.0) > now:
            return None
        with self._store.reading() as tx:
            token = tx.tokens.find(secret)
        if token is None:
            self._entries.pop(key, None)
            _bounded(self._unknown)[key] = now + self._negative_ttl
            return None
        if token.last_used_at is None or self._store.now() - token.last_used_at >= TOUCH_EVERY:
            with self._store.transaction("auth") as tx:
                tx.tokens.touch(token)
        _bounded(self._entries)[key] = (token, now + self._ttl)
        return token

    def cached(self, secret: str) -> TokenRecord | None:
        """The token if it is in the cache and fresh; never touches the database."""
        entry = self._entries.get(hash_secret(secret))
        if entry is not None and entry[1] > self._clock():
            return entry[0]
        return None

    def was_valid(self, secret: str) -> bool:
        """Whether ``secret`` named a live token when last looked up (fresh or not): such a
        token is looked up again even from a client address that failed too often."""
        return hash_secret(secret) in self._entries

    def known_unknown(self, secret: str) -> bool:
        """Whether ``secret`` was looked up lately and named no live token."""
        return self._unknown.get(hash_secret(secret), 0.0) > self._clock()

    def forget(self, token_id: str) -> None:
        for key, (token, _) in list(self._entries.items()):
            if token.id == token_id:
                del self._entries[key]


def _bounded(entries: dict[str, V]) -> dict[str, V]:
    """``entries``, emptied first when full: memory stays bounded under any flood."""
    if len(entries) >= TokenCache.MAX_ENTRIES:
        entries.clear()
    return entries


def bearer_secret(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The secret of an ``Authorization: Bearer`` header, or None (as ``HTTPBearer``)."""
    for name, value in headers:
        if name == b"authorization":
            scheme, _, secret = value.decode("latin-1").partition(" ")
            secret = secret.strip()
            return secret if scheme.lower() == "bearer" and secret else None
    return None


def _principal(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Principal:
    checked = getattr(request.state, STATE_KEY, None)
    if isinstance(checked, TokenRecord):  # the request guard looked it up already
        return Principal(checked)
    if credentials is None or not credentials.credentials:
        raise ApiError(401, "unauthorized", "a bearer token is required")
    cache: TokenCache = request.app.state.tokens
    token = cache.authenticate(credentials.credentials)
    if token is None:
        raise ApiError(401, "unauthorized", "the token is unknown or revoked")
    return Principal(token)


def require(scope: str) -> Callable[..., Principal]:
    """A dependency admitting tokens of ``scope`` or a broader one.

    ``sdk``: what SDKs read (sdk tokens, and any API token). ``report``: what SDKs write
    (telemetry): sdk tokens, and write or admin tokens — never read-only ones.
    """

    def dependency(
        request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)
    ) -> Principal:
        principal = _principal(request, credentials)
        granted = principal.token.scope
        if scope == "sdk":
            allowed = granted == "sdk" or granted in _RANK
        elif scope == "report":
            allowed = granted == "sdk" or _RANK.get(granted, 0) >= _RANK["write"]
        else:
            allowed = _RANK.get(granted, 0) >= _RANK[scope]
        if not allowed:
            raise ApiError(
                403,
                "forbidden",
                f"this needs {_NEEDED.get(scope, 'a ' + scope)} token; "
                f"the token has scope {granted!r}",
                required=scope,
                granted=granted,
            )
        return principal

    return dependency


def target_environment(who: Principal, environment: str | None) -> str:
    """An sdk token's own environment; other tokens name one with ``?environment=``."""
    token = who.token
    if token.scope == "sdk":
        if environment is not None and environment != token.environment:
            raise ApiError(
                403,
                "forbidden",
                f"this sdk token is bound to environment {token.environment!r}",
                bound_to=token.environment,
            )
        assert token.environment is not None
        return token.environment
    if environment is None:
        raise ApiError(
            400,
            "bad_request",
            "name the environment (?environment=...) or use an sdk token bound to one",
        )
    return environment
