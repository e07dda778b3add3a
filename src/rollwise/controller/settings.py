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

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..analysis.providers import default_registry
from ..errors import ConfigError
from ._env import env_duration, env_int, env_mapping

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

    def __post_init__(self) -> None:
        if self.tick_seconds <= 0 or self.dispatch_seconds <= 0:
            raise ValueError("tick_seconds and dispatch_seconds must be positive")
        if not -(2**63) <= self.lock_key < 2**63:
            raise ValueError("lock_key must fit PostgreSQL's bigint")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ControllerSettings:
        env = os.environ if environ is None else environ
        delivery = DeliveryPolicy(
            batch_size=env_int(env, "ROLLWISE_OUTBOX_BATCH", 10),
            lease_seconds=env_duration(env, "ROLLWISE_OUTBOX_LEASE", 120.0),
            max_attempts=env_int(env, "ROLLWISE_OUTBOX_MAX_ATTEMPTS", 10),
            backoff_seconds=env_duration(env, "ROLLWISE_OUTBOX_BACKOFF", 5.0),
            max_backoff_seconds=env_duration(env, "ROLLWISE_OUTBOX_BACKOFF_MAX", 3600.0),
        )
        return cls(
            tick_seconds=env_duration(env, "ROLLWISE_CONTROLLER_TICK", 5.0),
            dispatch_seconds=env_duration(env, "ROLLWISE_DISPATCH_INTERVAL", 1.0),
            provider=provider_from_env(env),
            delivery=delivery,
            lock_key=_lock_key(env),
        )


def _lock_key(env: Mapping[str, str]) -> int:
    name = "ROLLWISE_CONTROLLER_LOCK_KEY"
    key = env_int(env, name, DEFAULT_LOCK_KEY, minimum=-(2**63))
    if key >= 2**63:
        raise ConfigError.single(None, name, "must fit PostgreSQL's bigint (below 2^63)")
    return key


def provider_from_env(env: Mapping[str, str]) -> dict[str, Any]:
    """The metric provider config the variables describe, validated (builtin by default)."""
    config = env_mapping(env, _PROVIDER_CONFIG)
    kind = (env.get(_PROVIDER) or "").strip() or None
    url = (env.get(_PROMETHEUS_URL) or "").strip() or None
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
