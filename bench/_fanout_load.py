"""``fanout.py``'s load generator, run as its own process: pollers, then event streams.

    python bench/_fanout_load.py CONFIG_JSON     (prints the figures as one JSON object)

asyncio over raw sockets (uvloop when installed), so that the server's event loop has its
core to itself as far as a 2-core machine allows. Every figure carries the load average
read when its phase began and ended (other work on the machine inflates wall-clock times).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import resource
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ADMIN = "bench-admin-token-0123456789"
FLAG = "fanout"
ENVIRONMENT = "production"
STATE = f"/api/v1/flags/{FLAG}/environments/{ENVIRONMENT}"
QUIET_CHANGES = 3
"""Changes made before any stream is open: what a change costs the server by itself."""


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


def load() -> float:
    return os.getloadavg()[0]


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
    """Change the flag through the API; returns the monotonic time just before the PUT,
    and how long the PUT took."""
    async with httpx.AsyncClient(
        base_url=f"http://{host}:{port}", headers={"Authorization": f"Bearer {ADMIN}"}, timeout=60
    ) as admin:
        version = (await admin.get(STATE)).json()["version"]
        body = {"split": {"off": 10000 - share, "on": share}, "version": version}
        sent = time.monotonic()
        (await admin.put(STATE, json=body)).raise_for_status()
        return sent, time.monotonic() - sent


async def change_bare(host: str, port: int) -> tuple[float, float]:
    """Tell the bare server to send its next event to every stream."""
    sent = time.monotonic()
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(b"GET /change HTTP/1.1\r\nHost: bare\r\n\r\n")
    await reader.readuntil(b"\r\n\r\n")
    writer.close()
    return sent, time.monotonic() - sent


Change = Callable[[int], Awaitable[tuple[float, float]]]


async def quiet_cost(server_pid: int, change_once: Change) -> dict[str, float]:
    """Server CPU and wall time of a change while no stream is open (medians)."""
    cpu, puts = [], []
    for change in range(QUIET_CHANGES):
        before = cpu_seconds(server_pid)
        _, put = await change_once(change)
        await asyncio.sleep(0.3)  # whatever the change set off afterwards, counted too
        cpu.append(cpu_seconds(server_pid) - before)
        puts.append(put)
    return {"cpu": percentile(cpu, 0.5), "put": percentile(puts, 0.5)}


async def streams_phase(
    config: dict[str, Any], port: int, server_pid: int, change_once: Change
) -> dict[str, Any]:
    """Open the streams, make the changes, time each stream's receipt of each."""
    host, tokens = config["host"], config["tokens"]
    quiet = await quiet_cost(server_pid, change_once)
    before = rss_bytes(server_pid)
    states = [StreamState() for _ in range(config["streams"])]
    stop = asyncio.Event()
    heard: dict[int, int] = {}
    gate = asyncio.Semaphore(config["open_concurrency"])
    tasks: list[asyncio.Task[None]] = []
    load_open = load()
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
    load_opened = load()
    open_errors = [s.error for s in states if s.error is not None]
    await asyncio.sleep(2.0)  # let the server settle before reading its memory
    after = rss_bytes(server_pid)
    live = [s for s in states if s.error is None]
    propagation: list[float] = []
    firsts: list[float] = []
    puts: list[float] = []
    cpu: list[float] = []
    missed = 0
    load_changes = load()
    for change in range(QUIET_CHANGES, QUIET_CHANGES + config["changes"]):
        wanted = change - QUIET_CHANGES + 2  # the first event, then one per change
        cpu_before = cpu_seconds(server_pid)
        sent, put = await change_once(change)
        puts.append(put)
        deadline = time.monotonic() + 30
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
        "load_open": (load_open, load_opened),
        "rss_before": before,
        "rss_after": after,
        "per_stream_bytes": (after - before) / max(1, len(live)),
        "changes": config["changes"],
        "load_changes": (load_changes, load()),
        "p50": percentile(propagation, 0.50),
        "p95": percentile(propagation, 0.95),
        "p99": percentile(propagation, 0.99),
        "max": max(propagation) if propagation else float("nan"),
        "missed": missed,
        "first_median": percentile(firsts, 0.5),
        "put_median": percentile(puts, 0.5),
        "cpu_median": percentile(cpu, 0.5),
        "quiet_cpu": quiet["cpu"],
        "quiet_put": quiet["put"],
        "live": len(live),
        "closed_meanwhile": sum(1 for s in live if s.error is not None),
    }


async def generate(config: dict[str, Any]) -> dict[str, Any]:
    host, port, tokens = config["host"], config["port"], config["tokens"]
    server_pid = config["server_pid"]
    result: dict[str, Any] = {}

    if config["pollers"]:
        stats = PollStats()
        load_poll = load()
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
            "load": (load_poll, load()),
        }

    if config["streams"]:
        result["streams"] = await streams_phase(
            config, port, server_pid, lambda change: change_flag(host, port, 1000 + 500 * change)
        )
        bare_port = config["bare_port"]
        result["bare"] = await streams_phase(
            config, bare_port, config["bare_pid"], lambda _: change_bare(host, bare_port)
        )
    return result


def main(config_json: str) -> None:
    raise_open_file_limit()
    config = json.loads(config_json)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    print(json.dumps(asyncio.run(generate(config))))


if __name__ == "__main__":
    main(sys.argv[1])
