"""Releases: versions of a service deployed to an environment, and where a git ref deploys.

A release flag's variants are release names (``v1.4.0``, ``v1.5.0``); its split in an
environment is each release's traffic, and a release rollout is an ordinary rollout on that
flag (canary: the new release, baseline: the live one). A :class:`Release` is one
deployment of a version to an environment, with its outcome and the rollout that is its
evidence; the history per environment is what makes "back to the previous version" one
command.

The ref rules of ``rollwise deploy`` are the ``deploy:`` section of the configuration
document (:class:`~rollwise.core.state_document.DeployRule`): ordered ``{ref, environment}``
globs, the first match wins, no match deploys nowhere. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from fnmatch import fnmatchcase
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from .flags import FLAG_KEY_PATTERN, NAME_PATTERN
from .state_document import DeployRule, parse_state_document

__all__ = [
    "GOOD_OUTCOMES",
    "RELEASE_PATTERN",
    "DeployRule",
    "Release",
    "ReleaseOutcome",
    "environment_for_ref",
    "outcome_of_phase",
    "parse_deploy_rules",
]

RELEASE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.+\-]{0,99}$"
"""A release name (a flag variant): ``v1.5.0``, ``1.5.0-rc.1``, ``2026.12.03+abc123``."""


class ReleaseOutcome(StrEnum):
    """Where a deployment ended. ``promoted`` is the live release (one per environment and
    flag); a later promotion makes it ``superseded``, which is still a good release to go
    back to."""

    DEPLOYING = "deploying"
    PROMOTED = "promoted"
    ROLLED_BACK = "rolled_back"
    SUPERSEDED = "superseded"
    FAILED = "failed"


GOOD_OUTCOMES = frozenset({ReleaseOutcome.PROMOTED, ReleaseOutcome.SUPERSEDED})
"""Outcomes of releases that served everyone and can be gone back to."""


class Release(BaseModel):
    """One deployment of ``version`` to ``environment`` through the release flag ``flag``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    environment: Annotated[str, Field(pattern=NAME_PATTERN)]
    flag: Annotated[str, Field(pattern=FLAG_KEY_PATTERN)]
    version: Annotated[str, Field(pattern=RELEASE_PATTERN)]
    commit: Annotated[str, Field(max_length=100)] | None = None
    deployed_by: Annotated[str, Field(max_length=200)]
    deployed_at: datetime
    outcome: ReleaseOutcome = ReleaseOutcome.DEPLOYING
    rollout_id: int | None = None
    """The release rollout: its history and judgements are the evidence."""


def outcome_of_phase(phase: str) -> ReleaseOutcome | None:
    """A finished rollout's phase as the release's outcome (None: not finished)."""
    return {
        "succeeded": ReleaseOutcome.PROMOTED,
        "rolled_back": ReleaseOutcome.ROLLED_BACK,
        "aborted": ReleaseOutcome.FAILED,
    }.get(phase)


def environment_for_ref(rules: Sequence[DeployRule], ref: str) -> str | None:
    """The environment the first rule matching ``ref`` names; None: deploy nowhere.

    Globs are shell-style and match the whole ref (``refs/tags/v*`` matches
    ``refs/tags/v1.5.0``; ``*`` also crosses ``/``).
    """
    for rule in rules:
        if fnmatchcase(ref, rule.ref):
            return rule.environment
    return None


def parse_deploy_rules(value: Any) -> list[DeployRule]:
    """The ``deploy:`` list checked as the document checks it: a ConfigError naming each
    problem by path (``deploy[1].ref: duplicate ref``)."""
    if value is None:
        return []
    return list(parse_state_document({"deploy": value}).deploy or [])
