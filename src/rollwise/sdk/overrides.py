"""The operator's emergency switch: ``ROLLWISE_FLAG_<KEY>=<variant>`` in the environment."""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["ENV_PREFIX", "env_override_name", "env_overrides"]

ENV_PREFIX = "ROLLWISE_FLAG_"
_NOT_ALNUM = re.compile(r"[^A-Z0-9]")


def env_override_name(flag_key: str) -> str:
    """``checkout.v2-new`` → ``ROLLWISE_FLAG_CHECKOUT_V2_NEW``."""
    return ENV_PREFIX + _NOT_ALNUM.sub("_", flag_key.upper())


def env_overrides(flag_keys: list[str], environ: Mapping[str, str]) -> dict[str, str]:
    """The overridden variant of each flag that has a non-empty override variable."""
    found: dict[str, str] = {}
    for key in flag_keys:
        value = environ.get(env_override_name(key), "").strip()
        if value:
            found[key] = value
    return found
