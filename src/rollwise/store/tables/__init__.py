"""The control plane's tables (SQLAlchemy Core), one module per resource, all on one
``metadata``. Migrations create them; code reads them."""

from ._metadata import metadata
from .alerts import alert_events, alert_rules
from .experiments import (
    experiment_batches,
    experiment_exposures,
    experiment_unit_events,
    experiments,
)
from .instances import sdk_instances
from .leases import controller_lease
from .notifications import notification_channels, outbox
from .releases import releases
from .resources import audit_log, environments, flag_states, flags, tokens
from .rollouts import (
    ACTIVE_PHASES,
    rollout_evaluations,
    rollout_history,
    rollout_judgements,
    rollouts,
)
from .settings import state_settings
from .telemetry import (
    comparison_buckets,
    mismatch_samples,
    override_buckets,
    process_buckets,
    request_buckets,
    telemetry_batch_parts,
    telemetry_batches,
    telemetry_keys,
    usage_buckets,
)
from .units import unit_buckets

__all__ = [
    "ACTIVE_PHASES",
    "alert_events",
    "alert_rules",
    "audit_log",
    "comparison_buckets",
    "controller_lease",
    "environments",
    "experiment_batches",
    "experiment_exposures",
    "experiment_unit_events",
    "experiments",
    "flag_states",
    "flags",
    "metadata",
    "mismatch_samples",
    "notification_channels",
    "outbox",
    "override_buckets",
    "process_buckets",
    "releases",
    "request_buckets",
    "rollout_evaluations",
    "rollout_history",
    "rollout_judgements",
    "rollouts",
    "sdk_instances",
    "state_settings",
    "telemetry_batch_parts",
    "telemetry_batches",
    "telemetry_keys",
    "tokens",
    "unit_buckets",
    "usage_buckets",
]
