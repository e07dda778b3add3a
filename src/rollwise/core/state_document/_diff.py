"""What applying a document to the current state would create and update (nothing is deleted)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from ._model import EnvironmentSpec, FlagSpec, StateDocument

M = TypeVar("M", bound=BaseModel)


class FieldChange(BaseModel):
    model_config = ConfigDict(frozen=True)

    path: str
    before: Any = None
    after: Any = None


class Change(BaseModel):
    """One resource to create or update, and how each field changes."""

    model_config = ConfigDict(frozen=True)

    action: Literal["create", "update"]
    kind: Literal["environment", "flag", "flag_state", "channel", "alert", "defaults", "deploy"]
    key: str
    environment: str | None = None
    fields: list[FieldChange] = Field(default_factory=list)

    @property
    def title(self) -> str:
        where = f" in {self.environment}" if self.environment and self.kind != "defaults" else ""
        return f"{self.action} {self.kind.replace('_', ' ')} {self.key}{where}"


def field_changes(before: Any, after: Any, path: str = "") -> list[FieldChange]:
    """The leaves where two JSON values differ (lists of different length: the whole list)."""
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        changes: list[FieldChange] = []
        for key in list(before) + [k for k in after if k not in before]:
            sub = f"{path}.{key}" if path else str(key)
            changes += field_changes(before.get(key), after.get(key), sub)
        return changes
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        changes = []
        for index, (old, new) in enumerate(zip(before, after, strict=True)):
            changes += field_changes(old, new, f"{path}[{index}]")
        return changes
    if before == after:
        return []
    return [FieldChange(path=path, before=before, after=after)]


def _env(key: str, spec: EnvironmentSpec) -> dict[str, Any]:
    return {
        "name": spec.name or key,
        "description": spec.description,
        "production": spec.production,
    }


def _flag_head(spec: FlagSpec) -> dict[str, Any]:
    return {
        "description": spec.description,
        "variants": list(spec.variants),
        "off_variant": spec.resolved_off_variant(),
        "tags": list(spec.tags),
    }


def _dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", by_alias=True)


def _dump_set(model: BaseModel) -> dict[str, Any]:
    """Only the fields set (a flag state's or the defaults' unset parts are not compared)."""
    return model.model_dump(mode="json", exclude_none=True)


def _in_scope(env: str | None, scope: str | None) -> bool:
    return scope is None or env == scope


def diff_states(
    current: StateDocument, desired: StateDocument, environment: str | None = None
) -> list[Change]:
    """What applying ``desired`` to ``current`` creates and updates, in the order it must
    happen (environments, flags, their states, channels, alerts, defaults, deploy rules).

    Nothing is deleted: what the document does not name stays as it is. With
    ``environment``, only that environment's parts are compared (a flag's variants are
    global and always are); deploy rules are compared only without it.
    """
    changes: list[Change] = []

    def add(
        kind: Any, key: str, old: M | None, new: M, dump: Callable[[M], Any], env: str | None = None
    ) -> None:
        before = None if old is None else dump(old)
        fields = field_changes({} if before is None else before, dump(new))
        if before is None or fields:
            action = "create" if before is None else "update"
            changes.append(
                Change(action=action, kind=kind, key=key, environment=env, fields=fields)
            )

    for key, env_spec in desired.environments.items():
        if _in_scope(key, environment):
            add(
                "environment", key, current.environments.get(key), env_spec, partial(_env, key), key
            )
    for key, flag in desired.flags.items():
        old_flag = current.flags.get(key)
        add("flag", key, old_flag, flag, _flag_head)
        for env, state in flag.environments.items():
            if _in_scope(env, environment):
                old_state = old_flag.environments.get(env) if old_flag else None
                add("flag_state", key, old_state, state, _dump_set, env)
    for name, channel in desired.channels.items():
        add("channel", name, current.channels.get(name), channel, _dump)
    for name, rule in desired.alerts.items():
        if _in_scope(rule.environment, environment):
            add("alert", name, current.alerts.get(name), rule, _dump, rule.environment)
    for env, defaults in desired.defaults.items():
        if _in_scope(env, environment):
            add("defaults", env, current.defaults.get(env), defaults, _dump_set, env)
    if desired.deploy is not None and environment is None:
        old_deploy = [rule.model_dump() for rule in current.deploy or []]
        new_deploy = [rule.model_dump() for rule in desired.deploy]
        if old_deploy != new_deploy:
            changes.append(
                Change(
                    action="update",
                    kind="deploy",
                    key="rules",
                    fields=[FieldChange(path="deploy", before=old_deploy, after=new_deploy)],
                )
            )
    return changes
