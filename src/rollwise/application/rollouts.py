"""Rollout use cases: start one, act on one (people's and the controller's actions).

:func:`act_on_rollout` is the one way a rollout changes, and does everything a transition
implies in the caller's transaction (one transaction per use case: the API request's, the
controller's look): the core decides the move (:func:`~rollwise.core.rollout.apply_action`),
the store keeps it (the version-guarded update, its history row, its audit row), the flag's
split follows the new share (:mod:`.flag_split`), and an outbox row per channel that wants
it queues the notification (:mod:`.notifications`). A crash before the commit leaves none
of it; after the commit, all of it. A stale ``expected_version`` or an action that is not
legal now is a ConflictError that says the current version or the legal actions.

A transition that moves the split of a step to judge (start, advance, resume, retry)
keeps the environment's config revision that carries the split in its history's evidence
(``split_revision``): a router outside the processes (nginx) has applied the step once it
reports that revision or a later one, and the controller judges the step from then
(:func:`split_revision` reads it back).

A rollout whose spec has a ``health_check`` does not move traffic when it starts: it stays
pending, verifying its candidate (:func:`~rollwise.core.rollout.is_verifying`), and the
controller's probes are kept by :func:`record_health_check`, which starts step 1 once the
candidate is healthy or aborts the rollout at the check's deadline.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..core.rollout import (
    CONTROLLER_ACTOR,
    RolloutAction,
    RolloutPhase,
    RolloutSpec,
    apply_action,
    check_rollout_spec,
    is_verifying,
    parse_rollout_spec,
    rollout_spec_issues,
)
from ..errors import ConfigError, ConflictError
from ..store import JudgementRecord, RolloutRecord, Tx
from .flag_split import follow_share
from .notifications import queue_rollout_transition
from .release_outcome import follow_rollout

__all__ = [
    "SPLIT_REVISION",
    "SplitRevision",
    "act_on_rollout",
    "create_rollout",
    "record_health_check",
    "split_revision",
]

SPLIT_REVISION = "split_revision"
"""The key of a transition's evidence that holds the config revision of the split it wrote."""


def create_rollout(
    tx: Tx,
    spec: RolloutSpec | Mapping[str, Any],
    *,
    start: bool = False,
    now: datetime | None = None,
    reason: str | None = None,
) -> RolloutRecord:
    """A pending rollout (started at once with ``start``), checked against its flag.

    ConfigError when the spec does not fit the flag; ConflictError when the flag is
    archived or the flag already has an active rollout in the environment.
    """
    parsed = parse_rollout_spec(spec)
    record = tx.flags.get(parsed.flag)
    tx.environments.get(parsed.environment)
    if record.archived:
        raise ConflictError(
            f"flag {record.key!r} is archived: unarchive it before rolling it out",
            resource="flag",
            key=record.key,
        )
    checked = check_rollout_spec(parsed, tx.flags.model(parsed.flag))
    moment = now if now is not None else tx.now()
    created = tx.rollouts.insert(checked, at=moment)
    if not start:
        return created
    return act_on_rollout(
        tx, created.id, RolloutAction.START, expected_version=1, now=moment, reason=reason
    )


def act_on_rollout(
    tx: Tx,
    rollout_id: int,
    action: RolloutAction | str,
    *,
    expected_version: int,
    actor: str | None = None,
    now: datetime | None = None,
    reason: str | None = None,
    evidence: Mapping[str, Any] | None = None,
) -> RolloutRecord:
    """Apply one action to the rollout at ``expected_version``; see the module docs.

    ``actor`` defaults to the transaction's, ``now`` to the store's clock. ``hold``
    changes nothing and records nothing, but locks the row and checks the version.
    Returns the rollout as it is afterwards.
    """
    chosen = RolloutAction(action)
    who = actor if actor is not None else tx.actor
    moment = now if now is not None else tx.now()
    before = tx.rollouts.get(rollout_id, lock=True, expected_version=expected_version)
    applied = apply_action(
        before.spec,
        before.state,
        chosen,
        now=moment,
        actor=who,
        reason=reason,
        evidence=evidence,
    )
    transition = applied.record
    if transition is None:
        return before
    if chosen in (RolloutAction.START, RolloutAction.RETRY):
        _recheck(tx, before.spec)
    # the split first (it needs only the flag, the environment and the spec), so that the
    # history row of a step to judge can say which config revision carries its split
    judged = transition.to_phase is RolloutPhase.PROGRESSING
    revision = tx.environments.config_revision(before.environment) if judged else None
    follow_share(tx, before, transition)
    if judged:
        written = tx.environments.config_revision(before.environment)
        if written != revision:
            kept = {**(transition.evidence or {}), SPLIT_REVISION: written}
            transition = transition.model_copy(update={"evidence": kept})
    after = tx.rollouts.save_transition(before, applied.state, transition)
    queue_rollout_transition(tx, after, transition)
    if not after.is_active:  # a release rolled out by it is promoted or rolled back with it
        follow_rollout(tx, after)
    return after


def record_health_check(
    tx: Tx,
    rollout: RolloutRecord,
    action: RolloutAction,
    *,
    at: datetime,
    reason: str,
    verdict: str,
    evidence: Mapping[str, Any],
) -> tuple[JudgementRecord, RolloutRecord]:
    """Keep the controller's look at a rollout verifying its candidate's health (as it was
    read: a person who changed it meanwhile wins, ConflictError) and act on it: ``hold``
    keeps counting, ``start`` starts step 1 (the first split), ``abort`` ends it with the
    probes as evidence (nothing was shifted). Returns the judgement and the rollout after."""
    current = tx.rollouts.get(rollout.id, lock=True, expected_version=rollout.version)
    if not is_verifying(current.spec, current.state):
        raise ConflictError(
            f"rollout {rollout.id} is not verifying its candidate's health ({current.phase.value})",
            rollout_id=rollout.id,
            phase=current.phase.value,
        )
    if action not in (RolloutAction.HOLD, RolloutAction.START, RolloutAction.ABORT):
        raise ValueError(f"a health check holds, starts or aborts, not {action.value}")
    judgement = tx.rollouts.record_judgement(
        rollout.id, decision=action.value, reason=reason, verdict=verdict, evidence=evidence, at=at
    )
    if action is RolloutAction.HOLD:
        return judgement, current
    after = act_on_rollout(
        tx,
        rollout.id,
        action,
        expected_version=rollout.version,
        actor=CONTROLLER_ACTOR,
        now=at,
        reason=reason,
        evidence=evidence,
    )
    return judgement, after


@dataclass(frozen=True, slots=True)
class SplitRevision:
    """The config revision that carries a rollout's split, and when it was committed."""

    revision: int
    at: datetime


def split_revision(tx: Tx, rollout_id: int) -> SplitRevision | None:
    """The config revision of the split the rollout wrote last for a step to judge (None:
    it wrote none, or before revisions were kept)."""
    for row in reversed(tx.rollouts.list_history(rollout_id)):
        value = (row.evidence or {}).get(SPLIT_REVISION)
        if isinstance(value, int) and not isinstance(value, bool):
            return SplitRevision(value, row.at)
    return None


def _recheck(tx: Tx, spec: RolloutSpec) -> None:
    """Before traffic moves again: the flag may have changed since the rollout was made."""
    issues = list(rollout_spec_issues(spec, tx.flags.model(spec.flag)))
    if issues:
        raise ConfigError(issues)
