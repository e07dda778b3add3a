"""The retention loop the server lifespan runs (one per process): telemetry, the
notifications already delivered or given up, and the evaluations of rollouts that finished
longer ago than the coarsest telemetry is kept (``keep_1h``: a finished rollout's judgement
history lives as long as the metrics that chart it).

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
    """One pass of telemetry, outbox and evaluation retention in its own transaction."""
    result = store.retrying("retention", _purge)
    if result.total:
        _logger.info("rollwise: retention deleted %s", result.deleted)
    return result


def _purge(tx: Tx) -> PurgeResult:
    telemetry = tx.telemetry.purge()
    notifications = tx.outbox.purge(tx.telemetry_policy.keep_notifications)
    evaluations = tx.evaluations.purge(tx.telemetry_policy.keep_1h)
    deleted = {**telemetry.deleted, "outbox": notifications, "rollout_evaluations": evaluations}
    return PurgeResult(deleted=deleted)


async def purge_forever(store: Store, interval: float) -> None:
    while True:
        try:
            await asyncio.to_thread(purge_once, store)
        except Exception:  # the boundary of one retention pass: logged, retried next interval
            _logger.exception("rollwise: telemetry retention pass failed; will retry")
        await asyncio.sleep(interval)
