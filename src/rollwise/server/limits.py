"""How large a request body may be, by route.

API writes are small JSON documents (a flag with its rules, a channel, a rollout plan):
``max_body_bytes``. SDK telemetry batches are larger: ``max_telemetry_body_bytes``, by
default ``MAX_TELEMETRY_BATCH_BYTES`` of the telemetry routes (the one constant that says
how large a batch may be). Every other route gets the API limit. See
docs/control-plane.md, "Limits".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["TELEMETRY_ROUTE", "BodyLimits"]

TELEMETRY_ROUTE = ("POST", "/api/v1/sdk/telemetry")


@dataclass(frozen=True, slots=True)
class BodyLimits:
    """The default limit in bytes, and the routes (method, path) that have their own."""

    default: int
    routes: Mapping[tuple[str, str], int] = field(default_factory=dict)

    @classmethod
    def of(cls, api_bytes: int, telemetry_bytes: int) -> BodyLimits:
        return cls(default=api_bytes, routes={TELEMETRY_ROUTE: telemetry_bytes})

    def for_request(self, method: str, path: str) -> int:
        return self.routes.get((method, path.rstrip("/") or "/"), self.default)
