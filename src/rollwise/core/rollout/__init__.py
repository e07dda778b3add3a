"""The rollout model: spec, phases, legal transitions, derived traffic share. Pure, no I/O.

- :class:`RolloutSpec` says what is rolled out where and how (``canary`` steps or a
  ``blue_green`` switch), with which gates and analysis settings; :func:`parse_rollout_spec`
  and :func:`check_rollout_spec` turn input into a checked spec or a precise ConfigError.
- :class:`RolloutState` says where it is; :func:`apply_action` is the only way it moves,
  along :data:`TRANSITIONS`, and returns the :class:`TransitionRecord` for the history.
- :func:`traffic_share` derives the canary's share from phase and step;
  :func:`rollout_split` and :func:`apply_share` turn it into the flag's split.
- :func:`decide` turns a step's :class:`~rollwise.core.gates.Verdict` into the controller's action.

docs/rollouts.md describes the format and the rules for users.
"""

from __future__ import annotations

from ._decide import (
    MIN_MAX_STEP_DURATION,
    StepClock,
    StepDecision,
    decide,
    gate_alphas,
    gates_for_step,
    judge_settings,
    step_clock,
    step_max_duration,
)
from ._phases import (
    CONTROLLER_ACTIONS,
    MANUAL_ACTIONS,
    TRANSITIONS,
    RolloutAction,
    RolloutPhase,
    legal_actions,
)
from ._spec import (
    DEFAULT_MIN_SAMPLES,
    BlueGreenStrategy,
    CanaryStrategy,
    RolloutSpec,
    Step,
    check_rollout_spec,
    current_weights,
    parse_rollout_spec,
    resolved_baseline,
    rollout_spec_issues,
)
from ._state import (
    CONTROLLER_ACTOR,
    Applied,
    RolloutState,
    TransitionRecord,
    apply_action,
)
from ._traffic import apply_share, rollout_split, share_at, traffic_share

__all__ = [
    "CONTROLLER_ACTIONS",
    "CONTROLLER_ACTOR",
    "DEFAULT_MIN_SAMPLES",
    "MANUAL_ACTIONS",
    "MIN_MAX_STEP_DURATION",
    "TRANSITIONS",
    "Applied",
    "BlueGreenStrategy",
    "CanaryStrategy",
    "RolloutAction",
    "RolloutPhase",
    "RolloutSpec",
    "RolloutState",
    "Step",
    "StepClock",
    "StepDecision",
    "TransitionRecord",
    "apply_action",
    "apply_share",
    "check_rollout_spec",
    "current_weights",
    "decide",
    "gate_alphas",
    "gates_for_step",
    "judge_settings",
    "legal_actions",
    "parse_rollout_spec",
    "resolved_baseline",
    "rollout_spec_issues",
    "rollout_split",
    "share_at",
    "step_clock",
    "step_max_duration",
    "traffic_share",
]
