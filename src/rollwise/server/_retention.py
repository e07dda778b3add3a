"""The retention loop the server lifespan runs (one per process): telemetry and the
notifications already delivered or given up.

Every replica may run it: deletes are idempotent and touch only rows too old for ingest to
write. A failed pass (the database briefly away) is logged and tried again next time.
"""

from __future__ import annotations

import asyncio
import logging

from ..store import PurgeResult, Store, Tx

__all__ = ["purge_forever", "purge_once"]

_logger = logging.getLogger("rollwise.server")


def purge_once(store: Store) -> PurgeResult:
    """One pass of telemetry and outbox retention in its own transaction."""
    result = store.retrying("retention", _purge)
    if result.total:
        _logger.info("rollwise: retention deleted %s", result.deleted)
    return result


def _purge(tx: Tx) -> PurgeResult:
    telemetry = tx.purge_telemetry()
    notifications = tx.purge_outbox(tx.telemetry_policy.keep_notifications)
    return PurgeResult(deleted={**telemetry.deleted, "outbox": notifications})


async def purge_forever(store: Store, interval: float) -> None:
    while True:
        try:
            await asyncio.to_thread(purge_once, store)
        except Exception:  # a background loop: log it, retry at the next interval
            _logger.exception("rollwise: telemetry retention pass failed; will retry")
        await asyncio.sleep(interval)
