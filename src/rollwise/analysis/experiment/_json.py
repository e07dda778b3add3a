"""JSON-friendly numbers for results and evidence."""

from __future__ import annotations

import math

__all__ = ["num"]


def num(value: float | None, digits: int = 8) -> float | None:
    """None for missing or non-finite values, else ``value`` to ``digits`` significant."""
    if value is None or not math.isfinite(value):
        return None
    if value == 0.0:
        return 0.0
    return float(f"{value:.{digits}g}")
