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
   Prints the time to open them all, the propagation percentiles, and the server's RSS
   growth per open stream. Target: propagation p99 < 1 s, every stream hears every change.

    .venv/bin/python bench/fanout.py [--pollers 2000] [--streams 10000] [--tokens 50]

The open-file limit is raised to its hard limit (both processes need one descriptor per
connection; 10,000 streams need a hard limit above 10,100).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from _serve import free_port, running_serve

ADMIN = "bench-admin-token-0123456789"
FLAG = "fanout"
ENVIRONMENT = "production"
STATE = f"/api/v1/flags/{FLAG}/environments/{ENVIRONMENT}"
POLL_P99_TARGET = 0.100
PROPAGATION_P99_TARGET = 1.0


def raise_open_file_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used (load on the machine does not count)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {ADMIN}"}) as admin:
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


# -- the load generator (its own process) --------------------------------------------------


class Http:
    """One keep-alive HTTP/1.1 connection, just enough for these requests."""

    def __init__(self, host: str, port: int, source: str) -> None:
        self.host, self.port, self.source = host, port, source
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(
            self.host, self.port, local_addr=(self.source, 0)
        )

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def get(self, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str]]:
        assert self.reader is not None
        assert self.writer is not None
        lines = [f"GET {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        fields = {}
        for line in header_lines:
            if line:
                name, _, value = line.partition(":")
                fields[name.strip().lower()] = value.strip()
        length = int(fields.get("content-length", "0"))
        if length:
            await self.reader.readexactly(length)
        if fields.get("connection", "").lower() == "close":
            self.close()
        return int(status_line.split()[1]), fields


@dataclass
class PollStats:
    latencies: list[float] = field(default_factory=list)
    first: list[float] = field(default_factory=list)  # each SDK's first poll (cold token)
    errors: list[str] = field(default_factory=list)
    connects: int = 0
    closed_by_server: int = 0


def source_address(n: int, addresses: int) -> str:
    """SDK ``n``'s own loopback address (127.0.0.0/8 is all loopback): SDKs run on many
    hosts, and the control plane limits failed authentications per client address."""
    k = n % addresses
    return f"127.{1 + k // 62500}.{k // 250 % 250}.{k % 250 + 1}"


async def poller(
    host: str, port: int, source: str, token: str, interval: float, rounds: int, stats: PollStats
) -> None:
    await asyncio.sleep(random.uniform(0, interval))
    http = Http(host, port, source)
    etag: str | None = None
    for round_ in range(rounds):
        started = time.monotonic()
        headers = {"Authorization": f"Bearer {token}"}
        if etag:
            headers["If-None-Match"] = etag
        for attempt in (1, 2):  # a kept connection the server closed meanwhile: reconnect
            try:
                if http.writer is None:
                    await http.connect()
                    stats.connects += 1
                status, fields = await http.get("/api/v1/sdk/config", headers)
                break
            except (OSError, asyncio.IncompleteReadError) as error:
                http.close()
                if attempt == 2:
                    stats.errors.append(repr(error))
                    status, fields = 0, {}
                else:
                    stats.closed_by_server += 1
        (stats.first if round_ == 0 else stats.latencies).append(time.monotonic() - started)
        if status in (200, 304):
            etag = fields.get("etag", etag)
        elif status:
            stats.errors.append(f"status {status}")
        await asyncio.sleep(max(0.0, started + interval - time.monotonic()))
    http.close()


MARK = b"event: config"


@dataclass
class StreamState:
    events: list[float] = field(default_factory=list)  # monotonic time of each config event
    error: str | None = None
    changed: asyncio.Event = field(default_factory=asyncio.Event)  # an event came, or the end


async def stream(
    host: str,
    port: int,
    source: str,
    token: str,
    state: StreamState,
    stop: asyncio.Event,
    heard: dict[int, int],
) -> None:
    """One event stream; ``heard[k]`` counts the streams that received ``k`` events."""
    try:
        reader, writer = await asyncio.open_connection(host, port, local_addr=(source, 0))
    except OSError as error:
        state.error = repr(error)
        state.changed.set()
        return
    try:
        request = (
            f"GET /api/v1/sdk/stream HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Authorization: Bearer {token}\r\n\r\n"
        )
        writer.write(request.encode())
        head = await reader.readuntil(b"\r\n\r\n")
        if b" 200 " not in head.split(b"\r\n", 1)[0]:
            state.error = head.split(b"\r\n", 1)[0].decode()
            return
        tail = b""
        while not stop.is_set():
            chunk = await reader.read(65536)
            if not chunk:
                state.error = "closed by the server"
                return
            now = time.monotonic()
            data = tail + chunk
            found = data.count(MARK)
            if found:
                for _ in range(found):
                    state.events.append(now)
                    heard[len(state.events)] = heard.get(len(state.events), 0) + 1
                state.changed.set()
            tail = data[-(len(MARK) - 1) :]
    except (OSError, asyncio.IncompleteReadError) as error:
        state.error = repr(error)
    finally:
        state.changed.set()
        writer.close()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def change_flag(host: str, port: int, share: int) -> tuple[float, float]:
    """Change the flag through the API; returns the monotonic time just before the PUT."""
    async with httpx.AsyncClient(
        base_url=f"http://{host}:{port}", headers={"Authorization": f"Bearer {ADMIN}"}
    ) as admin:
        version = (await admin.get(STATE)).json()["version"]
        body = {"split": {"off": 10000 - share, "on": share}, "version": version}
        sent = time.monotonic()
        (await admin.put(STATE, json=body)).raise_for_status()
        return sent, time.monotonic() - sent


async def streams_phase(
    config: dict[str, Any],
    port: int,
    server_pid: int,
    change_once: Callable[[int], Awaitable[tuple[float, float]]],
) -> dict[str, Any]:
    """Open the streams, make the changes, time each stream's receipt of each."""
    host, tokens = config["host"], config["tokens"]
    before = rss_bytes(server_pid)
    states = [StreamState() for _ in range(config["streams"])]
    stop = asyncio.Event()
    heard: dict[int, int] = {}
    gate = asyncio.Semaphore(config["open_concurrency"])
    tasks: list[asyncio.Task[None]] = []
    started = time.monotonic()

    async def open_one(n: int) -> None:
        async with gate:
            source = source_address(n, config["addresses"] or len(states))
            token = tokens[n % len(tokens)]
            tasks.append(
                asyncio.ensure_future(stream(host, port, source, token, states[n], stop, heard))
            )
            await states[n].changed.wait()

    await asyncio.gather(*(open_one(n) for n in range(len(states))))
    opened = time.monotonic() - started
    open_errors = [s.error for s in states if s.error is not None]
    await asyncio.sleep(2.0)  # let the server settle before reading its memory
    after = rss_bytes(server_pid)
    live = [s for s in states if s.error is None]
    propagation: list[float] = []
    firsts: list[float] = []
    puts: list[float] = []
    cpu: list[float] = []
    missed = 0
    for change in range(config["changes"]):
        cpu_before = cpu_seconds(server_pid)
        sent, put = await change_once(change)
        puts.append(put)
        deadline = time.monotonic() + 30
        wanted = change + 2  # the first event, then one per change
        while time.monotonic() < deadline and heard.get(wanted, 0) < len(live):
            await asyncio.sleep(0.05)
        arrivals = []
        for s in live:
            if len(s.events) >= wanted:
                arrivals.append(s.events[wanted - 1] - sent)
            else:
                missed += 1
        cpu.append(cpu_seconds(server_pid) - cpu_before)
        propagation += arrivals
        firsts.append(min(arrivals, default=float("nan")))
        await asyncio.sleep(1.0)
    stop.set()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {
        "streams": len(states),
        "open_seconds": opened,
        "open_errors": len(open_errors),
        "open_error_samples": open_errors[:3],
        "rss_before": before,
        "rss_after": after,
        "per_stream_bytes": (after - before) / max(1, len(live)),
        "changes": config["changes"],
        "p50": percentile(propagation, 0.50),
        "p99": percentile(propagation, 0.99),
        "max": max(propagation) if propagation else float("nan"),
        "missed": missed,
        "first_median": percentile(firsts, 0.5),
        "put_median": percentile(puts, 0.5),
        "cpu_median": percentile(cpu, 0.5),
        "closed_meanwhile": sum(1 for s in live if s.error is not None),
    }


async def change_bare(host: str, port: int) -> tuple[float, float]:
    """Tell the bare server to send its next event to every stream."""
    sent = time.monotonic()
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(b"GET /change HTTP/1.1\r\nHost: bare\r\n\r\n")
    await reader.readuntil(b"\r\n\r\n")
    writer.close()
    return sent, time.monotonic() - sent


async def generate(config: dict[str, Any]) -> dict[str, Any]:
    host, port, tokens = config["host"], config["port"], config["tokens"]
    server_pid = config["server_pid"]
    result: dict[str, Any] = {}

    if config["pollers"]:
        stats = PollStats()
        started = time.monotonic()
        await asyncio.gather(
            *(
                poller(
                    host,
                    port,
                    source_address(n, config["addresses"] or config["pollers"]),
                    tokens[n % len(tokens)],
                    config["poll_interval"],
                    config["poll_rounds"],
                    stats,
                )
                for n in range(config["pollers"])
            )
        )
        result["poll"] = {
            "requests": len(stats.latencies) + len(stats.first),
            "first_p99": percentile(stats.first, 0.99),
            "seconds": time.monotonic() - started,
            "p50": percentile(stats.latencies, 0.50),
            "p99": percentile(stats.latencies, 0.99),
            "max": max(stats.latencies, default=float("nan")),
            "errors": len(stats.errors),
            "error_samples": stats.errors[:3],
            "connects": stats.connects,
            "closed_by_server": stats.closed_by_server,
        }

    if config["streams"]:
        result["streams"] = await streams_phase(
            config, port, server_pid, lambda change: change_flag(host, port, 2000 + 1000 * change)
        )
        bare_port = config["bare_port"]
        result["bare"] = await streams_phase(
            config, bare_port, config["bare_pid"], lambda _: change_bare(host, bare_port)
        )
    return result


def generator_main(config_json: str) -> None:
    raise_open_file_limit()
    config = json.loads(config_json)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    print(json.dumps(asyncio.run(generate(config))))


# -- the report --------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def report(
    args: argparse.Namespace, result: dict[str, Any], limit: int, load: tuple[float, ...]
) -> None:
    database = "SQLite" if args.database_url is None else args.database_url.split(":", 1)[0]
    print(
        f"open-file limit {limit}; {args.tokens} sdk tokens; "
        f"{args.addresses or 'one per SDK'} client addresses; {database}; one uvicorn worker; "
        f"load average before/after {load[0]:.1f}/{os.getloadavg()[0]:.1f} on "
        f"{os.cpu_count()} cores (other work on the machine inflates every figure)"
    )
    poll = result.get("poll")
    if poll:
        per_sdk = poll["connects"] / args.pollers
        print(
            f"\npolling: {args.pollers} SDKs every {args.poll_interval:g}s, "
            f"{poll['requests']} requests in {poll['seconds']:.0f}s"
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
    streams = result.get("streams")
    bare = result.get("bare")
    if streams:
        print(f"\nstreams: {streams['streams']} open event streams")
        print(
            f"  opened in {streams['open_seconds']:.1f}s, errors {streams['open_errors']}"
            f" (target 0: {verdict(streams['open_errors'] == 0)})"
        )
        if streams["open_error_samples"]:
            print(f"    e.g. {streams['open_error_samples']}")
        print(
            f"  propagation over {streams['changes']} changes: p50 {streams['p50'] * 1000:.0f} ms,"
            f" p99 {streams['p99'] * 1000:.0f} ms (target < {PROPAGATION_P99_TARGET:g} s: "
            f"{verdict(streams['p99'] < PROPAGATION_P99_TARGET)}), "
            f"max {streams['max'] * 1000:.0f} ms"
        )
        print(
            f"  (the PUT answered in {streams['put_median'] * 1000:.0f} ms and the first stream"
            f" heard of it after {streams['first_median'] * 1000:.0f} ms, medians)"
        )
        print(
            f"  server CPU per change (the PUT and telling every stream): "
            f"{streams['cpu_median'] * 1000:.0f} ms, median (the server's share of the "
            "propagation, machine load excluded)"
        )
        print(
            f"  missed events {streams['missed']} (target 0: {verdict(streams['missed'] == 0)}),"
            f" streams closed meanwhile {streams['closed_meanwhile']}"
        )
        print(
            f"  server RSS {streams['rss_before'] / 2**20:.0f} MB -> "
            f"{streams['rss_after'] / 2**20:.0f} MB: "
            f"{streams['per_stream_bytes'] / 1024:.1f} KB per stream"
        )
    if streams and bare:
        print(
            f"\nfloor, measured in the same run: a bare asyncio server writing the event to "
            f"{bare['streams']} sockets (bench/_bare_sse.py), errors {bare['open_errors']}"
        )
        print(
            f"  propagation p50 {bare['p50'] * 1000:.0f} ms, p99 {bare['p99'] * 1000:.0f} ms, "
            f"CPU per change {bare['cpu_median'] * 1000:.0f} ms, "
            f"{bare['per_stream_bytes'] / 1024:.1f} KB per stream"
        )
        print(
            f"  rollwise / floor: propagation p99 {streams['p99'] / bare['p99']:.1f}x, "
            f"CPU per change {streams['cpu_median'] / max(bare['cpu_median'], 1e-3):.1f}x, "
            "memory per stream "
            f"{streams['per_stream_bytes'] / max(bare['per_stream_bytes'], 1):.1f}x"
        )


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
    parser.add_argument("--generator", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generator:
        generator_main(args.generator)
        return
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
            [sys.executable, __file__, "--generator", json.dumps(config)],
            stdout=subprocess.PIPE,
            check=True,
        )
    report(args, json.loads(done.stdout), limit, load)


if __name__ == "__main__":
    main()
