"""``rollwise demo``: a canary rollout of a real service, judged on live traffic, on loopback."""

from __future__ import annotations

from ._command import (
    demo,
)

__all__ = [
    "demo",
]
