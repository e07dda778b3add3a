"""Channel configs between the API and the store: validated, stored in clear, served masked.

The notifier registry validates a config (a ConfigError naming the field otherwise); the
store keeps it with its secrets (``SecretStr`` fields: webhook ``secret``, Slack ``url``,
e-mail ``password``, and the values of webhook ``headers``, which often carry an
``Authorization``) in clear, because the dispatcher needs them; the API and the audit
log only ever see :func:`masked`. A client may send back a masked value unchanged: it
keeps the stored secret (:func:`keep_secrets`), so read-modify-write works without
knowing the secret.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import SecretBytes, SecretStr
from pydantic_core import to_jsonable_python

from ...errors import ConfigError
from ...notifiers import ChannelConfigBase, NotifierRegistry

__all__ = ["MASK", "keep_secrets", "masked", "parse", "reveal"]

MASK = "**********"
_PUBLIC = {"type", "name", "kinds", "min_severity"}
_MAPS_OF_SECRETS = {"headers"}


def parse(registry: NotifierRegistry, data: Mapping[str, Any]) -> ChannelConfigBase:
    return registry.parse(data, path="config")


def reveal(config: ChannelConfigBase) -> dict[str, Any]:
    """The config as JSON with secrets in clear: what the store keeps."""
    raw = config.model_dump(by_alias=True)
    clear = {
        key: value.get_secret_value() if isinstance(value, SecretStr | SecretBytes) else value
        for key, value in raw.items()
    }
    result: dict[str, Any] = to_jsonable_python(clear)
    return result


def masked(registry: NotifierRegistry, stored: Mapping[str, Any]) -> dict[str, Any]:
    """The stored config with every secret replaced by :data:`MASK`.

    A config the registry no longer understands (a custom type not registered here) shows
    only its common fields: any other value might be a secret.
    """
    try:
        config = registry.parse(stored)
    except ConfigError:
        return {key: value if key in _PUBLIC else MASK for key, value in stored.items()}
    result: dict[str, Any] = config.model_dump(mode="json", by_alias=True)
    for key in _MAPS_OF_SECRETS:
        if isinstance(result.get(key), dict):
            result[key] = dict.fromkeys(result[key], MASK)
    return result


def _secret_keys(config: ChannelConfigBase) -> set[str]:
    keys = set()
    for name, field in type(config).model_fields.items():
        if isinstance(getattr(config, name), SecretStr | SecretBytes):
            keys.add(field.alias or name)
    return keys


def keep_secrets(
    registry: NotifierRegistry, data: Mapping[str, Any], stored: Mapping[str, Any]
) -> dict[str, Any]:
    """``data`` with each masked secret replaced by the stored one (same type only)."""
    result = dict(data)
    if result.get("type") != stored.get("type"):
        return result
    try:
        old = registry.parse(stored)
    except ConfigError:
        return result
    for key in _secret_keys(old):
        if result.get(key) == MASK and key in stored:
            result[key] = stored[key]
    for key in _MAPS_OF_SECRETS:
        new, kept = result.get(key), stored.get(key)
        if isinstance(new, Mapping) and isinstance(kept, Mapping):
            result[key] = {
                name: kept[name] if value == MASK and name in kept else value
                for name, value in new.items()
            }
    return result
