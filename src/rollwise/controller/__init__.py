"""The rollout controller: judges progressing rollouts, evaluates alerts, stops experiments
whose guardrail fails, delivers notifications.

Runs inside ``rollwise serve`` (default) or alone as ``rollwise controller``; with
PostgreSQL several replicas may run it and exactly one leads (a fenced lease). ::

    with Controller(store, ControllerSettings.from_env()) as controller:
        controller.tick()          # one round, synchronously
        controller.start()         # or: in the background until close()

See docs/controller.md.
"""

from .alerts import AlertEvaluator, AlertOutcome, Observation
from .controller import Controller, TickReport
from .dispatch import Delivery, OutboxDispatcher
from .experiments import ExperimentOutcome, GuardrailWatcher
from .fencing import FencedStore
from .leader import AlwaysLeader, LeaderElector, LeaseElector, LeaseLost, elector_for
from .locks import FileLock, PostgresAdvisoryLock
from .provider import build_provider, store_window_reader
from .reconcile import Look, Reconciler, RolloutOutcome
from .settings import DEFAULT_LOCK_KEY, ControllerSettings, DeliveryPolicy

__all__ = [
    "DEFAULT_LOCK_KEY",
    "AlertEvaluator",
    "AlertOutcome",
    "AlwaysLeader",
    "Controller",
    "ControllerSettings",
    "Delivery",
    "DeliveryPolicy",
    "ExperimentOutcome",
    "FencedStore",
    "FileLock",
    "GuardrailWatcher",
    "LeaderElector",
    "LeaseElector",
    "LeaseLost",
    "Look",
    "Observation",
    "OutboxDispatcher",
    "PostgresAdvisoryLock",
    "Reconciler",
    "RolloutOutcome",
    "TickReport",
    "build_provider",
    "elector_for",
    "store_window_reader",
]
