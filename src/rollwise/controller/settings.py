"""How the controller is configured: a typed object, read from ``ROLLWISE_*`` variables.

The same settings drive the controller inside ``rollwise serve`` and alone as ``rollwise
controller``. Every variable is optional; an invalid one is a ConfigError naming it:

=====================================  ========  =============================================
variable                               default   meaning
=====================================  ========  =============================================
``ROLLWISE_CONTROLLER_TICK``           ``5s``    how often rollouts are judged and alerts
                                                 evaluated (seconds, ``0.2``, or a duration
                                                 such as ``5s``, ``1m``)
``ROLLWISE_DISPATCH_INTERVAL``         ``1s``    how often the outbox is checked for due
                                                 notifications
``ROLLWISE_GUARDRAIL_INTERVAL``        ``1m``    how often each running experiment's
                                                 guardrails are judged (at most; a failing
                                                 one stops the experiment)
``ROLLWISE_METRICS_PROVIDER``          builtin   ``builtin``, ``prometheus`` or ``nop``
``ROLLWISE_PROMETHEUS_URL``                      Prometheus' base URL (implies ``prometheus``)
``ROLLWISE_METRICS_PROVIDER_CONFIG``             a provider config: inline JSON, or the path
                                                 of a YAML/JSON file (docs/judging.md)
``ROLLWISE_OUTBOX_BATCH``              10        notifications claimed per pass
``ROLLWISE_OUTBOX_LEASE``              ``2m``    how long a claimed notification is reserved
``ROLLWISE_OUTBOX_MAX_ATTEMPTS``       10        attempts before a notification is given up
``ROLLWISE_OUTBOX_BACKOFF``            ``5s``    the first retry's delay (doubles each time)
``ROLLWISE_OUTBOX_BACKOFF_MAX``        ``1h``    the longest delay between two attempts
``ROLLWISE_CONTROLLER_LOCK_KEY``       (fixed)   PostgreSQL advisory lock key of the leader
=====================================  ========  =============================================
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..analysis.providers import default_registry
from ..env_settings import (
    EnvField,
    EnvSettings,
    Seconds,
    Text,
    WholeNumber,
    build_dataclass,
    dataclass_env_fields,
    env_model,
    read_env,
)
from ..errors import ConfigError
from ._env import read_mapping

__all__ = ["DEFAULT_LOCK_KEY", "ControllerSettings", "DeliveryPolicy"]

DEFAULT_LOCK_KEY = int.from_bytes(b"rollwise", "big")
"""The advisory lock key the leader holds: the bytes of "rollwise" as a bigint."""

_PROVIDER = "ROLLWISE_METRICS_PROVIDER"
_PROVIDER_CONFIG = "ROLLWISE_METRICS_PROVIDER_CONFIG"
_PROMETHEUS_URL = "ROLLWISE_PROMETHEUS_URL"


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """How the outbox dispatcher claims, retries and gives up (see docs/controller.md)."""

    batch_size: int = 10
    lease_seconds: float = 120.0
    max_attempts: int = 10
    backoff_seconds: float = 5.0
    max_backoff_seconds: float = 3600.0
    max_retry_after_seconds: float = 86_400.0
    """A receiver's ``Retry-After`` is honoured up to this (a day)."""

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.max_attempts < 1:
            raise ValueError("batch_size and max_attempts must be at least 1")
        if min(self.lease_seconds, self.backoff_seconds, self.max_backoff_seconds) <= 0:
            raise ValueError("lease and backoff durations must be positive")

    def retry_delay(self, attempts: int, retry_after: float | None = None) -> float:
        """Seconds before the next attempt after ``attempts`` failed ones.

        Exponential (``backoff``, doubled per attempt) and capped at ``max_backoff``; a
        receiver's ``retry_after`` is honoured when it asks for longer (up to a day).
        """
        exponent = min(max(attempts - 1, 0), 60)
        delay = min(self.backoff_seconds * 2.0**exponent, self.max_backoff_seconds)
        if retry_after is not None and retry_after > delay:
            delay = min(retry_after, self.max_retry_after_seconds)
        return delay


def _builtin() -> dict[str, Any]:
    return {"type": "builtin"}


@dataclass(frozen=True, slots=True)
class ControllerSettings:
    """Everything the controller needs; :meth:`from_env` reads the module's variables.

    ``provider`` is a metric provider config (``{"type": "builtin"}``, ``{"type":
    "prometheus", "url": ...}``, ...); it may hold credentials, so it is left out of repr.
    """

    tick_seconds: float = 5.0
    dispatch_seconds: float = 1.0
    provider: Mapping[str, Any] = field(default_factory=_builtin, repr=False)
    delivery: DeliveryPolicy = field(default_factory=DeliveryPolicy)
    lock_key: int = DEFAULT_LOCK_KEY
    lease_seconds: float = 10.0
    """How long a leader that stopped renewing (frozen, cut off) keeps the lease."""
    renew_seconds: float = 2.0
    """How often the leader renews the lease, and followers look whether it expired."""
    replica: str = ""
    """This controller's name in the lease (default ``<hostname>:<pid>:<random>``)."""
    guardrail_seconds: float = 60.0
    """How often, at most, each running experiment's guardrails are judged."""

    def __post_init__(self) -> None:
        if min(self.tick_seconds, self.dispatch_seconds, self.guardrail_seconds) <= 0:
            raise ValueError(
                "tick_seconds, dispatch_seconds and guardrail_seconds must be positive"
            )
        if not 0 < self.renew_seconds < self.lease_seconds:
            raise ValueError("renew_seconds must be positive and below lease_seconds")
        if not -(2**63) <= self.lock_key < 2**63:
            raise ValueError("lock_key must fit PostgreSQL's bigint")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ControllerSettings:
        """The settings the ``ROLLWISE_*`` variables describe (see the module's table)."""
        fields = env_fields()
        values = read_env(_env_model(fields), environ)
        lock_key = values.controller_lock_key  # type: ignore[attr-defined]
        if lock_key is not None and not -(2**63) <= lock_key < 2**63:
            raise ConfigError.single(
                None, "ROLLWISE_CONTROLLER_LOCK_KEY", "must fit PostgreSQL's bigint (|key| < 2^63)"
            )
        return build_dataclass(cls, fields, values, provider=provider_from_env(values))


_NAMES = {  # the documented variables of fields whose name is not the variable's
    "tick_seconds": "controller_tick",
    "dispatch_seconds": "dispatch_interval",
    "guardrail_seconds": "guardrail_interval",
    "lock_key": "controller_lock_key",
    "delivery.batch_size": "outbox_batch",
    "delivery.lease_seconds": "outbox_lease",
    "delivery.max_attempts": "outbox_max_attempts",
    "delivery.backoff_seconds": "outbox_backoff",
    "delivery.max_backoff_seconds": "outbox_backoff_max",
    "delivery.max_retry_after_seconds": "outbox_max_retry_after",
}


def env_fields() -> dict[str, EnvField]:
    """Every ``ROLLWISE_*`` variable of the controller's settings, by suffix."""
    fields = dataclass_env_fields(
        ControllerSettings, skip=("provider",), names=_NAMES, nested=("delivery",)
    )
    for suffix, found in fields.items():  # every duration of the controller is positive
        if found.path[-1].endswith("_seconds"):
            fields[suffix] = EnvField(found.path, Seconds(positive=True))
    for whole in ("outbox_batch", "outbox_max_attempts"):
        fields[whole] = EnvField(fields[whole].path, WholeNumber(minimum=1))
    lock = fields["controller_lock_key"]
    fields["controller_lock_key"] = EnvField(lock.path, WholeNumber(minimum=None))
    return fields


class _ProviderEnv(EnvSettings):
    metrics_provider: Text | None = None
    prometheus_url: Text | None = None
    metrics_provider_config: Text | None = None


def _env_model(fields: Mapping[str, EnvField]) -> type[EnvSettings]:
    kinds = {suffix: found.kind for suffix, found in fields.items()}
    return env_model("ControllerEnv", kinds, base=_ProviderEnv)


def provider_from_env(values: EnvSettings | Mapping[str, str]) -> dict[str, Any]:
    """The metric provider config the variables describe, validated (builtin by default)."""
    env = values if isinstance(values, EnvSettings) else read_env(_ProviderEnv, values)
    kind: str | None = getattr(env, "metrics_provider", None)
    url: str | None = getattr(env, "prometheus_url", None)
    text: str | None = getattr(env, "metrics_provider_config", None)
    config = None if text is None else read_mapping(_PROVIDER_CONFIG, text)
    path = _PROVIDER_CONFIG
    if config is None:
        path = _PROVIDER
        kind = kind or ("prometheus" if url else "builtin")
        config = {"type": kind}
        if kind == "prometheus":
            if url is None:
                raise ConfigError.single(
                    None, _PROMETHEUS_URL, f"required when {_PROVIDER}=prometheus"
                )
            config["url"] = url
    elif kind is not None and config.get("type") != kind:
        raise ConfigError.single(
            None,
            _PROVIDER,
            f"{kind!r} contradicts {_PROVIDER_CONFIG}'s type {config.get('type')!r}: set one",
        )
    elif url is not None and config.get("type") == "prometheus" and "url" not in config:
        config["url"] = url
    default_registry().parse(config, path=path)
    return config
