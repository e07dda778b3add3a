"""The sustained load of the ingest benchmark: processes x threads ingesting fleet batches
while one thread flips another flag's kill switch (the writes ingest must not stall)."""

from __future__ import annotations

import argparse
import multiprocessing
import random
import threading
import time
from typing import Any

from _ingest_batches import SERVICES, fleet_batch, seed_store, sketch_pool, window_start
from rollwise.store import Store
from rollwise.store.telemetry import parse_batch


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
            tx.flags.set_enabled("other", "production", enabled)
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
