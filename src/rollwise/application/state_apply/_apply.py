"""Planning (the diff, secrets masked) and applying it inside the caller's one transaction."""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel, Field

from ...core.flags import FlagEnvironment
from ...core.state_document import (
    AlertSpec,
    Change,
    ChannelSpec,
    EnvironmentSpec,
    FieldChange,
    FlagSpec,
    StateDocument,
    StateSettings,
    diff_states,
)
from ...store import AlertRuleFields, Tx
from ..alerts import update_alert_rule
from ._codec import MASK, ChannelCodec, secret_paths
from ._read import DEFAULTS_KEY, DEPLOY_KEY, load_settings, read_state


class Plan(BaseModel):
    """What applying a document changes; ``applied`` once it is committed."""

    changes: list[Change] = Field(default_factory=list)
    applied: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.changes)


def _mask_secrets(change: Change, secrets: Callable[[str], set[str]]) -> Change:
    if change.kind != "channel":
        return change
    hidden = secrets(change.key)
    fields = []
    for field in change.fields:
        if field.path in hidden:
            field = FieldChange(
                path=field.path,
                before=None if field.before is None else MASK,
                after=None if field.after is None else MASK,
            )
            if change.action == "update":
                field = field.model_copy(update={"before": "(secret)", "after": "(new secret)"})
        fields.append(field)
    return change.model_copy(update={"fields": fields})


def plan_state(
    tx: Tx, document: StateDocument, codec: ChannelCodec, environment: str | None = None
) -> Plan:
    """The changes applying ``document`` would make, secrets masked."""
    current = read_state(tx)
    changes = diff_states(current, document, environment)

    def secrets(name: str) -> set[str]:
        channel = document.channels.get(name)
        if channel is None:
            return set()
        return {".".join(path) for path in secret_paths(codec, channel.config(name))}

    return Plan(changes=[_mask_secrets(change, secrets) for change in changes])


def apply_plan(
    tx: Tx, document: StateDocument, codec: ChannelCodec, environment: str | None = None
) -> Plan:
    """Make the changes in ``tx`` (the caller's one transaction) and return them."""
    plan = plan_state(tx, document, codec, environment)
    settings_changed = False
    for change in plan.changes:
        if change.kind == "environment":
            _apply_environment(tx, change, document.environments[change.key])
        elif change.kind == "flag":
            _apply_flag(tx, change, document.flags[change.key])
        elif change.kind == "flag_state":
            assert change.environment is not None
            state: FlagEnvironment = document.flags[change.key].environments[change.environment]
            tx.flags.put_state(change.key, change.environment, state, None)
        elif change.kind == "channel":
            _apply_channel(tx, change, document.channels[change.key], codec)
        elif change.kind == "alert":
            _apply_alert(tx, change, document.alerts[change.key])
        else:
            settings_changed = True
    if settings_changed:
        _write_settings(tx, document, environment)
    return plan.model_copy(update={"applied": True})


def _apply_environment(tx: Tx, change: Change, spec: EnvironmentSpec) -> None:
    if change.action == "create":
        tx.environments.create(change.key, spec.name or "", spec.description, spec.production)
        return
    version = tx.environments.get(change.key).version
    tx.environments.update(
        change.key,
        version,
        name=spec.name or change.key,
        description=spec.description,
        production=spec.production,
    )


def _apply_flag(tx: Tx, change: Change, spec: FlagSpec) -> None:
    if change.action == "create":
        tx.flags.create(
            change.key,
            variants=spec.variants,
            off_variant=spec.off_variant,
            description=spec.description,
            tags=spec.tags,
        )
        return
    version = tx.flags.get(change.key).version
    tx.flags.update(
        change.key,
        version,
        description=spec.description,
        variants=spec.variants,
        off_variant=spec.resolved_off_variant(),
        tags=spec.tags,
    )


def _apply_channel(tx: Tx, change: Change, spec: ChannelSpec, codec: ChannelCodec) -> None:
    config = spec.config(change.key)
    if change.action == "create":
        tx.channels.create(change.key, config, enabled=spec.enabled, redact=codec.masked)
        return
    version = tx.channels.get(change.key).version
    tx.channels.update(
        change.key, version, config=config, enabled=spec.enabled, redact=codec.masked
    )


def _apply_alert(tx: Tx, change: Change, spec: AlertSpec) -> None:
    fields = AlertRuleFields.model_validate(spec.model_dump(by_alias=True))
    if change.action == "create":
        tx.alerts.create_rule(fields)
        return
    version = tx.alerts.get_rule(change.key).version
    values = fields.model_dump(by_alias=True, exclude={"name"})
    update_alert_rule(tx, change.key, version, values)


def _write_settings(tx: Tx, document: StateDocument, environment: str | None) -> None:
    before = load_settings(tx, lock=True)
    defaults = dict(before.defaults)
    for env, value in document.defaults.items():
        if environment is None or env == environment:
            defaults[env] = value
    deploy = before.deploy
    if document.deploy is not None and environment is None:
        deploy = document.deploy
    old = before.model_dump(mode="json", exclude_none=True)
    new = StateSettings(defaults=defaults, deploy=deploy).model_dump(mode="json", exclude_none=True)
    for key in (DEFAULTS_KEY, DEPLOY_KEY):  # each change a new version and an audit row
        if new[key] != old[key]:
            tx.settings.put(key, new[key])
