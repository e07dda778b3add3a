"""Inconsistencies planted through the store, for tests that drive the API or the CLI."""

from __future__ import annotations

from rollwise.store import Store


def dead_notification(store: Store, channel: str = "ops") -> None:
    """A notification for ``channel`` that the dispatcher gave up on."""
    with store.transaction("admin") as tx:
        tx.channels.create(channel, {"type": "nop", "name": channel})
        tx.outbox.enqueue(
            {
                "kind": "rollwise.test",
                "severity": "info",
                "title": "t",
                "summary": "",
                "subject": {},
                "occurred_at": "2026-05-01T12:00:00Z",
                "fields": {},
                "evidence": None,
                "links": {},
            },
            channels=[channel],
        )
    with store.transaction("dispatcher") as tx:
        [row] = tx.outbox.claim_due()
        tx.outbox.mark_failed(row.id, "HTTP 410 from the receiver")
