"""How a control-plane process is configured: a typed object, read from the environment."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import timedelta

from ..controller import ControllerSettings
from ..core.durations import parse_duration
from ..errors import ConfigError, ConfigIssue
from ..store import TelemetryPolicy, default_database_url

__all__ = ["HealthThresholds", "ServerSettings"]

_RETENTION_VARIABLES = {
    "ROLLWISE_RETENTION_10S": "keep_10s",
    "ROLLWISE_RETENTION_5M": "keep_5m",
    "ROLLWISE_RETENTION_1H": "keep_1h",
    "ROLLWISE_RETENTION_BATCH_IDS": "keep_batch_ids",
    "ROLLWISE_RETENTION_SAMPLES": "keep_samples",
    "ROLLWISE_RETENTION_NOTIFICATIONS": "keep_notifications",
}


@dataclass(frozen=True, slots=True)
class HealthThresholds:
    """When ``/api/v1/monitoring/health`` calls a variant degraded or worth a warning.

    Rates are judged only on at least ``min_requests`` requests (or compared calls), so
    that one failed request of three is not an incident. See docs/metrics-api.md.
    """

    min_requests: int = 20
    max_error_rate: float = 0.05
    max_fallback_rate: float = 0.01
    max_mismatch_rate: float = 0.01
    max_latency_ratio: float = 2.0


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """Everything ``rollwise serve`` needs; ``from_env`` reads the ``ROLLWISE_*`` variables.

    Telemetry retention comes from ``ROLLWISE_RETENTION_10S`` / ``_5M`` / ``_1H`` /
    ``_BATCH_IDS`` / ``_SAMPLES`` (durations such as ``2d``, ``36h``) and
    ``ROLLWISE_SAMPLES_PER_NAME``; the purge runs every ``retention_interval_seconds``.

    ``controller`` runs the rollout controller in the process when set: ``from_env`` sets
    it unless ``ROLLWISE_CONTROLLER=off`` (or ``controller_enabled=False``, the ``serve
    --no-controller`` flag), with :meth:`ControllerSettings.from_env`. Built directly (tests,
    embedding), the settings have no controller unless one is given.
    """

    database_url: str = "sqlite:///./rollwise.db"
    admin_token: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    sse_keepalive_seconds: float = 15.0
    revision_poll_seconds: float = 1.0
    token_cache_seconds: float = 5.0
    telemetry: TelemetryPolicy = field(default_factory=TelemetryPolicy)
    retention_interval_seconds: float = 300.0
    health: HealthThresholds = field(default_factory=HealthThresholds)
    controller: ControllerSettings | None = None

    @classmethod
    def from_env(
        cls, *, controller_enabled: bool | None = None, **overrides: object
    ) -> ServerSettings:
        if controller_enabled is None:
            controller_enabled = _controller_from_env()
        values: dict[str, object] = {
            "database_url": default_database_url(),
            "admin_token": os.environ.get("ROLLWISE_ADMIN_TOKEN") or None,
            "host": os.environ.get("ROLLWISE_HOST", "127.0.0.1"),
            "port": int(os.environ.get("ROLLWISE_PORT", "8000")),
            "telemetry": _telemetry_from_env(),
            "controller": ControllerSettings.from_env() if controller_enabled else None,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]


def _controller_from_env() -> bool:
    """``ROLLWISE_CONTROLLER``: on (default) or off."""
    text = (os.environ.get("ROLLWISE_CONTROLLER") or "on").strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ConfigError.single(None, "ROLLWISE_CONTROLLER", f"expected on or off, got {text!r}")


def _telemetry_from_env() -> TelemetryPolicy:
    """The retention policy, with each ``ROLLWISE_RETENTION_*`` variable that is set."""
    changes: dict[str, object] = {}
    for variable, name in _RETENTION_VARIABLES.items():
        text = os.environ.get(variable)
        if text:
            try:
                changes[name] = timedelta(seconds=parse_duration(text))
            except ValueError as error:
                raise ConfigError.single(None, variable, str(error)) from None
    samples = os.environ.get("ROLLWISE_SAMPLES_PER_NAME")
    if samples:
        if not samples.isdigit():
            raise ConfigError.single(
                None, "ROLLWISE_SAMPLES_PER_NAME", f"expected a whole number, got {samples!r}"
            )
        changes["samples_per_name"] = int(samples)
    try:
        return TelemetryPolicy(**changes)  # type: ignore[arg-type]
    except ConfigError as error:  # name the variables the operator set, not our fields
        raise ConfigError(
            [
                ConfigIssue(issue.flag, _variable_of(issue.path), _variables_in(issue.reason))
                for issue in error.issues
            ]
        ) from None


_VARIABLE_OF_FIELD = {
    **{name: variable for variable, name in _RETENTION_VARIABLES.items()},
    "samples_per_name": "ROLLWISE_SAMPLES_PER_NAME",
}


def _variable_of(field: str) -> str:
    return _VARIABLE_OF_FIELD.get(field, field)


def _variables_in(text: str) -> str:
    return re.sub(r"\b(keep_\w+|samples_per_name)\b", lambda m: _variable_of(m[1]), text)
