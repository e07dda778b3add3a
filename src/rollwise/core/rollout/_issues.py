"""Field paths of rollout-spec problems, as the user wrote them.

Cross-field checks raise :func:`rollwise.errors.issues_error`; the spec parser expands it
with :func:`rollwise.errors.validation_issues`, locating fields with :func:`dotted`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["dotted"]

_UNION_TAGS = frozenset({"canary", "blue_green"})


def dotted(loc: Sequence[Any]) -> str:
    """A pydantic location as a field path, without the strategy's union tag.

    ``("strategy", "canary", "steps", 2)`` → ``strategy.steps.2``: the tag is pydantic's
    bookkeeping, not a key the user wrote.
    """
    parts = [str(part) for part in loc]
    if len(parts) >= 2 and parts[0] == "strategy" and parts[1] in _UNION_TAGS:
        del parts[1]
    return ".".join(parts)
