"""Reading the current state as a document; exporting it as file data (secrets as references)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...core.state_document import (
    AlertSpec,
    ChannelSpec,
    EnvironmentSpec,
    FlagSpec,
    StateDocument,
    StateSettings,
)
from ...store import AlertRuleFields, Tx
from ._codec import ChannelCodec, secret_paths, variable_name

DEFAULTS_KEY = "defaults"
DEPLOY_KEY = "deploy"


def read_settings(tx: Tx) -> StateSettings:
    """The rollout and release defaults per environment and the deploy rules (empty when
    never applied)."""
    return load_settings(tx, lock=False)


def load_settings(tx: Tx, *, lock: bool) -> StateSettings:
    """``lock``: hold the settings' rows until the transaction ends (before a change)."""
    values: dict[str, Any] = {}
    for key in (DEFAULTS_KEY, DEPLOY_KEY):
        setting = tx.settings.get(key, lock=lock)
        if setting is not None:
            values[key] = setting.value
    return StateSettings.model_validate(values)


def channel_spec(config: Mapping[str, Any], enabled: bool) -> ChannelSpec:
    fields = {k: v for k, v in config.items() if k not in ("name", "type")}
    return ChannelSpec.model_validate({"type": config["type"], "enabled": enabled, **fields})


def read_state(tx: Tx, *, archived: bool | None = None) -> StateDocument:
    """The current state as a document, channel secrets in clear (never sent as is)."""
    environments = {
        record.key: EnvironmentSpec(
            name=None if record.name == record.key else record.name,
            description=record.description,
            production=record.production,
        )
        for record in tx.environments.list_environments()
    }
    flags = {}
    for record in tx.flags.list_flags(archived=archived):
        states = {s.environment: s.state for s in tx.flags.list_states(record.key)}
        flags[record.key] = FlagSpec(
            description=record.description,
            variants=record.variants,
            off_variant=record.off_variant,
            tags=record.tags,
            environments=states,
        )
    channels = {r.name: channel_spec(r.config, r.enabled) for r in tx.channels.list_channels()}
    alerts = {
        rule.name: AlertSpec.model_validate(
            rule.model_dump(by_alias=True, include=set(AlertRuleFields.model_fields))
        )
        for rule in tx.alerts.list_rules()
    }
    settings = read_settings(tx)
    return StateDocument(
        environments=environments,
        flags=flags,
        channels=channels,
        alerts=alerts,
        defaults=settings.defaults,
        deploy=settings.deploy,
    )


def export_state(tx: Tx, codec: ChannelCodec, environment: str | None = None) -> dict[str, Any]:
    """The current state as file data: each secret a ``${CHANNEL_FIELD}`` reference.

    With ``environment``, only that environment: its definition, flags' states there, its
    alert rules and defaults (flags themselves, channels and deploy rules are global and
    always come along, except deploy rules).
    """
    state = read_state(tx, archived=False)
    channels = {}
    for name, channel in state.channels.items():
        config = channel.config(name)
        data = channel.model_dump(mode="json")
        for path in secret_paths(codec, config):
            target = data
            for part in path[:-1]:
                target = target[part]
            target[path[-1]] = "${" + variable_name(name, *path) + "}"
        channels[name] = ChannelSpec.model_validate(data)
    state = state.model_copy(update={"channels": channels})
    if environment is not None:
        state = _only(state, environment)
    return state.to_data()


def _only(state: StateDocument, environment: str) -> StateDocument:
    flags = {
        key: flag.model_copy(
            update={
                "environments": {
                    env: s for env, s in flag.environments.items() if env == environment
                }
            }
        )
        for key, flag in state.flags.items()
    }
    return state.model_copy(
        update={
            "environments": {k: v for k, v in state.environments.items() if k == environment},
            "flags": flags,
            "alerts": {k: v for k, v in state.alerts.items() if v.environment == environment},
            "defaults": {k: v for k, v in state.defaults.items() if k == environment},
            "deploy": None,
        }
    )
