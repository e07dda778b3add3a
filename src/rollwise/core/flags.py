"""Flags: the configuration an operator writes and the control plane stores.

Pydantic checks shapes and types here; the cross-field rules (weights that sum to 10000,
rules that name known variants, patterns that compile) live in :mod:`.validation`, which
reports each problem with its flag and field path.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "BUCKETS",
    "Condition",
    "ConfigDocument",
    "EnvironmentInfo",
    "ExperimentInfo",
    "Flag",
    "FlagEnvironment",
    "Operator",
    "Rule",
]

BUCKETS = 10_000
"""Number of buckets (basis points): split weights are expressed in them and sum to it."""

FLAG_KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$"
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"


class Operator(StrEnum):
    """Comparison a rule condition applies to one context attribute."""

    EQ = "eq"
    NEQ = "neq"
    IN = "in"
    NOT_IN = "not_in"
    STARTS_WITH = "starts_with"
    ENDS_WITH = "ends_with"
    CONTAINS = "contains"
    REGEX = "regex"
    LT = "lt"
    LTE = "lte"
    GT = "gt"
    GTE = "gte"
    SEMVER_EQ = "semver_eq"
    SEMVER_LT = "semver_lt"
    SEMVER_LTE = "semver_lte"
    SEMVER_GT = "semver_gt"
    SEMVER_GTE = "semver_gte"
    BEFORE = "before"
    AFTER = "after"
    EXISTS = "exists"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Condition(_Model):
    """``attribute op value``, optionally negated.

    A condition on an attribute the context does not have never matches, negated or not;
    only ``exists`` (and its negation) speaks about absence.
    """

    attribute: str = Field(min_length=1)
    op: Operator
    value: Any = None
    negate: bool = False


class Rule(_Model):
    """All conditions true → the rule's variant, or a bucket in the rule's own split."""

    id: str = Field(pattern=NAME_PATTERN)
    conditions: list[Condition] = Field(default_factory=list)
    variant: str | None = None
    split: dict[str, int] | None = None


class FlagEnvironment(_Model):
    """A flag's state in one environment."""

    enabled: bool = True
    rules: list[Rule] = Field(default_factory=list)
    split: dict[str, int] | None = None
    default: str | None = None
    unit: str = Field(default="user_id", min_length=1)
    unit_fallbacks: list[str] = Field(default_factory=list)
    salt: str | None = None


class Flag(_Model):
    """A flag: its variants, the variant everyone gets when it is off, and its environments."""

    key: str = Field(pattern=FLAG_KEY_PATTERN)
    description: str = ""
    variants: list[str] = Field(default_factory=lambda: ["off", "on"], min_length=1)
    off_variant: str | None = None
    environments: dict[str, FlagEnvironment] = Field(default_factory=dict)

    @property
    def resolved_off_variant(self) -> str:
        """The off variant, defaulting to the first variant."""
        return self.off_variant if self.off_variant is not None else self.variants[0]

    def salt_for(self, environment: str) -> str:
        state = self.environments.get(environment)
        if state is not None and state.salt is not None:
            return state.salt
        return self.key


class EnvironmentInfo(_Model):
    """What a configuration says of an environment itself (not of a flag in it).

    ``production`` marks an environment where testers' shortcuts are refused (unsigned
    per-request overrides); unmarked environments are not production.
    """

    production: bool = False


class ExperimentInfo(_Model):
    """A running experiment, as the control plane tells an environment's SDKs: evaluations
    of ``flag`` into one of ``arms`` are exposures of ``key``, and ``events`` are the event
    names its metrics read (``client.track`` reports only those)."""

    key: str = Field(pattern=NAME_PATTERN)
    flag: str = Field(pattern=FLAG_KEY_PATTERN)
    arms: list[str] = Field(min_length=1)
    events: list[str] = Field(default_factory=list)


class ConfigDocument(_Model):
    """A whole configuration: the unit a source delivers and a client swaps atomically.

    A file usually holds every environment; the control plane sends one environment's
    document to an SDK (``environment`` names it, ``revision`` identifies the version,
    ``environments`` carries that environment's attributes, ``experiments`` the running
    experiments, absent when none runs so that SDKs older than experiments accept it).
    """

    revision: str | None = None
    environment: str | None = None
    environments: dict[str, EnvironmentInfo] = Field(default_factory=dict)
    flags: list[Flag] = Field(default_factory=list)
    experiments: list[ExperimentInfo] | None = None

    def flag_map(self) -> dict[str, Flag]:
        return {flag.key: flag for flag in self.flags}

    def is_production(self, environment: str) -> bool:
        """Whether the document marks ``environment`` as production (unmarked: no)."""
        info = self.environments.get(environment)
        return info is not None and info.production
