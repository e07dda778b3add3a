"""A release's outcome follows its rollout: ``succeeded`` → promoted (and the release it
replaced superseded), ``rolled_back`` → rolled back, ``aborted`` → failed.

Apart from :mod:`.releases` so that the rollout use cases can call it on every transition
that ends a rollout without importing what starts releases.
"""

from __future__ import annotations

from ..core.release import ReleaseOutcome, outcome_of_phase
from ..store import RolloutRecord, Tx
from ..store.releases import ReleaseRecord

__all__ = ["follow_rollout", "supersede_others"]


def supersede_others(tx: Tx, live: ReleaseRecord) -> None:
    """``live`` is the one promoted release of its environment and flag."""
    for other in tx.releases.list_releases(
        environment=live.environment,
        flag=live.flag,
        outcomes=[ReleaseOutcome.PROMOTED],
        limit=1000,
    ):
        if other.id != live.id:
            tx.releases.set_outcome(other.id, ReleaseOutcome.SUPERSEDED)


def follow_rollout(tx: Tx, rollout: RolloutRecord) -> ReleaseRecord | None:
    """Carry a finished rollout's phase onto its release (None: no release has it).

    Idempotent: a release whose outcome is already settled is left alone.
    """
    release = tx.releases.of_rollout(rollout.id, lock=True)
    if release is None or release.outcome is not ReleaseOutcome.DEPLOYING:
        return release
    outcome = outcome_of_phase(rollout.phase.value)
    if outcome is None:
        return release
    after = tx.releases.set_outcome(release.id, outcome)
    if outcome is ReleaseOutcome.PROMOTED:
        supersede_others(tx, after)
    return after
