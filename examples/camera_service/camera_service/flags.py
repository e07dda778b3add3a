"""The one rollwise client that decides ``camera-domain-service``, built from the settings.

Everything that decides the variant lives in this client, so that the rollwise middleware
evaluates the flag once per request and records the request under the variant that
served it (see :mod:`camera_service.selection` for the order):

- **source**: ``ROLLWISE_FLAGS_FILE``, or the control plane (``ROLLWISE_URL`` +
  ``ROLLWISE_SDK_TOKEN``, cached on disk in the state directory so that a restart during an
  outage keeps the last rollout state), or nothing. Whatever the source, a document that
  does not define the flag gets a fallback definition (:mod:`camera_service._flag_source`):
  ``ROLLOUT_PERCENT`` as a split sticky per client id, bucketed exactly like a control-plane
  split at the same share (same salt, same unit: handing over moves nobody), else everyone
  on ``legacy``;
- **USE_DOMAIN_SERVICE**: mapped onto rollwise's own operator switch,
  ``ROLLWISE_FLAG_CAMERA_DOMAIN_SERVICE=legacy|domain``, which wins over the source;
- **reporting**: with a control plane, a reporter ships the request windows (every
  ``ROLLWISE_REPORT_WINDOW`` seconds), evaluation counts, comparisons and override counts;
- **signed overrides**: the ``force_domain`` policy and signer the middleware enforces,
  enabled by ``ROLLWISE_OVERRIDE_KEYS`` (and off while ``USE_DOMAIN_SERVICE`` is set: the
  operator's switch wins over testers).
"""

from __future__ import annotations

import os
from collections import ChainMap
from collections.abc import Mapping
from typing import Any

from rollwise import Client, ClientOptions, HttpOptions, HttpSource, ReporterOptions
from rollwise.sdk.env_switch import env_override_name
from rollwise.sdk.override_tokens import ForceParameter, OverridePolicy, OverrideSigner
from rollwise.sdk.recorder import RequestRecorder
from rollwise.sdk.sources import ConfigSource, FileSource

from ._flag_source import WithFallbackFlag
from .settings import Settings

__all__ = [
    "DEFAULT_MARK",
    "DOMAIN",
    "FLAG",
    "FORCE_PARAMETER",
    "LEGACY",
    "OPERATOR_SWITCH",
    "PERCENT_MARK",
    "UNIT",
    "fallback_flag",
    "flag_client",
    "flag_environ",
    "override_policy",
    "override_signer",
]

FLAG = "camera-domain-service"
LEGACY = "legacy"
DOMAIN = "domain"
UNIT = "client_id"
FORCE_PARAMETER = "force_domain"
OPERATOR_SWITCH = env_override_name(FLAG)
"""``ROLLWISE_FLAG_CAMERA_DOMAIN_SERVICE``: rollwise's per-flag operator switch."""
PERCENT_MARK = "fallback: ROLLOUT_PERCENT"
"""The description of the fallback flag made from ``ROLLOUT_PERCENT``."""
DEFAULT_MARK = "fallback: legacy"
"""The description of the fallback flag when nothing else decides."""


def fallback_flag(percent: float | None, environment: str) -> dict[str, Any]:
    """The flag served when no source defines it: ``percent`` % on domain, else legacy."""
    domain = round(percent * 100) if percent is not None else 0  # basis points
    return {
        "key": FLAG,
        "description": PERCENT_MARK if percent is not None else DEFAULT_MARK,
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


def flag_environ(settings: Settings) -> Mapping[str, str]:
    """Where the client reads ``ROLLWISE_FLAG_*``: the process's environment, with
    USE_DOMAIN_SERVICE on top (a live view: the SDK reads it with every new configuration)."""
    if settings.use_domain_service is None:
        return os.environ
    variant = DOMAIN if settings.use_domain_service else LEGACY
    return ChainMap({OPERATOR_SWITCH: variant}, os.environ)


def flag_client(settings: Settings) -> Client:
    """The client: source, operator switch, recorder and reporter; not started (the app is)."""
    reporting: ReporterOptions | None = None
    inner: ConfigSource | None = None
    if settings.flags_file is not None:
        inner = FileSource(settings.flags_file)
    elif settings.control_plane_url is not None and settings.sdk_token is not None:
        inner = HttpSource(
            settings.control_plane_url,
            settings.sdk_token,
            options=HttpOptions(
                cache_path=settings.state_dir / "rollwise-config-cache.json",
                poll_interval=5.0,
            ),
        )
        reporting = ReporterOptions(settings.control_plane_url, settings.sdk_token)
    source = WithFallbackFlag(inner, fallback_flag(settings.rollout_percent, settings.environment))
    # nobody drains windows without a reporter: keep six (the totals stay complete)
    backlog = 360 if reporting is not None else 6
    recorder = RequestRecorder(window_seconds=settings.report_window, max_closed=backlog)
    options = ClientOptions(environ=flag_environ(settings), recorder=recorder, reporting=reporting)
    return Client(source, environment=settings.environment, options=options)


def override_policy(settings: Settings) -> OverridePolicy:
    """Signed ``force_domain=true|false`` when keys are set and no operator switch is on."""
    return OverridePolicy(
        enabled=bool(settings.override_keys) and settings.use_domain_service is None,
        parameters=(ForceParameter.boolean(FORCE_PARAMETER, FLAG, on=DOMAIN, off=LEGACY),),
    )


def override_signer(settings: Settings) -> OverrideSigner | None:
    keys = settings.override_keys
    return OverrideSigner(list(keys)) if keys else None
