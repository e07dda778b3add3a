"""The rollout model: spec, phases, legal transitions, derived traffic share. Pure, no I/O.

- :class:`RolloutSpec` says what is rolled out where and how (``canary`` steps or a
  ``blue_green`` switch), with which gates and analysis settings; :func:`parse_rollout_spec`
  and :func:`check_rollout_spec` turn input into a checked spec or a precise ConfigError.
- :class:`RolloutState` says where it is; :func:`apply_action` is the only way it moves,
  along :data:`TRANSITIONS`, and returns the :class:`TransitionRecord` for the history.
- :func:`traffic_share` derives the canary's share from phase and step;
  :func:`rollout_split` and :func:`apply_share` turn it into the flag's split.
- :func:`decide` turns a step's :class:`~rollwise.core.gates.Verdict` into the controller's action;
  :func:`check_routing` and :func:`routing_decision` hold a step until the routers that
  carry its traffic applied its split, and pause it when they do not in time.
- :class:`HealthCheck` (the spec's ``health_check``) keeps a started rollout pending
  (:func:`is_verifying`) until :func:`health_decision` has seen enough healthy answers
  from the candidate, or aborts it at the deadline.

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
from ._health import (
    HEALTH_EVIDENCE,
    HealthCheck,
    HealthDecision,
    HealthProbe,
    HealthProgress,
    health_decision,
    probe_due,
)
from ._phases import (
    CONTROLLER_ACTIONS,
    MANUAL_ACTIONS,
    TRANSITIONS,
    RolloutAction,
    RolloutPhase,
    legal_actions,
)
from ._routing import (
    ROUTER_GONE_AFTER,
    ROUTER_INSTANCE_PREFIX,
    RouterReport,
    RoutingCheck,
    carries,
    check_routing,
    live_routers,
    parse_router_instance,
    router_instance_name,
    routing_decision,
)
from ._spec import (
    DEFAULT_MIN_SAMPLES,
    DEFAULT_ROUTER_APPLY_TIMEOUT,
    IN_PROCESS_ROUTER,
    ROUTER_PATTERN,
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
    is_verifying,
)
from ._traffic import apply_share, rollout_split, share_at, traffic_share

__all__ = [
    "CONTROLLER_ACTIONS",
    "CONTROLLER_ACTOR",
    "DEFAULT_MIN_SAMPLES",
    "DEFAULT_ROUTER_APPLY_TIMEOUT",
    "HEALTH_EVIDENCE",
    "IN_PROCESS_ROUTER",
    "MANUAL_ACTIONS",
    "MIN_MAX_STEP_DURATION",
    "ROUTER_GONE_AFTER",
    "ROUTER_INSTANCE_PREFIX",
    "ROUTER_PATTERN",
    "TRANSITIONS",
    "Applied",
    "BlueGreenStrategy",
    "CanaryStrategy",
    "HealthCheck",
    "HealthDecision",
    "HealthProbe",
    "HealthProgress",
    "RolloutAction",
    "RolloutPhase",
    "RolloutSpec",
    "RolloutState",
    "RouterReport",
    "RoutingCheck",
    "Step",
    "StepClock",
    "StepDecision",
    "TransitionRecord",
    "apply_action",
    "apply_share",
    "carries",
    "check_rollout_spec",
    "check_routing",
    "current_weights",
    "decide",
    "gate_alphas",
    "gates_for_step",
    "health_decision",
    "is_verifying",
    "judge_settings",
    "legal_actions",
    "live_routers",
    "parse_rollout_spec",
    "parse_router_instance",
    "probe_due",
    "resolved_baseline",
    "rollout_spec_issues",
    "rollout_split",
    "router_instance_name",
    "routing_decision",
    "share_at",
    "step_clock",
    "step_max_duration",
    "traffic_share",
]
