"""The operator's per-flag switch: ``ROLLWISE_FLAG_<KEY>=<variant>`` in the environment.

An emergency lever that needs no control plane: the variable wins over the configuration
(not over a test's :meth:`rollwise.Client.override`) and is read again with every new
configuration. Not to be confused with per-request override tokens
(:mod:`rollwise.sdk.override_tokens`), which testers present with one request.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from ..core.evaluation import Evaluator, Reason, constant, result_for
from ..core.flags import Flag

__all__ = ["ENV_PREFIX", "env_override_name", "env_overrides", "switch_layer"]

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


def switch_layer(
    flags: Mapping[str, Flag],
    environ: Mapping[str, str],
    ignored: Callable[[str, str], None],
) -> dict[str, Evaluator]:
    """A constant evaluator for each flag whose variable names one of its variants.

    A variable naming no variant of its flag is ignored and handed to ``ignored(flag,
    message)`` (the client counts it once per configuration and logs it once).
    """
    layer: dict[str, Evaluator] = {}
    for key, variant in env_overrides(list(flags), environ).items():
        flag = flags[key]
        if variant not in flag.variants:
            ignored(
                key,
                f"rollwise: {env_override_name(key)}={variant!r} is not a "
                f"variant of {key!r} ({', '.join(flag.variants)}); ignored",
            )
            continue
        layer[key] = constant(result_for(flag, variant, Reason.OVERRIDE))
    return layer
