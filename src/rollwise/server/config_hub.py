"""Serialized SDK documents per environment, and the notifications SSE streams wait on.

The config endpoint serves bytes from here without touching the database. The hub learns
about changes in two ways: at once when this process commits one (``changed()``), and from
a poll of every environment's config revision (one query a second) for changes another
replica made.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import threading
from dataclasses import dataclass

from ..store import Store

__all__ = ["CachedConfig", "ConfigHub"]

_logger = logging.getLogger("rollwise.server")


@dataclass(frozen=True, slots=True)
class CachedConfig:
    environment: str
    revision: int
    body: bytes
    etag: str

    @property
    def etag_bytes(self) -> bytes:
        return self.etag.encode()

    @property
    def length(self) -> bytes:
        return str(len(self.body)).encode()

    @property
    def event(self) -> bytes:
        data = json.dumps({"revision": f"{self.environment}:{self.revision}", "etag": self.etag})
        return f"event: config\nid: {self.environment}:{self.revision}\ndata: {data}\n\n".encode()


class ConfigHub:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._configs: dict[str, CachedConfig] = {}
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiters: dict[str, set[asyncio.Event]] = {}

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
        with self._store.transaction("sdk") as tx:
            document = tx.config_document(environment)
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
            if known is None or known.revision <= revision:
                self._configs[environment] = cached
        return cached

    def refresh(self) -> None:
        """Re-read every environment's revision; rebuild and announce what changed."""
        with self._store.transaction("sdk") as tx:
            revisions = {e.key: tx.config_revision(e.key) for e in tx.list_environments()}
        for environment, revision in revisions.items():
            known = self._configs.get(environment)
            if known is None or known.revision != revision:
                self._build(environment)
                self._announce(environment)
        for gone in set(self._configs) - set(revisions):
            self._configs.pop(gone, None)

    def changed(self) -> None:
        """Called after this process committed a change that may alter SDK documents."""
        self.refresh()

    def revisions(self) -> dict[str, int]:
        return {env: cached.revision for env, cached in self._configs.items()}

    # -- waiting for changes (SSE) ---------------------------------------------------------

    def subscribe(self, environment: str) -> asyncio.Event:
        event = asyncio.Event()
        self._waiters.setdefault(environment, set()).add(event)
        return event

    def unsubscribe(self, environment: str, event: asyncio.Event) -> None:
        waiters = self._waiters.get(environment)
        if waiters is not None:
            waiters.discard(event)
            if not waiters:
                self._waiters.pop(environment, None)

    def _announce(self, environment: str) -> None:
        loop = self._loop
        waiters = list(self._waiters.get(environment, ()))
        if loop is None or not waiters:
            return
        for event in waiters:
            loop.call_soon_threadsafe(event.set)

    async def poll_forever(self, interval: float) -> None:
        while True:
            try:
                await asyncio.to_thread(self.refresh)
            except Exception:  # the database may be briefly away; SSE clients keep waiting
                _logger.exception("rollwise: polling config revisions failed; will retry")
            await asyncio.sleep(interval)
