"""What the controller reads to know whether a step's routers applied its split.

The rule is pure (:func:`~rollwise.core.rollout.check_routing`); this reads its inputs in
one read transaction: the environment's routers from the fleet view, the config revision
of the split the rollout wrote last (its history), and the moment an earlier look found
it applied (the rollout's latest judgement, ``evidence.routing.applied_at``), which is kept
so that a router's later revisions — another flag changing — never move the step's window.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..application.rollouts import split_revision
from ..core.rollout import (
    IN_PROCESS_ROUTER,
    ROUTER_GONE_AFTER,
    RoutingCheck,
    check_routing,
    parse_router_instance,
)
from ..store import JudgementRecord, RolloutRecord, Store

__all__ = ["ROUTING_EVIDENCE", "read_routing"]

ROUTING_EVIDENCE = "routing"
"""The key of a judgement's evidence that holds the routing check."""


def read_routing(store: Store, record: RolloutRecord, now: datetime) -> RoutingCheck | None:
    """The routing check of ``record``'s current step; None when nothing outside the
    processes applies its split (or it is not progressing)."""
    started = record.state.step_started_at
    if record.spec.router == IN_PROCESS_ROUTER or started is None:
        return None
    with store.reading() as tx:
        reports = [
            report
            for instance in tx.instances.list_routers(
                record.environment, seen_since=now - ROUTER_GONE_AFTER
            )
            if (
                report := parse_router_instance(
                    instance.instance,
                    revision=instance.config_revision,
                    revision_since=instance.revision_since,
                    last_seen=instance.last_seen,
                )
            )
            is not None
        ]
        judgement = tx.rollouts.get_judgement(record.id)
        if not reports and record.spec.router is None and not _routed(judgement, record):
            return None  # no router reports for the environment: the in-process split
        written = split_revision(tx, record.id)
        # a rollout from before revisions were kept: the newest one
        revision = (
            tx.environments.config_revision(record.environment)
            if written is None
            else written.revision
        )
        pinned = _applied_before(judgement, record, revision)
    return check_routing(
        record.spec,
        step_started_at=started,
        revision=revision,
        reports=reports,
        now=now,
        applied_at=pinned,
    )


def _routed(judgement: JudgementRecord | None, record: RolloutRecord) -> bool:
    """Whether an earlier look of this step went through routers (which may have gone)."""
    if judgement is None or judgement.rollout_version != record.version:
        return False
    return isinstance((judgement.evidence or {}).get(ROUTING_EVIDENCE), dict)


def _applied_before(
    judgement: JudgementRecord | None, record: RolloutRecord, revision: int
) -> datetime | None:
    """When an earlier look of this very step (same version) found its split applied."""
    if judgement is None or judgement.rollout_version != record.version:
        return None
    routing: Any = (judgement.evidence or {}).get(ROUTING_EVIDENCE)
    if not isinstance(routing, dict) or routing.get("revision") != revision:
        return None
    applied = routing.get("applied_at")
    if not isinstance(applied, str):
        return None
    try:
        return datetime.fromisoformat(applied)
    except ValueError:
        return None
