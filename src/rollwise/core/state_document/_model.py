"""The document's model: one class per section, and the whole file (:class:`StateDocument`)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..alerts import AlertRuleFields
from ..durations import Duration
from ..flags import FLAG_KEY_PATTERN, NAME_PATTERN, FlagEnvironment
from ..gates import Gate, NoDataPolicy
from ..rollout import ROUTER_PATTERN, BlueGreenStrategy, CanaryStrategy, HealthCheck

REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
"""``${NAME}``: a secret (or any channel value) taken from the environment of ``apply``."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class EnvironmentSpec(_Model):
    name: Annotated[str, Field(max_length=200)] | None = None
    """For people; unset, the key."""
    description: Annotated[str, Field(max_length=10_000)] = ""
    production: bool = False


class FlagSpec(_Model):
    """A flag: variants (the off variant defaults to the first) and its state per
    environment (the state model of the API: enabled, rules, split or default, unit...)."""

    description: Annotated[str, Field(max_length=10_000)] = ""
    variants: Annotated[list[str], Field(min_length=1, max_length=100)] = Field(
        default_factory=lambda: ["off", "on"]
    )
    off_variant: str | None = None
    tags: Annotated[list[str], Field(max_length=100)] = Field(default_factory=list)
    environments: dict[str, FlagEnvironment] = Field(default_factory=dict)

    def resolved_off_variant(self) -> str:
        return self.off_variant if self.off_variant is not None else self.variants[0]


class ChannelSpec(BaseModel):
    """A notification channel: ``type``, ``enabled`` and the type's fields (see
    docs/notifications.md); secrets are written ``${VARIABLE}``, never in clear."""

    model_config = ConfigDict(extra="allow", frozen=True)

    type: Annotated[str, Field(min_length=1)]
    enabled: bool = True

    def config(self, name: str) -> dict[str, Any]:
        """The notifier config (what the registry parses): every field but ``enabled``."""
        return {**(self.model_extra or {}), "type": self.type, "name": name}


class AlertSpec(AlertRuleFields):
    """An alert rule; its name is its key in the ``alerts`` mapping."""

    name: Annotated[str, Field(pattern=NAME_PATTERN)] = "unnamed"


Strategy = Annotated[CanaryStrategy | BlueGreenStrategy, Field(discriminator="type")]


class RolloutDefaults(_Model):
    """What a rollout (or a release rollout) in this environment gets unless its spec says."""

    strategy: Strategy | None = None
    gates: list[Gate] | None = None
    min_samples: Annotated[int, Field(ge=1)] | None = None
    max_step_duration: Annotated[Duration, Field(gt=0)] | None = None
    on_no_data: NoDataPolicy | None = None
    router: Annotated[str, Field(pattern=ROUTER_PATTERN)] | None = None
    router_apply_timeout: Annotated[Duration, Field(gt=0, le=86_400)] | None = None
    health_check: HealthCheck | None = None

    def spec_fields(self) -> dict[str, Any]:
        """The fields set here, as the fields of a rollout spec (each field is one)."""
        data: dict[str, Any] = self.model_dump(mode="json", exclude_none=True)
        return data


class EnvironmentDefaults(_Model):
    rollout: RolloutDefaults | None = None
    release: RolloutDefaults | None = None


class DeployRule(_Model):
    """``rollwise deploy`` on a git ref matching ``ref`` (a glob: ``refs/tags/v*``) deploys
    to ``environment``; the first matching rule wins."""

    ref: Annotated[str, Field(pattern=r"^refs/[^\s]+$", max_length=256)]
    environment: Annotated[str, Field(pattern=NAME_PATTERN)]


class StateSettings(_Model):
    """The part of the document with no resource of its own: defaults and deploy rules
    (the store keeps each as a versioned setting)."""

    defaults: dict[str, EnvironmentDefaults] = Field(default_factory=dict)
    deploy: list[DeployRule] = Field(default_factory=list)


class StateDocument(_Model):
    """The whole file. Absent sections are not managed: apply leaves them as they are."""

    version: Literal[1] = 1
    environments: dict[Annotated[str, Field(pattern=NAME_PATTERN)], EnvironmentSpec] = Field(
        default_factory=dict
    )
    flags: dict[Annotated[str, Field(pattern=FLAG_KEY_PATTERN)], FlagSpec] = Field(
        default_factory=dict
    )
    channels: dict[Annotated[str, Field(pattern=NAME_PATTERN)], ChannelSpec] = Field(
        default_factory=dict
    )
    alerts: dict[Annotated[str, Field(pattern=NAME_PATTERN)], AlertSpec] = Field(
        default_factory=dict
    )
    defaults: dict[Annotated[str, Field(pattern=NAME_PATTERN)], EnvironmentDefaults] = Field(
        default_factory=dict
    )
    deploy: list[DeployRule] | None = None

    def to_data(self) -> dict[str, Any]:
        """The document as a file would hold it: defaults left out, alert names not repeated."""
        data: dict[str, Any] = self.model_dump(
            mode="json", by_alias=True, exclude_defaults=True, exclude={"alerts", "defaults"}
        )
        data["version"] = 1
        if self.defaults:  # exclude_none, not defaults: a strategy's type must stay
            data["defaults"] = {
                env: value.model_dump(mode="json", exclude_none=True)
                for env, value in self.defaults.items()
            }
        alerts = {
            name: rule.model_dump(
                mode="json", by_alias=True, exclude_defaults=True, exclude={"name"}
            )
            for name, rule in self.alerts.items()
        }
        if alerts:
            data["alerts"] = alerts
        return {key: data[key] for key in ORDER if key in data}


ORDER = ("version", "environments", "flags", "channels", "alerts", "defaults", "deploy")
SECTIONS: dict[str, type[BaseModel]] = {
    "environments": EnvironmentSpec,
    "flags": FlagSpec,
    "channels": ChannelSpec,
    "alerts": AlertSpec,
    "defaults": EnvironmentDefaults,
}
