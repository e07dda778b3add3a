"""Serialized SDK documents per environment, and the event streams waiting for changes.

The config endpoint serves bytes from here without touching the database. The hub learns
about changes in two ways: at once when this process commits one (``changed()``), and from
a poll (one statement a second, whatever the number of environments) of every environment's
config revision, for changes another replica made. The same statement says which tokens of
the open event streams are still live: a stream whose token was revoked (on any replica)
is ended by the next poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..store import Store

__all__ = ["CachedConfig", "ConfigHub", "Subscription"]

_logger = logging.getLogger("rollwise.server")


@dataclass(frozen=True, slots=True)
class CachedConfig:
    environment: str
    revision: int
    body: bytes
    etag: str
    etag_bytes: bytes = field(init=False, repr=False)
    length: bytes = field(init=False, repr=False)
    event: bytes = field(init=False, repr=False)
    """The SSE message announcing this version (built once: every stream sends it)."""

    def __post_init__(self) -> None:
        data = json.dumps({"revision": f"{self.environment}:{self.revision}", "etag": self.etag})
        event = f"event: config\nid: {self.environment}:{self.revision}\ndata: {data}\n\n"
        object.__setattr__(self, "etag_bytes", self.etag.encode())
        object.__setattr__(self, "length", str(len(self.body)).encode())
        object.__setattr__(self, "event", event.encode())


@dataclass(eq=False, slots=True)
class Subscription:
    """One open event stream: woken on each change of its environment, or to end it."""

    environment: str
    token_id: str
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    ended: str | None = None
    """Why the stream must end now (``"revoked"``, ``"lifetime"``, ...), or None."""
    keepalive_due: bool = False

    def end(self, reason: str) -> None:
        if self.ended is None:
            self.ended = reason
        self.wake.set()

    def keepalive(self) -> None:
        self.keepalive_due = True
        self.wake.set()


class ConfigHub:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._configs: dict[str, CachedConfig] = {}
        self._revisions: dict[str, int] = {}
        """The latest revision seen of every environment; its document may not be built
        yet (built when first asked for, or at once when streams wait for it)."""
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._streams: dict[str, set[Subscription]] = {}
        self._stream_tokens: dict[str, int] = {}  # token id -> open streams (loop thread only)

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def current(self, environment: str) -> CachedConfig:
        """The latest document (NotFoundError for an unknown environment)."""
        cached = self._configs.get(environment)
        if cached is not None:
            return cached
        return self._build(environment)

    def cached(self, environment: str) -> CachedConfig | None:
        """The document if it is already in memory (no database access)."""
        return self._configs.get(environment)

    def _build(self, environment: str) -> CachedConfig:
        with self._store.reading() as tx:
            document = tx.config.document(environment)
        revision = int((document.revision or "0").rsplit(":", 1)[1])
        body = json.dumps(
            document.model_dump(mode="json", exclude_none=True),
            separators=(",", ":"),
            sort_keys=True,
        ).encode()
        cached = CachedConfig(
            environment, revision, body, '"' + hashlib.sha256(body).hexdigest() + '"'
        )
        with self._lock:
            known = self._configs.get(environment)
            latest = self._revisions.get(environment, revision)
            if (known is None or known.revision <= revision) and revision >= latest:
                self._configs[environment] = cached
        return cached

    def refresh(self) -> None:
        """Re-read every revision in one statement; rebuild and announce what changed, and
        end the streams whose token is no longer live."""
        watched = list(self._stream_tokens)  # a copy: the loop thread changes the dict
        with self._store.reading() as tx:  # no write lock taken or waited for
            revisions, alive = tx.config.revisions(watched)
        for environment, revision in revisions.items():
            if self._revisions.get(environment) == revision:
                continue
            with self._lock:
                self._revisions[environment] = revision
                known = self._configs.get(environment)
                if known is not None and known.revision != revision:
                    del self._configs[environment]
            # Built now only where streams wait for it: with 2,000 environments, one change
            # would otherwise cost 2,000 documents before the request could answer.
            if self._streams.get(environment):
                self._build(environment)
                self._announce(environment)
        for gone in (set(self._configs) | set(self._revisions)) - set(revisions):
            self._configs.pop(gone, None)
            self._revisions.pop(gone, None)
        revoked = set(watched) - alive
        if revoked:
            self._on_loop(self._end_streams_of, revoked)

    def changed(self) -> None:
        """Called after this process committed a change that may alter SDK documents."""
        self.refresh()

    def revisions(self) -> dict[str, int]:
        return dict(self._revisions)

    # -- event streams (called on the event loop) ----------------------------------------------

    def subscribe(self, environment: str, token_id: str) -> Subscription:
        subscription = Subscription(environment, token_id)
        self._streams.setdefault(environment, set()).add(subscription)
        self._stream_tokens[token_id] = self._stream_tokens.get(token_id, 0) + 1
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        streams = self._streams.get(subscription.environment)
        if streams is None or subscription not in streams:
            return
        streams.discard(subscription)
        if not streams:
            self._streams.pop(subscription.environment, None)
        left = self._stream_tokens.get(subscription.token_id, 0) - 1
        if left > 0:
            self._stream_tokens[subscription.token_id] = left
        else:
            self._stream_tokens.pop(subscription.token_id, None)

    def streams(self) -> int:
        return sum(len(streams) for streams in self._streams.values())

    def _announce(self, environment: str) -> None:
        if self._streams.get(environment):
            self._on_loop(self._wake, environment)

    def _on_loop(self, callback: Callable[[Any], None], argument: Any) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody waits
            loop.call_soon_threadsafe(callback, argument)

    def _wake(self, environment: str) -> None:
        for subscription in self._streams.get(environment, ()):
            subscription.wake.set()

    def _end_streams_of(self, token_ids: Iterable[str]) -> None:
        revoked = set(token_ids)
        for streams in self._streams.values():
            for subscription in streams:
                if subscription.token_id in revoked:
                    subscription.end("revoked")

    async def poll_forever(self, interval: float) -> None:
        while True:
            try:
                await asyncio.to_thread(self.refresh)
            except Exception:  # the database may be briefly away; SSE clients keep waiting
                _logger.exception("rollwise: polling config revisions failed; will retry")
            await asyncio.sleep(interval)
