"""Use cases shared by the API, the CLI and the controller, over a store that persists.

Each use case takes the caller's store transaction (``rollwise.store.Tx``): one request or
one controller look is one transaction, and everything a use case implies (history,
audit, the flag's split, notifications) commits with it or not at all.

- :mod:`.rollouts`: start a rollout, act on it (manual and controller actions);
- :mod:`.flag_split`: the flag's split follows a rollout's share;
- :mod:`.judgements`: the controller's judgement of a step, and its decision applied;
- :mod:`.alerts`: an alert rule's evaluations and state changes;
- :mod:`.notifications`: what those events queue in the outbox.
"""

from .alerts import observe_alert, record_alert_state, update_alert_rule
from .flag_split import follow_share
from .judgements import StepDecisionRecord, record_step_decision
from .notifications import queue_alert_change, queue_rollout_transition
from .rollouts import act_on_rollout, create_rollout

__all__ = [
    "StepDecisionRecord",
    "act_on_rollout",
    "create_rollout",
    "follow_share",
    "observe_alert",
    "queue_alert_change",
    "queue_rollout_transition",
    "record_alert_state",
    "record_step_decision",
    "update_alert_rule",
]
