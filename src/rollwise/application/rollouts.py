"""Rollout use cases: start one, act on one (people's and the controller's actions).

:func:`act_on_rollout` is the one way a rollout changes, and does everything a transition
implies in the caller's transaction (one transaction per use case: the API request's, the
controller's look): the core decides the move (:func:`~rollwise.core.rollout.apply_action`),
the store keeps it (the version-guarded update, its history row, its audit row), the flag's
split follows the new share (:mod:`.flag_split`), and an outbox row per channel that wants
it queues the notification (:mod:`.notifications`). A crash before the commit leaves none
of it; after the commit, all of it. A stale ``expected_version`` or an action that is not
legal now is a ConflictError that says the current version or the legal actions.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ..core.rollout import (
    RolloutAction,
    RolloutSpec,
    apply_action,
    check_rollout_spec,
    parse_rollout_spec,
    rollout_spec_issues,
)
from ..errors import ConfigError, ConflictError
from ..store import RolloutRecord, Tx
from .flag_split import follow_share
from .notifications import queue_rollout_transition
from .release_outcome import follow_rollout

__all__ = ["act_on_rollout", "create_rollout"]


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
    record = tx.get_flag(parsed.flag)
    tx.get_environment(parsed.environment)
    if record.archived:
        raise ConflictError(
            f"flag {record.key!r} is archived: unarchive it before rolling it out",
            resource="flag",
            key=record.key,
        )
    checked = check_rollout_spec(parsed, tx.flag_model(parsed.flag))
    moment = now if now is not None else tx.now()
    created = tx.insert_rollout(checked, at=moment)
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
    before = tx.get_rollout(rollout_id, lock=True, expected_version=expected_version)
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
    after = tx.save_rollout_transition(before, applied.state, transition)
    follow_share(tx, after, transition)
    queue_rollout_transition(tx, after, transition)
    if not after.is_active:  # a release rolled out by it is promoted or rolled back with it
        follow_rollout(tx, after)
    return after


def _recheck(tx: Tx, spec: RolloutSpec) -> None:
    """Before traffic moves again: the flag may have changed since the rollout was made."""
    issues = list(rollout_spec_issues(spec, tx.flag_model(spec.flag)))
    if issues:
        raise ConfigError(issues)
