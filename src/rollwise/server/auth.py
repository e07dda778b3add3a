"""Bearer tokens with scopes: admin ⊃ write ⊃ read, and sdk (one environment: its config,
and reporting its telemetry).

Authenticated tokens are cached for a few seconds so that the SDK config endpoint, polled
by every application replica, costs no database round trip; a revocation made through this
server takes effect at once, one made elsewhere within the cache time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ..store import Store, TokenRecord
from ..store.tokens import hash_secret
from .errors import ApiError

__all__ = ["Principal", "TokenCache", "require", "target_environment"]

_RANK = {"read": 1, "write": 2, "admin": 3}
_NEEDED = {"report": "an sdk, write or admin"}
bearer = HTTPBearer(auto_error=False, description="A rollwise API or SDK token")


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the token, and the actor name the audit log records."""

    token: TokenRecord

    @property
    def actor(self) -> str:
        return f"token:{self.token.name}:{self.token.id}"


class TokenCache:
    def __init__(
        self, store: Store, ttl: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._store = store
        self._ttl = ttl
        self._clock = clock
        self._entries: dict[str, tuple[TokenRecord, float]] = {}

    def authenticate(self, secret: str) -> TokenRecord | None:
        key = hash_secret(secret)
        now = self._clock()
        cached = self._entries.get(key)
        if cached is not None and cached[1] > now:
            return cached[0]
        with self._store.transaction("auth") as tx:
            token = tx.authenticate(secret)
        if token is None:
            self._entries.pop(key, None)
            return None
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[key] = (token, now + self._ttl)
        return token

    def cached(self, secret: str) -> TokenRecord | None:
        """The token if it is in the cache and fresh; never touches the database."""
        entry = self._entries.get(hash_secret(secret))
        if entry is not None and entry[1] > self._clock():
            return entry[0]
        return None

    def forget(self, token_id: str) -> None:
        for key, (token, _) in list(self._entries.items()):
            if token.id == token_id:
                del self._entries[key]


def _principal(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Principal:
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
