"""Reporting several rollout-spec problems, each with its own field path, through pydantic.

A pydantic validator can only raise one error at its own location. Cross-field checks find
problems deeper down (``steps.2.percent``) and may find several, so they raise one
``rollwise_issues`` error whose context carries every ``(sub-path, reason)`` pair; the
spec parser expands it back into one :class:`~rollwise.errors.ConfigIssue` per problem.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic_core import PydanticCustomError

__all__ = ["ISSUES_ERROR", "dotted", "issues_error"]

ISSUES_ERROR = "rollwise_issues"

_UNION_TAGS = frozenset({"canary", "blue_green"})


def issues_error(issues: Sequence[tuple[str, str]]) -> PydanticCustomError:
    """One pydantic error carrying every ``(sub-path, reason)``; its message lists them all."""
    summary = "; ".join(f"{path}: {reason}" if path else reason for path, reason in issues)
    return PydanticCustomError(ISSUES_ERROR, "{summary}", {"summary": summary, "issues": issues})


def dotted(loc: Sequence[Any]) -> str:
    """A pydantic location as a field path, without the strategy's union tag.

    ``("strategy", "canary", "steps", 2)`` → ``strategy.steps.2``: the tag is pydantic's
    bookkeeping, not a key the user wrote.
    """
    parts = [str(part) for part in loc]
    if len(parts) >= 2 and parts[0] == "strategy" and parts[1] in _UNION_TAGS:
        del parts[1]
    return ".".join(parts)
