"""Channel configs between the API and the store: validated, stored in clear, served masked.

The notifier registry validates a config (a ConfigError naming the field otherwise); the
store keeps it with its secrets (``SecretStr`` fields: webhook ``secret``, Slack ``url``,
e-mail ``password``, and the values of webhook ``headers``, which often carry an
``Authorization``) in clear, because the dispatcher needs them; the API and the audit
log only ever see :func:`masked`. A client may send back a masked value unchanged: it
keeps the stored secret (:func:`merge`), so read-modify-write works without knowing the
secret — but only while the channel's destination stays the same. Changing where a
channel sends (a webhook's ``url``; an e-mail ``host``, ``port``, ``security``,
``ca_file``, login, sender or recipients; a Slack ``channel``; for a type not listed
here, every field but the common ones) needs its secrets given again: otherwise a write
token could point the channel at its own receiver and collect the admin's credentials.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import SecretBytes, SecretStr
from pydantic_core import to_jsonable_python

from ...errors import ConfigError, ConfigIssue
from ...notifiers import ChannelConfigBase, NotifierRegistry

__all__ = ["MASK", "destination", "masked", "merge", "parse", "reveal"]

MASK = "**********"
_PUBLIC = {"type", "name", "kinds", "min_severity"}
_MAPS_OF_SECRETS = {"headers"}
_NOT_DESTINATION = {"type", "name", "kinds", "min_severity", "timeout", *_MAPS_OF_SECRETS}
"""Fields of every type that do not say where a channel sends (headers: their values are
secrets, re-entered or kept one by one)."""
_PRESENTATION = {
    "slack": {"style", "username", "icon_emoji", "icon_url"},
    "email": {"subject_prefix", "local_hostname"},
}
"""Per type, the other fields that only change how a message looks. Everything else —
recipients, sender, Slack channel, login name included — is how the channel uses its
credentials, and changing it needs them given again."""


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


def destination(config: ChannelConfigBase) -> dict[str, Any]:
    """Where ``config`` sends: every field that is neither a secret nor known harmless."""
    harmless = _NOT_DESTINATION | _PRESENTATION.get(config.type, set()) | _secret_keys(config)
    dumped: dict[str, Any] = config.model_dump(mode="json", by_alias=True)
    return {key: value for key, value in dumped.items() if key not in harmless}


def merge(
    registry: NotifierRegistry, data: Mapping[str, Any], stored: Mapping[str, Any]
) -> ChannelConfigBase:
    """``data`` parsed, each masked secret replaced by the stored one.

    A ConfigError (422) names the masked secrets when the destination changed (they must
    be given again), and any mask that stands for no stored secret.
    """
    substituted, kept = _substitute(registry, data, stored)
    config = parse(registry, substituted)
    if kept:
        old = registry.parse(stored)
        before, after = destination(old), destination(config)
        changed = sorted(
            key for key in before.keys() | after.keys() if before.get(key) != after.get(key)
        )
        if changed:
            where = ", ".join(changed)
            raise ConfigError(
                [
                    ConfigIssue(
                        None,
                        f"config.{path}",
                        f"the channel's destination changes ({where}): give this secret "
                        f"again instead of {MASK!r}",
                    )
                    for path in kept
                ]
            )
    left = _masks_left(config)
    if left:
        raise ConfigError(
            [
                ConfigIssue(
                    None,
                    f"config.{path}",
                    f"{MASK!r} keeps a stored secret, and there is none to keep here: "
                    "give the secret",
                )
                for path in left
            ]
        )
    return config


def _substitute(
    registry: NotifierRegistry, data: Mapping[str, Any], stored: Mapping[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """``data`` with masked secrets replaced by the stored ones (same type only), and the
    paths of those it replaced."""
    result = dict(data)
    kept: list[str] = []
    if result.get("type") != stored.get("type"):
        return result, kept
    try:
        old = registry.parse(stored)
    except ConfigError:
        return result, kept
    for key in sorted(_secret_keys(old)):
        if result.get(key) == MASK and key in stored:
            result[key] = stored[key]
            kept.append(key)
    for key in sorted(_MAPS_OF_SECRETS):
        new, previous = result.get(key), stored.get(key)
        if isinstance(new, Mapping) and isinstance(previous, Mapping):
            merged = {}
            for name, value in new.items():
                if value == MASK and name in previous:
                    merged[name] = previous[name]
                    kept.append(f"{key}.{name}")
                else:
                    merged[name] = value
            result[key] = merged
    return result, kept


def _masks_left(config: ChannelConfigBase) -> list[str]:
    """Paths of secrets whose value is the mask itself."""
    clear = reveal(config)
    left = [key for key in sorted(_secret_keys(config)) if clear.get(key) == MASK]
    for key in sorted(_MAPS_OF_SECRETS):
        values = clear.get(key)
        if isinstance(values, Mapping):
            left += [f"{key}.{name}" for name, value in values.items() if value == MASK]
    return left
