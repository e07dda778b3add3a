"""Many SDKs on one control plane: 2,000 pollers, then 10,000 event streams.

Starts a real ``rollwise serve`` (SQLite, one uvicorn worker, controller off) on loopback,
seeds one environment, one flag and a few sdk tokens, and runs the load generator in a
separate process (asyncio over raw sockets, uvloop when installed), so that the server's
event loop has its core to itself as far as a 2-core machine allows.

1. **Polling**: ``--pollers`` SDKs (default 2,000) each keep one HTTP/1.1 connection and
   poll ``GET /api/v1/sdk/config`` with ``If-None-Match`` every ``--poll-interval`` seconds
   (default 15, starts spread over the interval) for ``--poll-rounds`` rounds. Prints the
   latency percentiles, the errors, and how many connections were opened per SDK (1.0: the
   server kept every idle connection between polls). Targets: p99 < 100 ms, 0 errors.
2. **Streams**: ``--streams`` (default 10,000) ``GET /api/v1/sdk/stream`` connections,
   opened ``--open-concurrency`` at a time; then ``--changes`` flag changes through the API,
   each timed from just before the PUT is sent to each stream's receipt of its event.
   Prints the time to open them all, the propagation p50/p95/p99, the server's RSS growth
   per open stream, and where the time goes: until the first stream hears of the change
   (the PUT itself), and the server CPU per stream told (a change's CPU minus that of a
   change made while no stream is open). Target: propagation p99 < 1 s, every stream hears
   every change.
3. **The floor**: the same streams and changes against ``_bare_sse.py`` (a bare asyncio
   server writing the event to every socket), in the same run: each figure's ratio to it
   holds whatever the load on the machine (printed next to every figure) is.

    .venv/bin/python bench/fanout.py [--pollers 2000] [--streams 10000] [--tokens 50]

The open-file limit is raised to its hard limit (both processes need one descriptor per
connection; 10,000 streams need a hard limit above 10,100).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from _fanout_load import ADMIN, ENVIRONMENT, FLAG, STATE, raise_open_file_limit
from _serve import free_port, running_serve

POLL_P99_TARGET = 0.100
PROPAGATION_P99_TARGET = 1.0


# -- the control plane ---------------------------------------------------------------------


@contextmanager
def control_plane(directory: Path, database_url: str | None) -> Iterator[tuple[str, int]]:
    port = free_port()
    env = {
        **os.environ,
        "ROLLWISE_DATABASE_URL": database_url or f"sqlite:///{directory / 'fanout.db'}",
        "ROLLWISE_ADMIN_TOKEN": ADMIN,
        "ROLLWISE_HOST": "127.0.0.1",
        "ROLLWISE_PORT": str(port),
        "ROLLWISE_CONTROLLER": "off",
    }
    url = f"http://127.0.0.1:{port}"
    with (
        (directory / "serve.log").open("w") as log,
        running_serve(
            ["--log-level", "warning"], env, log=log, what=f": {directory / 'serve.log'}"
        ) as proc,
    ):
        yield url, proc.pid


@contextmanager
def bare_server() -> Iterator[tuple[int, int]]:
    """The floor for the streams: ``_bare_sse.py`` (one write per socket, nothing else)."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("_bare_sse.py")), str(port)]
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the bare SSE server did not start") from None
                time.sleep(0.05)
        yield port, proc.pid
    finally:
        proc.terminate()
        proc.wait(15)


def seed(url: str, tokens: int) -> list[str]:
    with httpx.Client(
        base_url=url, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=60
    ) as admin:
        admin.post("/api/v1/environments", json={"key": ENVIRONMENT}).raise_for_status()
        admin.post(
            "/api/v1/flags", json={"key": FLAG, "variants": ["off", "on"]}
        ).raise_for_status()
        state = {"split": {"off": 9000, "on": 1000}, "version": 0}
        admin.put(STATE, json=state).raise_for_status()
        secrets = []
        for n in range(tokens):
            body = {"name": f"service-{n}", "scope": "sdk", "environment": ENVIRONMENT}
            created = admin.post("/api/v1/tokens", json=body)
            created.raise_for_status()
            secrets.append(created.json()["secret"])
        return secrets


# -- the report --------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def loads(pair: list[float]) -> str:
    return f"load {pair[0]:.1f}->{pair[1]:.1f}"


def report_polling(args: argparse.Namespace, poll: dict[str, Any]) -> None:
    per_sdk = poll["connects"] / args.pollers
    print(
        f"\npolling: {args.pollers} SDKs every {args.poll_interval:g}s, "
        f"{poll['requests']} requests in {poll['seconds']:.0f}s ({loads(poll['load'])})"
    )
    print(
        f"  latency after the first poll: p50 {poll['p50'] * 1000:.1f} ms, "
        f"p99 {poll['p99'] * 1000:.1f} ms "
        f"(target < {POLL_P99_TARGET * 1000:.0f} ms: {verdict(poll['p99'] < POLL_P99_TARGET)}),"
        f" max {poll['max'] * 1000:.1f} ms"
    )
    print(f"  (each SDK's first poll, counted apart: p99 {poll['first_p99'] * 1000:.1f} ms)")
    print(f"  errors {poll['errors']} (target 0: {verdict(poll['errors'] == 0)})")
    if poll["error_samples"]:
        print(f"    e.g. {poll['error_samples']}")
    print(
        f"  connections opened per SDK {per_sdk:.2f} over {args.poll_rounds} polls "
        f"(1.00: idle connections kept between polls: {verdict(per_sdk <= 1.01)}); "
        f"closed by the server while idle: {poll['closed_by_server']}"
    )


def report_streams(streams: dict[str, Any], bare: dict[str, Any]) -> None:
    n = streams["streams"]
    print(f"\nstreams: {n} open event streams")
    print(
        f"  opened in {streams['open_seconds']:.1f}s ({loads(streams['load_open'])}; "
        f"floor {bare['open_seconds']:.1f}s, {loads(bare['load_open'])}), "
        f"errors {streams['open_errors']} (target 0: {verdict(streams['open_errors'] == 0)})"
    )
    if streams["open_error_samples"]:
        print(f"    e.g. {streams['open_error_samples']}")
    print(
        f"  memory: server RSS {streams['rss_before'] / 2**20:.0f} MB -> "
        f"{streams['rss_after'] / 2**20:.0f} MB: {streams['per_stream_bytes'] / 1024:.1f} KB "
        f"per stream (floor {bare['per_stream_bytes'] / 1024:.1f} KB: "
        f"{streams['per_stream_bytes'] / max(bare['per_stream_bytes'], 1):.1f}x)"
    )
    print(
        f"  propagation over {streams['changes']} changes ({loads(streams['load_changes'])}): "
        f"p50 {ms(streams['p50'])}, p95 {ms(streams['p95'])}, p99 {ms(streams['p99'])} "
        f"(target < {PROPAGATION_P99_TARGET:g} s: "
        f"{verdict(streams['p99'] < PROPAGATION_P99_TARGET)}), max {ms(streams['max'])}"
    )
    print(
        f"  floor, same run ({loads(bare['load_changes'])}): p50 {ms(bare['p50'])}, "
        f"p95 {ms(bare['p95'])}, p99 {ms(bare['p99'])}; rollwise / floor: "
        + ", ".join(f"{q} {streams[q] / bare[q]:.2f}x" for q in ("p50", "p95", "p99"))
    )
    print(
        f"  where the time goes (medians): the first stream heard after "
        f"{ms(streams['first_median'])} (the PUT committed and the document rebuilt; floor "
        f"{ms(bare['first_median'])}); the PUT answered after {ms(streams['put_median'])} "
        f"(alone, no stream open: {ms(streams['quiet_put'])})"
    )
    fan_out = max(streams["cpu_median"] - streams["quiet_cpu"], 0.0)
    floor = max(bare["cpu_median"] - bare["quiet_cpu"], 1e-3)
    print(
        f"  server CPU per change {ms(streams['cpu_median'])}, of which the change alone "
        f"(no stream open) {ms(streams['quiet_cpu'])}: telling the streams "
        f"{fan_out / n * 1e6:.1f} us per stream; floor {floor / n * 1e6:.1f} us "
        f"({fan_out / floor:.2f}x; CPU time: machine load excluded)"
    )
    print(
        f"  missed events {streams['missed']} (target 0: {verdict(streams['missed'] == 0)}),"
        f" streams closed meanwhile {streams['closed_meanwhile']}; floor: errors "
        f"{bare['open_errors']}, missed {bare['missed']}"
    )


def report(
    args: argparse.Namespace, result: dict[str, Any], limit: int, load: tuple[float, ...]
) -> None:
    database = "SQLite" if args.database_url is None else args.database_url.split(":", 1)[0]
    print(
        f"open-file limit {limit}; {args.tokens} sdk tokens; "
        f"{args.addresses or 'one per SDK'} client addresses; {database}; one uvicorn worker; "
        f"load average before/after {load[0]:.1f}/{os.getloadavg()[0]:.1f} on "
        f"{os.cpu_count()} cores (other work on the machine inflates every wall-clock figure: "
        "compare with the floor, a bare asyncio server (bench/_bare_sse.py) measured in the "
        "same run)"
    )
    if result.get("poll"):
        report_polling(args, result["poll"])
    if result.get("streams") and result.get("bare"):
        report_streams(result["streams"], result["bare"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pollers", type=int, default=2000)
    parser.add_argument("--poll-interval", type=float, default=15.0)
    parser.add_argument("--poll-rounds", type=int, default=3)
    parser.add_argument("--streams", type=int, default=10000)
    parser.add_argument("--open-concurrency", type=int, default=200)
    parser.add_argument("--changes", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=50)
    parser.add_argument(
        "--addresses", type=int, default=0, help="client addresses (default: one per SDK)"
    )
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    args = parser.parse_args()
    limit = raise_open_file_limit()  # inherited by both child processes
    needed = max(args.pollers, args.streams) + 100
    if limit < needed:
        sys.exit(f"fanout: the open-file limit is {limit}; {needed} are needed (ulimit -Hn)")
    load = os.getloadavg()
    with (
        tempfile.TemporaryDirectory() as directory,
        control_plane(Path(directory), args.database_url) as (url, pid),
        bare_server() as (bare_port, bare_pid),
    ):
        tokens = seed(url, args.tokens)
        config = {
            "host": "127.0.0.1",
            "port": int(url.rsplit(":", 1)[1]),
            "server_pid": pid,
            "tokens": tokens,
            "pollers": args.pollers,
            "poll_interval": args.poll_interval,
            "poll_rounds": args.poll_rounds,
            "streams": args.streams,
            "open_concurrency": args.open_concurrency,
            "changes": args.changes,
            "addresses": args.addresses,
            "bare_port": bare_port,
            "bare_pid": bare_pid,
        }
        done = subprocess.run(
            [sys.executable, str(Path(__file__).with_name("_fanout_load.py")), json.dumps(config)],
            stdout=subprocess.PIPE,
            check=True,
        )
    report(args, json.loads(done.stdout), limit, load)


if __name__ == "__main__":
    main()
