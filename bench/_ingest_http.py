"""The ingest benchmark over HTTP: fleet batches POSTed to a real ``rollwise serve`` on
loopback by many client threads."""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import threading
import time

import httpx

from _ingest_batches import SERVICES, VARIANTS, fleet_batch, sketch_pool, window_start
from _ingest_load import quantile
from _serve import ROLLWISE, free_port

ADMIN = "bench-admin-token-0123456789"


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
