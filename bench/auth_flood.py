"""Legitimate writes while another process floods the control plane with unknown tokens.

Starts a real `rollwise serve` (SQLite unless --database-url, controller off) on loopback
and measures the median of legitimate writes (`POST /api/v1/flags`, one at a time, an
admin token) unloaded (half before the flood, half after) and while a second process sends
requests with made-up tokens (each one different, so no cache can help; GETs over 32
keep-alive connections) at --rate per second from the same loopback address. Prints both
medians, the flood's achieved rate and answers, and the ratio.
Target: loaded p50 <= 2x unloaded p50.

    .venv/bin/python bench/auth_flood.py [--writes 200] [--rate 450] [--database-url URL]
                                         [--without-limiter]

--without-limiter runs it a second time with ROLLWISE_AUTH_FAILURE_BURST=0: every made-up
token is then looked up (a read), which shows what the read-only lookup alone costs.

The flood process is this script with --flood URL (it runs until killed).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from _serve import free_port, running_serve

ADMIN = "bench-admin-token-0123456789"
TARGET = 2.0


@contextmanager
def serve(database_url: str, extra_env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "ROLLWISE_ADMIN_TOKEN": ADMIN, "ROLLWISE_CONTROLLER": "off"}
    env.update(extra_env)
    args = ["--port", str(port), "--database-url", database_url, "--log-level", "warning"]
    with running_serve(args, env):
        yield f"http://127.0.0.1:{port}"


@contextmanager
def flood(url: str, rate: float, report: Path) -> Iterator[None]:
    command = [sys.executable, __file__, "--flood", url, "--rate", str(rate)]
    command += ["--report", str(report)]
    proc = subprocess.Popen(command)
    try:
        deadline = time.monotonic() + 60
        while not report.with_suffix(".started").exists():  # the flood's imports take a while
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the flood process did not start")
            time.sleep(0.05)
        time.sleep(1.0)  # let it reach its rate (and the limiter engage)
        yield
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


def writes(client: httpx.Client, count: int, tag: str) -> tuple[list[float], int]:
    """Seconds of each of ``count`` flag creations, one at a time, and how many failed."""
    samples: list[float] = []
    failed = 0
    for n in range(count):
        start = time.perf_counter()
        response = client.post(
            "/api/v1/flags", json={"key": f"{tag}-{n}", "variants": ["off", "on"]}
        )
        samples.append(time.perf_counter() - start)
        if response.status_code != 201:
            failed += 1
    return samples, failed


async def _flood(url: str, rate: float, report: Path) -> None:
    """``rate`` requests a second over 32 keep-alive connections, hand-written HTTP/1.1 (a
    full HTTP client costs more CPU than the server spends answering)."""
    counts: collections.Counter[str] = collections.Counter()
    host, port = url.removeprefix("http://").split(":")
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGINT, stop.set)
    connections = 32
    started = time.perf_counter()
    sent = 0

    async def connection() -> None:
        nonlocal sent
        while not stop.is_set():
            try:
                reader, writer = await asyncio.open_connection(host, int(port))
            except OSError as error:
                counts[type(error).__name__] += 1
                await asyncio.sleep(0.1)
                continue
            try:
                while not stop.is_set():
                    due = (time.perf_counter() - started) * rate
                    if sent >= due:
                        await asyncio.sleep(min(0.01, (sent + 1 - due) / rate))
                        continue
                    sent += 1
                    token = f"rw_write_{secrets.token_urlsafe(24)}"
                    writer.write(
                        f"GET /api/v1/flags HTTP/1.1\r\nHost: {host}\r\n"
                        f"Authorization: Bearer {token}\r\n\r\n".encode()
                    )
                    head = await reader.readuntil(b"\r\n\r\n")
                    status = head.split(b" ", 2)[1].decode()
                    length = 0
                    for line in head.split(b"\r\n"):
                        if line.lower().startswith(b"content-length:"):
                            length = int(line.split(b":", 1)[1])
                    await reader.readexactly(length)
                    counts[status] += 1
                    if b"connection: close" in head.lower():
                        break
            except (OSError, asyncio.IncompleteReadError) as error:
                counts[type(error).__name__] += 1
            finally:
                writer.close()

    report.with_suffix(".started").touch()
    tasks = [asyncio.create_task(connection()) for _ in range(connections)]
    await stop.wait()
    elapsed = time.perf_counter() - started
    answered = dict(counts)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    report.write_text(json.dumps({"seconds": elapsed, "answers": answered, "sent": sent}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--writes", type=int, default=200)
    parser.add_argument("--rate", type=float, default=450.0)
    parser.add_argument("--database-url", default=None)
    parser.add_argument(
        "--without-limiter", action="store_true", help="also run with the limiter off"
    )
    parser.add_argument("--flood", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--report", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.flood:
        asyncio.run(_flood(args.flood, args.rate, Path(args.report)))
        return
    scenarios: list[tuple[str, dict[str, str]]] = [("failed-auth limiter on (default)", {})]
    if args.without_limiter:
        scenarios.append(
            ("limiter off: every token looked up", {"ROLLWISE_AUTH_FAILURE_BURST": "0"})
        )
    for label, extra_env in scenarios:
        run(label, extra_env, args)


def run(label: str, extra_env: dict[str, str], args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as work:
        database_url = args.database_url or f"sqlite:///{Path(work) / 'bench.db'}"
        report = Path(work) / "flood.json"
        with serve(database_url, extra_env) as url:
            headers = {"Authorization": f"Bearer {ADMIN}"}
            with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
                tag = secrets.token_hex(4)
                writes(client, 50, f"warm-{tag}")
                half = args.writes // 2
                before, failed_before = writes(client, half, f"quiet-{tag}")
                with flood(url, args.rate, report):
                    during, failed_loaded = writes(client, args.writes, f"flooded-{tag}")
                after, failed_after = writes(client, half, f"after-{tag}")
                healthy = client.get("/healthz").status_code == 200
        unloaded = statistics.median(before + after)  # half before, half after: no drift
        loaded = statistics.median(during)
        failed_unloaded = failed_before + failed_after
        flooded = json.loads(report.read_text())
    answers = flooded["answers"]
    achieved = sum(answers.values()) / flooded["seconds"]
    ratio = loaded / unloaded
    print(f"== {label}; database: {database_url.split(':')[0]}")
    print(f"legitimate write p50, unloaded:  {unloaded * 1000:8.1f} ms  ({failed_unloaded} failed)")
    print(f"legitimate write p50, flooded:   {loaded * 1000:8.1f} ms  ({failed_loaded} failed)")
    print(
        f"flood: {achieved:.0f} requests/s answered ({flooded['sent']} sent) with unknown "
        f"tokens, answers {answers}"
    )
    print(f"server healthy afterwards: {healthy}")
    verdict = "ok" if ratio <= TARGET and not failed_loaded else "MISSED"
    print(f"ratio flooded/unloaded: {ratio:.2f}x (target <= {TARGET:.1f}x) {verdict}")


if __name__ == "__main__":
    main()
