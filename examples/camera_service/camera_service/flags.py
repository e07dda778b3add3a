"""The rollwise objects the selection uses, built from :class:`~camera_service.settings.Settings`.

- the flag client: a :class:`rollwise.Client` over ``ROLLWISE_FLAGS_FILE`` or over the
  control plane (``ROLLWISE_URL`` + ``ROLLWISE_SDK_TOKEN``, cached on disk in the state
  directory so a restart during an outage keeps the last rollout state); ``None`` without;
- the percent client: ``ROLLOUT_PERCENT`` as a static one-flag configuration, so the
  operator's percentage buckets clients exactly like a control-plane split at the same
  share (same salt, same unit): moving from one to the other moves nobody;
- the override gate: signed ``force_domain`` overrides, enabled by ``ROLLWISE_OVERRIDE_KEYS``.
"""

from __future__ import annotations

from typing import Any

from rollwise import Client, ClientOptions, HttpOptions, HttpSource
from rollwise.sdk.override_tokens import (
    ForceParameter,
    OverrideGate,
    OverridePolicy,
    OverrideSigner,
)

from .settings import Settings

__all__ = [
    "DOMAIN",
    "FLAG",
    "FORCE_PARAMETER",
    "LEGACY",
    "UNIT",
    "flag_client",
    "override_gate",
    "percent_client",
    "percent_document",
]

FLAG = "camera-domain-service"
LEGACY = "legacy"
DOMAIN = "domain"
UNIT = "client_id"
FORCE_PARAMETER = "force_domain"


def flag_client(settings: Settings) -> Client | None:
    """The client over the flag file or the control plane; not started (the app does)."""
    if settings.flags_file is not None:
        return Client(str(settings.flags_file), environment=settings.environment)
    if settings.control_plane_url is not None and settings.sdk_token is not None:
        source = HttpSource(
            settings.control_plane_url,
            settings.sdk_token,
            options=HttpOptions(
                cache_path=settings.state_dir / "rollwise-config-cache.json",
                poll_interval=5.0,
            ),
        )
        return Client(source, environment=settings.environment)
    return None


def percent_document(percent: float, environment: str) -> dict[str, Any]:
    """``camera-domain-service`` at ``percent`` % domain, sticky per client id."""
    domain = round(percent * 100)  # basis points
    return {
        "flags": [
            {
                "key": FLAG,
                "variants": [LEGACY, DOMAIN],
                "off_variant": LEGACY,
                "environments": {
                    environment: {
                        "enabled": True,
                        "unit": UNIT,
                        "split": {LEGACY: 10000 - domain, DOMAIN: domain},
                    }
                },
            }
        ]
    }


def percent_client(settings: Settings) -> Client | None:
    if settings.rollout_percent is None:
        return None
    document = percent_document(settings.rollout_percent, settings.environment)
    return Client(
        document, environment=settings.environment, options=ClientOptions(env_overrides=False)
    )


def override_gate(settings: Settings) -> OverrideGate:
    """Signed ``force_domain=true|false`` when keys are set; otherwise off (all rejected)."""
    keys = settings.override_keys
    policy = OverridePolicy(
        enabled=bool(keys),
        parameters=(ForceParameter.boolean(FORCE_PARAMETER, FLAG, on=DOMAIN, off=LEGACY),),
    )
    signer = OverrideSigner(list(keys)) if keys else None
    return OverrideGate(policy, environment=settings.environment, signer=signer)
