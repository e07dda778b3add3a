"""What every traffic router is given and promises: a flag's split, applied or refused.

A release rollout moves traffic between *processes* rather than code paths. The control
plane still expresses it as a flag's split (the variants are releases); a :class:`Router`
makes the proxy in front of the processes serve that split. Backends: ``flag`` (the
in-process split the SDK already serves, nothing to apply), ``nginx`` (a managed include file,
checked and reloaded), ``command`` (a command or a webhook: the escape hatch for HAProxy, a
Gateway HTTPRoute or a cloud load balancer).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ..errors import RollwiseError

__all__ = ["AppliedRoute", "RouteSplit", "Router", "RoutingError"]


class RoutingError(RollwiseError):
    """A router could not apply a split; the previous split stays in force."""

    code = "routing_error"


@dataclass(frozen=True, slots=True)
class RouteSplit:
    """A flag's traffic split in one environment, as of one config revision.

    ``weights`` are basis points (they sum to 10,000) in the flag's variant order, zero
    weights included: the order is what keeps the split sticky and monotonic (each variant
    owns a contiguous range, the canary's range only widens as its weight grows).
    """

    flag: str
    environment: str
    revision: int | None
    weights: tuple[tuple[str, int], ...]
    salt: str

    def weight(self, variant: str) -> int:
        return dict(self.weights).get(variant, 0)

    def serving(self) -> tuple[tuple[str, int], ...]:
        """The variants that get traffic, in order."""
        return tuple((variant, weight) for variant, weight in self.weights if weight > 0)

    def same_traffic(self, other: RouteSplit | None) -> bool:
        """Whether ``other`` sends every unit where this one does (the revision aside)."""
        return other is not None and (self.weights, self.salt) == (other.weights, other.salt)


@dataclass(frozen=True, slots=True)
class AppliedRoute:
    """What a router did: the split now in force and how (for logs and the fleet view)."""

    split: RouteSplit
    detail: str = ""


class Router(Protocol):
    """Makes a proxy (or nothing, for ``flag``) serve a split.

    ``apply`` either puts the split in force and returns, or raises :class:`RoutingError`
    leaving the previous split in force: a router never leaves a half-applied state.
    """

    def apply(self, split: RouteSplit) -> AppliedRoute: ...

    def close(self) -> None: ...
