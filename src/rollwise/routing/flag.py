"""The ``flag`` router: the in-process split, today's behaviour and the default.

Every process runs the SDK, which serves the flag's split itself; there is no proxy to
change, so a split is in force as soon as the SDKs have the new document.
"""

from __future__ import annotations

from ._config import FlagRouterConfig
from .base import AppliedRoute, RouteSplit

__all__ = ["FlagRouter"]


class FlagRouter:
    def __init__(self, config: FlagRouterConfig | None = None) -> None:
        self.config = config or FlagRouterConfig()

    def apply(self, split: RouteSplit) -> AppliedRoute:
        return AppliedRoute(split, "served in process by the SDK")

    def close(self) -> None:
        """Nothing to release."""
