"""Requests per second of GET /api/v1/sdk/config against a bare endpoint, same bytes.

Starts a real `rollwise serve` (SQLite, one uvicorn worker) and a bare uvicorn app that
returns the same body and ETag, both on loopback, and loads each with wrk (50 connections):
the 304 path (If-None-Match matches, what polling SDKs mostly hit) and the 200 path.
Prints requests/second and each ratio to the bare endpoint. Target: 304 path >= 0.7x.

    .venv/bin/python bench/config_endpoint.py [--seconds 5] [--connections 50]

Needs Debian's wrk (`apt-get install wrk`; `make bench` installs it).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

HERE = Path(__file__).parent
ROLLWISE = Path(sys.executable).with_name("rollwise")
UVICORN = Path(sys.executable).with_name("uvicorn")
ADMIN = "bench-admin-token-0123456789"
TARGET_304 = 0.7


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def process(command: list[str], url: str, env: dict[str, str]) -> Iterator[None]:
    proc = subprocess.Popen(
        command,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=HERE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.HTTPError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{command[0]} did not start") from None
                time.sleep(0.1)
        yield
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def wrk(url: str, headers: dict[str, str], seconds: int, connections: int) -> float:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run(
        [*command, url], capture_output=True, text=True, check=True, timeout=seconds + 30
    ).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if match is None or "Non-2xx or 3xx responses" in output:
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    return float(match.group(1))


def seed(url: str) -> str:
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {ADMIN}"}) as admin:
        admin.post("/api/v1/environments", json={"key": "production"}).raise_for_status()
        for n in range(20):  # a realistic document: 20 flags with rules and splits
            key = f"flag-{n}"
            admin.post(
                "/api/v1/flags", json={"key": key, "variants": ["legacy", "domain"]}
            ).raise_for_status()
            admin.put(
                f"/api/v1/flags/{key}/environments/production",
                json={
                    "version": 0,
                    "split": {"legacy": 9000, "domain": 1000},
                    "rules": [
                        {
                            "id": "staff",
                            "variant": "domain",
                            "conditions": [
                                {"attribute": "email", "op": "ends_with", "value": "@example.com"}
                            ],
                        }
                    ],
                },
            ).raise_for_status()
        token = admin.post(
            "/api/v1/tokens", json={"name": "bench", "scope": "sdk", "environment": "production"}
        )
        token.raise_for_status()
        secret: str = token.json()["secret"]
        return secret


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=50)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="rollwise-bench-") as directory:
        rollwise_port, bare_port = free_port(), free_port()
        rollwise_url = f"http://127.0.0.1:{rollwise_port}"
        database = f"sqlite:///{Path(directory) / 'bench.db'}"
        serve = [
            str(ROLLWISE),
            "serve",
            "--port",
            str(rollwise_port),
            "--database-url",
            database,
            "--log-level",
            "warning",
        ]
        with process(serve, f"{rollwise_url}/healthz", {"ROLLWISE_ADMIN_TOKEN": ADMIN}):
            secret = seed(rollwise_url)
            auth = {"Authorization": f"Bearer {secret}"}
            config_url = f"{rollwise_url}/api/v1/sdk/config"
            response = httpx.get(config_url, headers=auth)
            etag = response.headers["ETag"]
            body_file = Path(directory) / "body.json"
            body_file.write_bytes(response.content)
            rollwise_304 = wrk(
                config_url, {**auth, "If-None-Match": etag}, args.seconds, args.connections
            )
            rollwise_200 = wrk(config_url, auth, args.seconds, args.connections)
        bare = [
            str(UVICORN),
            "_bare_app:app",
            "--port",
            str(bare_port),
            "--log-level",
            "warning",
            "--no-access-log",
        ]
        bare_url = f"http://127.0.0.1:{bare_port}/api/v1/sdk/config"
        with process(bare, bare_url, {"BARE_BODY_FILE": str(body_file), "BARE_ETAG": etag}):
            bare_304 = wrk(
                bare_url, {**auth, "If-None-Match": etag}, args.seconds, args.connections
            )
            bare_200 = wrk(bare_url, auth, args.seconds, args.connections)
    print(
        f"GET /api/v1/sdk/config, {args.connections} connections, {args.seconds}s each, "
        f"body {len(response.content):,} bytes"
    )
    print(f"{'path':<6}{'rollwise req/s':>16}{'bare req/s':>12}{'ratio':>8}")
    for path, ours, theirs in (("304", rollwise_304, bare_304), ("200", rollwise_200, bare_200)):
        verdict = ""
        if path == "304":
            verdict = f"  target >= {TARGET_304}x: " + (
                "PASS" if ours / theirs >= TARGET_304 else "MISS"
            )
        print(f"{path:<6}{ours:>16,.0f}{theirs:>12,.0f}{ours / theirs:>8.2f}{verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
