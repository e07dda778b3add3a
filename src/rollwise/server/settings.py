"""How a control-plane process is configured: a typed object, read from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..controller import ControllerSettings
from ..env_settings import (
    DatabaseUrl,
    EnvField,
    EnvSettings,
    Switch,
    WholeNumber,
    build_dataclass,
    dataclass_env_fields,
    env_model,
    read_env,
    variable_of,
)
from ..store import TelemetryPolicy
from .routers._telemetry_models import MAX_TELEMETRY_BATCH_BYTES

__all__ = ["HealthThresholds", "ServerSettings"]


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
    sse_max_lifetime_seconds: float = 3600.0
    keep_alive_seconds: int = 75
    revision_poll_seconds: float = 1.0
    token_cache_seconds: float = 5.0
    max_body_bytes: int = 1_048_576
    max_telemetry_body_bytes: int = MAX_TELEMETRY_BATCH_BYTES
    auth_failure_burst: int = 20
    auth_failure_per_second: float = 1.0
    telemetry: TelemetryPolicy = field(default_factory=TelemetryPolicy)
    retention_interval_seconds: float = 300.0
    health: HealthThresholds = field(default_factory=HealthThresholds)
    controller: ControllerSettings | None = None

    @classmethod
    def from_env(
        cls,
        *,
        controller_enabled: bool | None = None,
        environ: Mapping[str, str] | None = None,
        **overrides: object,
    ) -> ServerSettings:
        """The settings the ``ROLLWISE_*`` variables describe (docs/control-plane.md).

        ``overrides`` (``serve``'s options, by field name) win over the variables and are
        checked the same way; a bad value is a ConfigError naming the variable.
        """
        env = dict(os.environ if environ is None else environ)
        fields = env_fields()
        by_field = {found.path: suffix for suffix, found in fields.items()}
        explicit: dict[str, object] = {}
        for name, value in overrides.items():
            if value is None:
                continue
            if (name,) in by_field:  # a scalar: checked like its variable
                env[variable_of(EnvSettings, by_field[(name,)])] = str(value)
            else:  # a structured one (telemetry, health, controller): taken as built
                explicit[name] = value
        values = read_env(_env_model(fields), env)
        enabled: bool | None = values.controller  # type: ignore[attr-defined]
        if controller_enabled is None:
            controller_enabled = True if enabled is None else enabled
        if "controller" not in explicit:
            explicit["controller"] = (
                ControllerSettings.from_env(env) if controller_enabled else None
            )
        return build_dataclass(cls, fields, values, **explicit)


_NAMES = {  # the documented variables of fields whose name is not the variable's
    "telemetry.keep_10s": "retention_10s",
    "telemetry.keep_5m": "retention_5m",
    "telemetry.keep_1h": "retention_1h",
    "telemetry.keep_batch_ids": "retention_batch_ids",
    "telemetry.keep_samples": "retention_samples",
    "telemetry.keep_notifications": "retention_notifications",
    "telemetry.samples_per_name": "samples_per_name",
}


def env_fields() -> dict[str, EnvField]:
    """Every ``ROLLWISE_*`` variable of the server's own settings, by suffix (the
    controller's are :func:`rollwise.controller.settings.env_fields`)."""
    fields = dataclass_env_fields(
        ServerSettings, skip=("controller",), names=_NAMES, nested=("telemetry", "health")
    )
    fields["database_url"] = EnvField(("database_url",), DatabaseUrl)
    fields["port"] = EnvField(("port",), WholeNumber(minimum=0, maximum=65_535))
    return fields


class _ServerEnv(EnvSettings):
    controller: Switch | None = None
    """``ROLLWISE_CONTROLLER``: run the controller in the process (on by default)."""


def _env_model(fields: Mapping[str, EnvField]) -> type[EnvSettings]:
    kinds = {suffix: found.kind for suffix, found in fields.items()}
    return env_model("ServerEnv", kinds, base=_ServerEnv)
