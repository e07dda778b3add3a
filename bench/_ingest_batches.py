"""Batch shapes of the ingest benchmark: the reference fleet (50 services x 20 routes x 2
variants, one flag per service), its latency sketches, its windows and its flags."""

from __future__ import annotations

import random
import secrets
import time
from datetime import UTC, datetime
from typing import Any

from rollwise.core.telemetry import TelemetryBatch
from rollwise.stats.sketch import LatencySketch
from rollwise.store import Store

SERVICES, ROUTES, INSTANCES = 50, 20, 1000
VARIANTS = ("legacy", "domain")


def sketch_pool(size: int, requests: int, seed: int) -> list[dict[str, Any]]:
    """Latency sketches of ``requests`` requests each: lognormal around 50 ms, 1% slow."""
    rng = random.Random(seed)
    pool = []
    for _ in range(size):
        sketch = LatencySketch()
        for _ in range(requests):
            slow = rng.random() < 0.01
            sketch.add(rng.lognormvariate(-3.0 + (2.0 if slow else 0.0), 0.8))
        pool.append(sketch.to_dict())
    return pool


def fleet_batch(
    service: int, start: datetime, pool: list[dict[str, Any]], rng: random.Random, requests: int
) -> TelemetryBatch:
    """One batch of one instance (or of a service's instances merged): 40 series."""
    series = [
        {
            "flag": f"svc-{service}",
            "variant": variant,
            "route": f"/api/v1/resource-{route}/{{id}}",
            "requests": (latency := rng.choice(pool))["count"],
            "errors": rng.randrange(0, 2),
            "client_errors": rng.randrange(0, 3),
            "latency": latency,
        }
        for route in range(ROUTES)
        for variant in VARIANTS
    ]
    usage = [{"flag": f"svc-{service}", "variant": v, "count": requests * 10} for v in VARIANTS]
    return TelemetryBatch.model_validate(
        {
            "batch_id": f"b-{secrets.token_hex(10)}",
            "instance": f"svc-{service}-{rng.randrange(10_000)}:{rng.randrange(65_536)}",
            "sent_at": start.isoformat(),
            "windows": [
                {"start": start.isoformat(), "seconds": 10, "series": series, "usage": usage}
            ],
        }
    )


def window_start(index: int) -> datetime:
    """Window ``index`` of the run: aligned to 10 s, the first one 5 minutes ago."""
    base = int(time.time()) // 10 * 10 - 300
    return datetime.fromtimestamp(base + 10 * index, UTC)


def seed_store(store: Store) -> None:
    with store.transaction("bench") as tx:
        tx.environments.create("production")
        for service in range(SERVICES):
            tx.flags.create(f"svc-{service}", variants=list(VARIANTS))
        tx.flags.create("other", variants=["off", "on"])
