"""The telemetry retention loop the server lifespan runs (one per process).

Every replica may run it: deletes are idempotent and touch only rows too old for ingest to
write. A failed pass (the database briefly away) is logged and tried again next time.
"""

from __future__ import annotations

import asyncio
import logging

from ..store import PurgeResult, Store

__all__ = ["purge_forever", "purge_once"]

_logger = logging.getLogger("rollwise.server")


def purge_once(store: Store) -> PurgeResult:
    """One pass of :meth:`rollwise.store.Tx.purge_telemetry` in its own transaction."""
    result = store.retrying("retention", lambda tx: tx.purge_telemetry())
    if result.total:
        _logger.info("rollwise: retention deleted %s", result.deleted)
    return result


async def purge_forever(store: Store, interval: float) -> None:
    while True:
        try:
            await asyncio.to_thread(purge_once, store)
        except Exception:  # a background loop: log it, retry at the next interval
            _logger.exception("rollwise: telemetry retention pass failed; will retry")
        await asyncio.sleep(interval)
