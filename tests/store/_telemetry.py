"""Building telemetry batches for tests: real sketches from known latencies."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from rollwise.core.telemetry import TelemetryBatch
from rollwise.stats.sketch import LatencySketch

T0 = datetime(2026, 3, 2, 12, 0, 0, tzinfo=UTC)
"""A moment aligned to the hour: windows at T0 + k·10 s fall in predictable buckets."""
NOW = T0 + timedelta(minutes=30)
"""Where a store's fake clock starts unless a test says otherwise."""


def sketch(latencies: Sequence[float]) -> LatencySketch:
    result = LatencySketch()
    for value in latencies:
        result.add(value)
    return result


def series(
    flag: str,
    variant: str,
    latencies: Sequence[float],
    errors: int = 0,
    client_errors: int = 0,
    route: str = "",
) -> dict[str, Any]:
    return {
        "flag": flag,
        "variant": variant,
        "route": route,
        "requests": len(latencies),
        "errors": errors,
        "client_errors": client_errors,
        "latency": sketch(latencies).to_dict(),
    }


def window(start: datetime, **parts: list[dict[str, Any]]) -> dict[str, Any]:
    return {"start": start.isoformat(), "seconds": 10, **parts}


def batch(*windows: dict[str, Any], batch_id: str | None = None, **extra: Any) -> TelemetryBatch:
    return TelemetryBatch.model_validate(
        {
            "batch_id": batch_id or f"b-{secrets.token_hex(8)}",
            "instance": "host-1:123",
            "sent_at": T0.isoformat(),
            "windows": list(windows),
            **extra,
        }
    )


def comparison(flag: str, variant: str, **counts: int) -> dict[str, Any]:
    return {
        "name": flag,
        "flag": flag,
        "variant": variant,
        "counts": counts,
        "durations": {
            "control": {"count": sum(counts.values()), "sum_seconds": 0.5, "max_seconds": 0.1},
            "candidate": {"count": sum(counts.values()), "sum_seconds": 0.7, "max_seconds": 0.2},
        },
    }


def mismatch_sample(index: int, name: str = "checkout") -> dict[str, Any]:
    """A dual-run sample as an SDK sends it; ``index`` orders them and shows in each side."""
    return {
        "name": name,
        "flag": "checkout",
        "variant": "domain",
        "primary": "control",
        "outcome": "mismatch",
        "at": T0.timestamp() + index,
        "input": {"order": index},
        "control": {"value": index},
        "candidate": {"value": -index},
    }
