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
200 ms; the reference fleet <= 5 GB/day stored; (derived) <= 5 ms of Python CPU per batch,
so that two cores hold 100 batches/s with the database's share.

    .venv/bin/python bench/ingest.py [--seconds 20] [--processes 4] [--threads 4]
        [--databases sqlite,postgresql] [--windows 60] [--skip-http] [--skip-storage]
        [--skip-largest] [--skip-sustained]
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import text
from sqlalchemy.engine import make_url

from _ingest_batches import (
    INSTANCES,
    ROUTES,
    SERVICES,
    VARIANTS,
    fleet_batch,
    seed_store,
    sketch_pool,
    window_start,
)
from _ingest_http import over_http
from _ingest_load import other_writes, quantile, sustained
from _ingest_storage import storage
from rollwise.core.telemetry import TelemetryBatch
from rollwise.store import Store
from rollwise.store.telemetry import parse_batch

TARGET_RATE, TARGET_P99, TARGET_OTHER_P99, TARGET_GB_DAY = 100.0, 0.5, 0.2, 5.0
TARGET_CLIENT_MS = 5.0  # Python CPU per batch: what leaves room for the database on 2 cores
POSTGRES_URL = os.environ.get(
    "ROLLWISE_TEST_POSTGRES_URL",
    "postgresql+psycopg://postgres@/rollwise_test?host=/var/run/postgresql",
)


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
        tx.telemetry.ingest("production", parse_batch(sent))
    figures["baseline, one transaction into existing rows s"] = time.perf_counter() - began
    store.close()
    figures["other writes p99 s (during ingest)"] = quantile(flips[0] if flips else [], 0.99)
    figures["failures"] = float(len(failures))
    return figures


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
        "client CPU ms/batch": (TARGET_CLIENT_MS, False),
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
    parser.add_argument("--skip-sustained", action="store_true")
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
            if not args.skip_sustained:
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
