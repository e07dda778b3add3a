"""A router that only remembers what it was asked to apply (for agent tests)."""

from __future__ import annotations

from rollwise.routing import AppliedRoute, RouteSplit


class Recording:
    def __init__(self) -> None:
        self.applied: list[RouteSplit] = []

    def apply(self, split: RouteSplit) -> AppliedRoute:
        self.applied.append(split)
        return AppliedRoute(split, "recorded")

    def close(self) -> None:
        pass
