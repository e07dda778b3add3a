"""Telemetry ingest: sustained batches/s, latencies, other writes meanwhile, storage per day.

The reference fleet: 50 services x 20 routes x 2 variants (one flag per service), 1,000
instances (20 per service), each sending one batch of its 40 series every 10 s — 100
batches/s. Four measurements:

- **store**: ``Store.ingest_telemetry`` (what the HTTP route calls after parsing the body)
  from ``--processes`` processes x ``--threads`` threads for ``--seconds`` (SQLite: one
  process, as ``rollwise serve`` runs on it), on SQLite and PostgreSQL, while one thread
  flips a flag's kill switch every 50 ms ("other writes"). Baseline measured in the same
  run: those other writes alone, with no ingest.
- **http** (PostgreSQL): the same batches POSTed to a real ``rollwise serve`` on loopback.
- **storage** (PostgreSQL): ``--windows`` windows of the reference fleet (each service's
  batch carries its 20 instances' traffic, as the buckets hold it once merged), then
  ``pg_total_relation_size`` of the telemetry tables, extrapolated per row kind to a day
  (10 s, 5 min and 1 h buckets; batch ids of 1,000 instances).

- **cpu**: CPU milliseconds per batch, one thread, of the ingesting process and of its
  PostgreSQL backend: what a batch costs, whatever else the machine runs (the batches/s
  above depend on that; on a busy 2-core machine they say more about the neighbours).

- **largest**: one maximum-size batch (360 windows x 200 series) stored in parts into new
  rows, one into the same buckets, then (the baseline) one more in a single transaction as
  ingest did before, with the flag flips running: the whole time, the number of
  transactions and the longest one (how long SQLite's write lock is held).

Targets: >= 100 batches/s on PostgreSQL with ingest p99 < 500 ms and other writes' p99 <
200 ms; the reference fleet <= 5 GB/day stored.

    .venv/bin/python bench/ingest.py [--seconds 20] [--processes 4] [--threads 4]
        [--databases sqlite,postgresql] [--windows 60] [--skip-http] [--skip-storage]
        [--skip-largest]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy import text
from sqlalchemy.engine import make_url

from rollwise.core.telemetry import TelemetryBatch
from rollwise.stats.sketch import LatencySketch
from rollwise.store import Store
from rollwise.store.telemetry import parse_batch

SERVICES, ROUTES, INSTANCES = 50, 20, 1000
VARIANTS = ("legacy", "domain")
WINDOWS_PER_DAY = 8640
TARGET_RATE, TARGET_P99, TARGET_OTHER_P99, TARGET_GB_DAY = 100.0, 0.5, 0.2, 5.0
POSTGRES_URL = os.environ.get(
    "ROLLWISE_TEST_POSTGRES_URL",
    "postgresql+psycopg://postgres@/rollwise_test?host=/var/run/postgresql",
)
ROLLWISE = Path(sys.executable).with_name("rollwise")
ADMIN = "bench-admin-token-0123456789"
TABLES = (
    "request_buckets",
    "usage_buckets",
    "comparison_buckets",
    "override_buckets",
    "telemetry_batches",
    "telemetry_batch_parts",
)


# -- the fleet -------------------------------------------------------------------------------


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
        tx.create_environment("production")
        for service in range(SERVICES):
            tx.create_flag(f"svc-{service}", variants=list(VARIANTS))
        tx.create_flag("other", variants=["off", "on"])


# -- databases -------------------------------------------------------------------------------


@contextmanager
def database(kind: str, directory: str) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{Path(directory) / f'bench-{secrets.token_hex(4)}.db'}"
        return
    name = f"rollwise_bench_{secrets.token_hex(6)}"
    admin_url = make_url(POSTGRES_URL).set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- sustained ingest ------------------------------------------------------------------------


def _writer(url: str, worker: int, threads: int, seconds: float, out: Any) -> None:
    """One process: ``threads`` threads ingesting fleet batches until the deadline."""
    store = Store(url)
    pool = sketch_pool(32, 50, seed=worker)
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def run(thread: int) -> None:
        rng = random.Random(worker * 1000 + thread)
        sent = 0
        mine: list[float] = []
        while time.monotonic() < deadline:
            service = rng.randrange(SERVICES)
            batch = fleet_batch(service, window_start(sent // 200 % 20), pool, rng, 50)
            began = time.perf_counter()
            try:
                store.ingest_telemetry("production", parse_batch(batch))
            except Exception as error:  # counted and shown: the figure is "none fails"
                with lock:
                    failures.append(repr(error)[:200])
                continue
            mine.append(time.perf_counter() - began)
            sent += 1
        with lock:
            latencies.extend(mine)

    workers = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    store.close()
    out.put((latencies, failures))


def other_writes(store: Store, stop: threading.Event, every: float = 0.05) -> list[float]:
    """Kill switch flips on another flag until ``stop``: the writes ingest must not stall."""
    latencies = []
    enabled = False
    while not stop.is_set():
        began = time.perf_counter()
        with store.transaction("operator") as tx:
            tx.set_enabled("other", "production", enabled)
        latencies.append(time.perf_counter() - began)
        enabled = not enabled
        stop.wait(every)
    return latencies


def quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def sustained(url: str, args: argparse.Namespace) -> dict[str, float]:
    store = Store(url)
    store.upgrade()
    seed_store(store)
    stop = threading.Event()
    threading.Timer(2.0, stop.set).start()
    alone = other_writes(store, stop)
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    count = 1 if url.startswith("sqlite") else args.processes  # SQLite: one server process
    processes = [
        context.Process(target=_writer, args=(url, w, args.threads, args.seconds, out))
        for w in range(count)
    ]
    stop = threading.Event()
    result: list[list[float]] = []
    flipper = threading.Thread(target=lambda: result.append(other_writes(store, stop)))
    began = time.monotonic()
    for process in processes:
        process.start()
    flipper.start()
    latencies: list[float] = []
    failures: list[str] = []
    for _ in processes:
        got, failed = out.get(timeout=args.seconds + 600)
        latencies += got
        failures += failed
    elapsed = time.monotonic() - began
    stop.set()
    flipper.join()
    for process in processes:
        process.join()
    store.close()
    meanwhile = result[0]
    figures = {
        "batches/s": len(latencies) / min(elapsed, args.seconds + 5),
        "ingest p50 s": quantile(latencies, 0.5),
        "ingest p99 s": quantile(latencies, 0.99),
        "other writes p99 s (alone)": quantile(alone, 0.99),
        "other writes p99 s (during ingest)": quantile(meanwhile, 0.99),
        "failures": float(len(failures)),
    }
    if failures:
        print("  first failures:", *sorted(set(failures))[:3], sep="\n    ")
    return figures


# -- CPU per batch ---------------------------------------------------------------------------


def _backend_cpu(pid: int) -> float:
    """CPU seconds a local PostgreSQL backend has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_per_batch(url: str, batches: int = 300) -> dict[str, float]:
    """One thread, fleet batches into warm buckets: CPU milliseconds per batch spent by this
    process (parse + ingest) and by its PostgreSQL backend. Unlike batches/s, this does not
    depend on what else the machine runs; 2 cores / their sum bounds the rate."""
    store = Store(url)
    store.upgrade()
    seed_store(store)
    pool = sketch_pool(32, 50, seed=5)
    rng = random.Random(5)
    sent = [
        fleet_batch(rng.randrange(SERVICES), window_start(i // 200 % 20), pool, rng, 50)
        for i in range(batches + 30)
    ]
    for batch in sent[:30]:  # rows created, statements prepared
        store.ingest_telemetry("production", parse_batch(batch))
    pid = None
    if store.dialect == "postgresql":
        with store.engine.connect() as connection:
            pid = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
    began, backend = time.process_time(), _backend_cpu(pid) if pid else 0.0
    for batch in sent[30:]:
        store.ingest_telemetry("production", parse_batch(batch))
    python = (time.process_time() - began) / batches * 1000
    database = ((_backend_cpu(pid) - backend) / batches * 1000) if pid else 0.0
    store.close()
    return {
        "client CPU ms/batch": python,
        "database CPU ms/batch": database,
        "batches/s two free cores allow": 2000 / (python + database),
    }


# -- the largest batch ------------------------------------------------------------------------


class TimedStore(Store):
    """A store that times each transaction ingest runs (the write lock's hold time)."""

    transactions: list[float]

    def retrying(self, actor: str, work: Any, attempts: int = 3) -> Any:
        began = time.perf_counter()
        try:
            return super().retrying(actor, work, attempts)
        finally:
            self.transactions.append(time.perf_counter() - began)


def largest_batch(url: str) -> dict[str, float]:
    """360 windows x 200 series twice (new rows, then into existing ones), flag flips
    meanwhile: how long the whole takes, the longest transaction, and the flips."""
    store = TimedStore(url)
    store.transactions = []
    store.upgrade()
    seed_store(store)
    pool = sketch_pool(32, 12, seed=3)  # about the 15.7 MB batch
    rng = random.Random(3)
    windows = [
        {
            "start": (window_start(0) - timedelta(seconds=10 * (360 - w))).isoformat(),
            "seconds": 10,
            "series": [
                {
                    "flag": f"svc-{series % 10}",
                    "variant": VARIANTS[series // 10 % 2],
                    "route": f"/r{series // 20}",
                    "requests": (latency := rng.choice(pool))["count"],
                    "errors": 0,
                    "latency": latency,
                }
                for series in range(200)
            ],
        }
        for w in range(360)
    ]

    def batch() -> TelemetryBatch:
        return TelemetryBatch.model_validate(
            {
                "batch_id": f"b-{secrets.token_hex(10)}",
                "instance": "catching-up:1",
                "sent_at": window_start(0).isoformat(),
                "windows": windows,
            }
        )

    stop = threading.Event()
    flips: list[list[float]] = []
    failures: list[str] = []

    def flip() -> None:
        try:
            flips.append(other_writes(store, stop))
        except Exception as error:  # the figure: none may fail
            failures.append(repr(error)[:200])

    flipper = threading.Thread(target=flip)
    flipper.start()
    figures = {}
    try:
        for label in ("new rows", "existing rows"):
            sent = batch()
            print(f"    {label}: {len(sent.model_dump_json()) / 1e6:.1f} MB of JSON")
            store.transactions = []
            began = time.perf_counter()
            store.ingest_telemetry("production", parse_batch(sent))
            figures[f"{label}: whole batch s"] = time.perf_counter() - began
            figures[f"{label}: transactions"] = float(len(store.transactions))
            figures[f"{label}: longest transaction s"] = max(store.transactions)
    finally:
        stop.set()
        flipper.join()
    sent = batch()  # the baseline (no flips: they would fail): one transaction, as before
    began = time.perf_counter()
    with store.transaction("sdk") as tx:
        tx.ingest_telemetry("production", parse_batch(sent))
    figures["baseline, one transaction into existing rows s"] = time.perf_counter() - began
    store.close()
    figures["other writes p99 s (during ingest)"] = quantile(flips[0] if flips else [], 0.99)
    figures["failures"] = float(len(failures))
    return figures


# -- over HTTP -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def over_http(url: str, args: argparse.Namespace) -> dict[str, float]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [str(ROLLWISE), "serve", "--port", str(port), "--database-url", url]
    proc = subprocess.Popen(
        [*command, "--log-level", "warning", "--no-controller"],
        env={**os.environ, "ROLLWISE_ADMIN_TOKEN": ADMIN},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("rollwise serve did not start") from None
                time.sleep(0.2)
        admin = {"Authorization": f"Bearer {ADMIN}"}
        with httpx.Client(base_url=base, headers=admin, timeout=30) as client:
            client.post("/api/v1/environments", json={"key": "production"}).raise_for_status()
            for service in range(SERVICES):
                flag = {"key": f"svc-{service}", "variants": list(VARIANTS)}
                client.post("/api/v1/flags", json=flag).raise_for_status()
            token = client.post(
                "/api/v1/tokens",
                json={"name": "bench", "scope": "sdk", "environment": "production"},
            )
            token.raise_for_status()
            sdk = {"Authorization": f"Bearer {token.json()['secret']}"}
        pool = sketch_pool(32, 50, seed=7)
        rng = random.Random(7)
        bodies = [
            fleet_batch(rng.randrange(SERVICES), window_start(i % 20), pool, rng, 50)
            .model_dump_json()
            .encode()
            for i in range(400)
        ]
        latencies: list[float] = []
        failures: list[int] = []
        lock = threading.Lock()
        stop_at = time.monotonic() + args.seconds

        def run(thread: int) -> None:
            mine = []
            headers = sdk | {"Content-Type": "application/json"}
            with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
                index = thread
                while time.monotonic() < stop_at:
                    body = bodies[index % len(bodies)].replace(b'"b-', f'"b{index}-'.encode(), 1)
                    index += args.threads * 4
                    began = time.perf_counter()
                    answer = client.post("/api/v1/sdk/telemetry", content=body)
                    if answer.status_code != 202:
                        with lock:
                            failures.append(answer.status_code)
                        continue
                    mine.append(time.perf_counter() - began)
            with lock:
                latencies.extend(mine)

        began = time.monotonic()
        threads = [threading.Thread(target=run, args=(t,)) for t in range(args.threads * 4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - began
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
    return {
        "batches/s": len(latencies) / elapsed,
        "ingest p50 s": quantile(latencies, 0.5),
        "ingest p99 s": quantile(latencies, 0.99),
        "failures": float(len(failures)),
    }


# -- storage ---------------------------------------------------------------------------------


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


# -- main ------------------------------------------------------------------------------------


def verdict(value: float, target: float, higher: bool) -> str:
    ok = value >= target if higher else value <= target
    return f"{'meets' if ok else 'MISSES'} target {'>=' if higher else '<='} {target:g}"


def show(title: str, figures: dict[str, float]) -> None:
    print(f"{title} (load average {os.getloadavg()[0]:.1f})")
    targets = {
        "batches/s": (TARGET_RATE, True),
        "ingest p99 s": (TARGET_P99, False),
        "other writes p99 s (during ingest)": (TARGET_OTHER_P99, False),
        "failures": (0.0, False),
        "GB/day": (TARGET_GB_DAY, False),
        "batches/s two free cores allow": (TARGET_RATE, True),
    }
    for name, value in figures.items():
        note = f"   {verdict(value, *targets[name])}" if name in targets else ""
        print(f"  {name:<36} {value:12.3f}{note}")
    alone = figures.get("other writes p99 s (alone)")
    during = figures.get("other writes p99 s (during ingest)")
    if alone and during:
        print(f"  {'other writes p99, ratio to alone':<36} {during / alone:12.2f}x")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--windows", type=int, default=60, help="storage: 10 s windows")
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--skip-storage", action="store_true")
    parser.add_argument("--skip-largest", action="store_true")
    args = parser.parse_args()
    print(
        f"reference fleet: {SERVICES} services x {ROUTES} routes x {len(VARIANTS)} variants, "
        f"{INSTANCES} instances, a batch of {ROUTES * len(VARIANTS)} series per instance "
        f"every 10 s ({INSTANCES / 10:.0f} batches/s); load average {os.getloadavg()[0]:.1f}"
    )
    with tempfile.TemporaryDirectory(prefix="rollwise-bench-") as directory:
        for kind in args.databases.split(","):
            if not args.skip_largest:
                with database(kind, directory) as url:
                    show(f"{kind}: one maximum-size batch (360 x 200 series)", largest_batch(url))
            with database(kind, directory) as url:
                show(f"{kind}: CPU per batch, one thread (load-independent)", cpu_per_batch(url))
            with database(kind, directory) as url:
                processes = 1 if kind == "sqlite" else args.processes
                show(
                    f"{kind}: Store.ingest_telemetry, {processes}x{args.threads}",
                    sustained(url, args),
                )
            if kind == "postgresql" and not args.skip_http:
                with database(kind, directory) as url:
                    show(
                        f"{kind}: POST /api/v1/sdk/telemetry, rollwise serve", over_http(url, args)
                    )
            if kind == "postgresql" and not args.skip_storage:
                with database(kind, directory) as url:
                    show(
                        f"{kind}: storage, {args.windows} windows extrapolated", storage(url, args)
                    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
