"""Rollout phases, the actions that move between them, and the table of legal transitions.

``pending → progressing ⇄ paused → succeeded | rolled_back | aborted``. People act with
``start``, ``pause``, ``resume``, ``promote``, ``abort`` and ``retry``; the controller
decides ``advance``, ``hold``, ``rollback`` and ``pause``. Anything not in the table is a
:class:`~rollwise.errors.ConflictError` that lists what is legal now.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

__all__ = [
    "CONTROLLER_ACTIONS",
    "MANUAL_ACTIONS",
    "TRANSITIONS",
    "RolloutAction",
    "RolloutPhase",
    "legal_actions",
]


class RolloutPhase(StrEnum):
    PENDING = "pending"
    PROGRESSING = "progressing"
    PAUSED = "paused"
    SUCCEEDED = "succeeded"
    ROLLED_BACK = "rolled_back"
    ABORTED = "aborted"

    @property
    def is_terminal(self) -> bool:
        """Succeeded, rolled back or aborted: only ``retry`` (after a failure) leaves it."""
        return self in _TERMINAL

    @property
    def is_active(self) -> bool:
        """Pending, progressing or paused: the one rollout a flag and environment may have."""
        return self not in _TERMINAL


_TERMINAL = frozenset({RolloutPhase.SUCCEEDED, RolloutPhase.ROLLED_BACK, RolloutPhase.ABORTED})


class RolloutAction(StrEnum):
    START = "start"
    PAUSE = "pause"
    RESUME = "resume"
    PROMOTE = "promote"
    ABORT = "abort"
    RETRY = "retry"
    ADVANCE = "advance"
    HOLD = "hold"
    ROLLBACK = "rollback"


MANUAL_ACTIONS = frozenset(
    {
        RolloutAction.START,
        RolloutAction.PAUSE,
        RolloutAction.RESUME,
        RolloutAction.PROMOTE,
        RolloutAction.ABORT,
        RolloutAction.RETRY,
    }
)
"""What people do (through the API and CLI)."""

CONTROLLER_ACTIONS = frozenset(
    {RolloutAction.ADVANCE, RolloutAction.HOLD, RolloutAction.ROLLBACK, RolloutAction.PAUSE}
)
"""What the controller decides after judging a step."""

_P = RolloutPhase
_A = RolloutAction

TRANSITIONS: Mapping[RolloutPhase, Mapping[RolloutAction, RolloutPhase]] = MappingProxyType(
    {
        _P.PENDING: MappingProxyType({_A.START: _P.PROGRESSING, _A.ABORT: _P.ABORTED}),
        _P.PROGRESSING: MappingProxyType(
            {
                _A.PAUSE: _P.PAUSED,
                _A.PROMOTE: _P.SUCCEEDED,
                _A.ABORT: _P.ABORTED,
                # the next step; SUCCEEDED from the last step, or onto a 100% step with no bake
                _A.ADVANCE: _P.PROGRESSING,
                _A.HOLD: _P.PROGRESSING,
                _A.ROLLBACK: _P.ROLLED_BACK,
            }
        ),
        _P.PAUSED: MappingProxyType(
            {_A.RESUME: _P.PROGRESSING, _A.PROMOTE: _P.SUCCEEDED, _A.ABORT: _P.ABORTED}
        ),
        _P.SUCCEEDED: MappingProxyType({}),
        _P.ROLLED_BACK: MappingProxyType({_A.RETRY: _P.PROGRESSING}),
        _P.ABORTED: MappingProxyType({_A.RETRY: _P.PROGRESSING}),
    }
)
"""phase → {legal action → the phase it leads to}. Everything else is illegal."""


def legal_actions(phase: RolloutPhase) -> tuple[RolloutAction, ...]:
    """The actions legal in ``phase``, in the table's order."""
    return tuple(TRANSITIONS[phase])
