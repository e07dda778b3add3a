"""Storage per day of the reference fleet (PostgreSQL): some windows stored, the tables
measured (tuples, indexes, overhead) and extrapolated per row kind to a day."""

from __future__ import annotations

import argparse
import random
from datetime import timedelta

from sqlalchemy import text

from _ingest_batches import INSTANCES, SERVICES, fleet_batch, seed_store, sketch_pool, window_start
from rollwise.store import Store
from rollwise.store.telemetry import parse_batch

WINDOWS_PER_DAY = 8640
TABLES = (
    "request_buckets",
    "usage_buckets",
    "comparison_buckets",
    "override_buckets",
    "telemetry_batches",
    "telemetry_batch_parts",
)


def storage(url: str, args: argparse.Namespace) -> dict[str, float]:
    """Bytes stored for ``args.windows`` windows of the reference fleet, then per day."""
    store = Store(url)
    store.upgrade()
    seed_store(store)
    per_route = 20 * 50  # 20 instances x 50 requests per route and window
    pool = sketch_pool(48, per_route, seed=11)
    rng = random.Random(11)
    for window in range(args.windows):
        start = window_start(0) - timedelta(seconds=10 * (args.windows - window))
        for service in range(SERVICES):
            batch = fleet_batch(service, start, pool, rng, per_route)
            store.ingest_telemetry("production", parse_batch(batch))
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for table in TABLES:
            connection.execute(text(f"VACUUM FULL ANALYZE {table}"))  # live data only
        sizes = {
            table: connection.execute(
                text(f"SELECT pg_total_relation_size('{table}')")
            ).scalar_one()
            for table in TABLES
        }
        total = sum(sizes.values())
        rows: dict[str, float] = {}
        tuple_bytes: dict[str, float] = {}
        per_bucket: dict[str, tuple[float, int]] = {}
        for table in TABLES:
            if "buckets" in table:
                query = (
                    "SELECT resolution, count(*), sum(pg_column_size(t.*)), "
                    f"count(DISTINCT bucket_start) FROM {table} t GROUP BY resolution"
                )
                found = connection.execute(text(query)).all()
                for resolution, count, size, buckets in found:
                    rows[f"{table}@{resolution}"] = count
                    tuple_bytes[f"{table}@{resolution}"] = float(size)
                    per_bucket[f"{table}@{resolution}"] = (count / buckets, resolution)
            else:
                count, size = connection.execute(
                    text(f"SELECT count(*), coalesce(sum(pg_column_size(t.*)), 0) FROM {table} t")
                ).one()
                rows[table] = count
                tuple_bytes[table] = float(size)
    store.close()
    all_rows = sum(rows.values())
    overheads: dict[str, float] = {}  # per table: indexes, page headers, TOAST pointers
    for table in TABLES:
        keys = [key for key in rows if key.split("@")[0] == table and rows[key]]
        count = sum(rows[key] for key in keys)
        if count:
            overheads[table] = (sizes[table] - sum(tuple_bytes[key] for key in keys)) / count
    day_rows: dict[str, float] = {}
    for key in rows:
        if key == "telemetry_batches":  # 1,000 instances send one batch id per window each
            day_rows[key] = INSTANCES * WINDOWS_PER_DAY
        elif key in per_bucket:
            count, resolution = per_bucket[key]
            day_rows[key] = count * 86400 / resolution
        else:
            day_rows[key] = 0.0

    def overhead(key: str) -> float:
        return overheads[key.split("@")[0]]

    day_bytes = sum(
        day_rows[key] * (tuple_bytes[key] / rows[key] + overhead(key)) for key in rows if rows[key]
    )
    for key in sorted(rows):
        if rows[key]:
            print(
                f"    {key:<28} {rows[key]:>8} rows, {tuple_bytes[key] / rows[key]:7.0f} B/row"
                f" (+{overhead(key):.0f} B overhead), {day_rows[key] / 1e6:7.2f} M rows/day"
            )
    return {
        "bytes stored": float(total),
        "rows stored": float(all_rows),
        "rows/day": sum(day_rows.values()),
        "GB/day": day_bytes / 1e9,
    }
