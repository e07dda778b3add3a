"""Who owns a flag's split in an environment, and the refusal of a change by hand.

An active rollout owns the split and default it derives from its share; a running
experiment locks split, default and unit (see ``store/experiments.py``). A flag state
change that touches what they own is a ConflictError naming the owner; rules and the kill
switch stay free. The current state is read only when an owner exists.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property

from sqlalchemy import Connection, select

from ..core.flags import FlagEnvironment
from ..errors import ConflictError
from .tables import ACTIVE_PHASES, experiments, rollouts

__all__ = ["Current", "refuse_under_experiment", "refuse_under_rollout"]


class Current:
    """The stored state, read once, when a check first needs it."""

    def __init__(self, read: Callable[[], FlagEnvironment]) -> None:
        self._read = read

    @cached_property
    def state(self) -> FlagEnvironment:
        return self._read()


def refuse_under_rollout(
    conn: Connection, flag: str, environment: str, state: FlagEnvironment, current: Current
) -> None:
    row = conn.execute(
        select(rollouts.c.id, rollouts.c.phase).where(
            rollouts.c.flag == flag,
            rollouts.c.environment == environment,
            rollouts.c.phase.in_(ACTIVE_PHASES),
        )
    ).first()
    if row is None:
        return
    now = current.state
    if (state.split, state.default) == (now.split, now.default):
        return
    raise ConflictError(
        f"flag {flag!r} in {environment!r} is under rollout {row.id} ({row.phase}), which "
        "owns its split: let it finish, or promote or abort it, before changing the "
        "split by hand",
        resource="flag_state",
        flag=flag,
        environment=environment,
        rollout_id=row.id,
        phase=row.phase,
    )


def refuse_under_experiment(
    conn: Connection, flag: str, environment: str, state: FlagEnvironment, current: Current
) -> None:
    """A running experiment locks split, default and unit."""
    row = conn.execute(
        select(experiments.c.key).where(
            experiments.c.flag == flag,
            experiments.c.environment == environment,
            experiments.c.state == "running",
        )
    ).first()
    if row is None:
        return
    now = current.state
    if (state.split, state.default, state.unit) == (now.split, now.default, now.unit):
        return
    raise ConflictError(
        f"flag {flag!r} in {environment!r} runs experiment {row.key!r}, which locks its "
        "split: stop the experiment before changing the split",
        resource="flag_state",
        flag=flag,
        environment=environment,
        experiment=row.key,
    )
