"""Follow the share: a rollout's transition moves its flag's split in the environment.

The share is derived from the rollout's phase and step, never stored twice
(:func:`~rollwise.core.rollout.apply_share` turns it into the flag's state); this use case
writes that state when it differs from the stored one, audited ``flag.rollout_split``, in
the transition's transaction, with the environment's config revision bumped so that SDKs
see it.
"""

from __future__ import annotations

from ..core.rollout import RolloutPhase, TransitionRecord, apply_share
from ..store import RolloutRecord, Tx

__all__ = ["follow_share"]


def follow_share(tx: Tx, rollout: RolloutRecord, transition: TransitionRecord) -> None:
    """Write the flag's split for ``transition.to_share`` when it differs from the stored
    one. A pending rollout has not touched the flag yet, so aborting it leaves it alone."""
    if transition.from_phase is RolloutPhase.PENDING and transition.to_share == 0:
        return
    # hold the state row first: a concurrent writer waits, it does not fail us
    current = tx.flags.get_state(rollout.flag, rollout.environment, lock=True)
    wanted = apply_share(tx.flags.model(rollout.flag), rollout.spec, transition.to_share)
    if current.version > 0 and wanted == current.state:
        return
    tx.flags.put_state(rollout.flag, rollout.environment, wanted, current.version, by_rollout=True)
