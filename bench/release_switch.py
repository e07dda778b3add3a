"""Release switching through nginx: how soon every new request follows a committed split.

Starts a real ``rollwise serve`` (SQLite), Debian's nginx under a private prefix, two tiny
backends standing for releases v1 and v2, and the router agent (``RouterAgent`` with the
nginx router, following the control plane over its event stream). Then ``--switches``
times (default 100) it flips the flag between 100% v1 and 100% v2 through the API while
``--load-threads`` threads (default 4) send requests, each on a new connection, and counts
every request that fails.

For each switch it prints nothing; at the end:
- **switch**: from the moment the API committed the split (the PUT answered) to the first
  request of an unbroken run of ``--streak`` (default 20) requests on the new release —
  "every new request follows the new split" — p50/p99/max. Target: p99 < 2 s.
- **bare apply**: the same nginx render + ``nginx -t`` + reload + new workers, called
  directly (no control plane, no agent), measured in the same run as the baseline: the
  ratio says what the control plane and agent add.
- **failed requests** under load across all switches. Target: 0.

    .venv/bin/python bench/release_switch.py [--switches 100] [--load-threads 4]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

from _serve import free_port, running_serve
from rollwise.routing import AgentConfig, NginxRouter, RouterAgent, RouteSplit
from rollwise.routing.nginx import local_nginx

ADMIN = "bench-admin-token-0123456789"
FLAG = "release"
STATE = f"/api/v1/flags/{FLAG}/environments/production"


class _Release(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        body = self.server.release.encode()  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@contextmanager
def backends() -> Iterator[dict[str, list[str]]]:
    servers = []
    for release in ("v1", "v2"):
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Release)
        server.daemon_threads = True
        server.release = release  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    try:
        yield {
            release: [f"127.0.0.1:{server.server_address[1]}"]
            for release, server in zip(("v1", "v2"), servers, strict=True)
        }
    finally:
        for server in servers:
            server.shutdown()


class Load:
    """Requests on fresh connections until stopped; every failure is kept."""

    def __init__(self, url: str, threads: int) -> None:
        self.url = url
        self.stop = threading.Event()
        self.sent = 0
        self.failures: list[str] = []
        self._threads = [threading.Thread(target=self._run) for _ in range(threads)]

    def _run(self) -> None:
        limits = httpx.Limits(max_keepalive_connections=0)
        with httpx.Client(timeout=10, limits=limits) as client:
            while not self.stop.is_set():
                try:
                    response = client.get(self.url)
                    if response.status_code != 200:
                        self.failures.append(f"{response.status_code}")
                except httpx.HTTPError as error:
                    self.failures.append(repr(error))
                self.sent += 1

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join()


def time_to_follow(client: httpx.Client, url: str, release: str, streak: int) -> float:
    """Seconds from now until the first of ``streak`` consecutive answers from ``release``."""
    start = time.perf_counter()
    run_started: float | None = None
    run = 0
    while run < streak:
        sent = time.perf_counter()
        if client.get(url).text == release:
            run_started = sent if run == 0 else run_started
            run += 1
        else:
            run = 0
        if sent - start > 60:
            raise RuntimeError(f"nginx never settled on {release}")
    assert run_started is not None
    return run_started - start


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--switches", type=int, default=100)
    parser.add_argument("--load-threads", type=int, default=4)
    parser.add_argument("--streak", type=int, default=20)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as directory, backends() as upstreams:
        root = Path(directory)
        port = free_port()
        env = {**os.environ, "ROLLWISE_ADMIN_TOKEN": ADMIN}
        serve_args = ["--port", str(port), "--database-url", f"sqlite:///{root}/bench.db"]
        with (
            running_serve(serve_args, env, what=" for the release switch bench"),
            local_nginx(root) as nginx,
        ):
            url = f"http://127.0.0.1:{port}"
            admin = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {ADMIN}"})
            admin.post("/api/v1/environments", json={"key": "production"}).raise_for_status()
            admin.post("/api/v1/flags", json={"key": FLAG, "variants": ["v1", "v2"]})
            admin.put(STATE, json={"split": {"v1": 10_000}, "version": 0}).raise_for_status()
            token = admin.post(
                "/api/v1/tokens",
                json={"name": "router", "scope": "sdk", "environment": "production"},
            ).json()["secret"]
            router_config = nginx.router_config(upstreams)

            bare = NginxRouter(router_config)
            bare_times = []
            for n in range(20):
                weights = (("v1", 10_000), ("v2", 0)) if n % 2 else (("v1", 0), ("v2", 10_000))
                started = time.perf_counter()
                bare.apply(RouteSplit(FLAG, "production", n, weights, FLAG))
                bare_times.append(time.perf_counter() - started)

            config = AgentConfig(url=url, flag=FLAG, router={}, report_interval=3600)
            switch_times = []
            agent = RouterAgent(
                config, NginxRouter(router_config), router_type="nginx", token=token
            )
            with (
                agent,
                Load(nginx.url, args.load_threads) as load,
                httpx.Client(limits=httpx.Limits(max_keepalive_connections=0)) as probe,
            ):
                time_to_follow(probe, nginx.url, "v1", args.streak)
                for n in range(args.switches):
                    release = "v2" if n % 2 == 0 else "v1"
                    admin.put(
                        STATE, json={"split": {release: 10_000}, "version": n + 1}
                    ).raise_for_status()
                    switch_times.append(time_to_follow(probe, nginx.url, release, args.streak))
            print(
                f"switches: {len(switch_times)} (streak {args.streak}), load requests {load.sent}"
            )
            p50, p99 = percentile(switch_times, 0.5), percentile(switch_times, 0.99)
            b50, b99 = percentile(bare_times, 0.5), percentile(bare_times, 0.99)
            print(
                f"switch (commit -> every new request follows): p50 {p50:.3f} s  "
                f"p99 {p99:.3f} s  max {max(switch_times):.3f} s  (target p99 < 2 s)"
            )
            print(
                f"bare apply (render, nginx -t, reload, new workers): p50 {b50:.3f} s  "
                f"p99 {b99:.3f} s;  switch/bare p50 {p50 / b50:.2f}x"
            )
            print(f"mean switch {statistics.mean(switch_times):.3f} s")
            print(f"failed requests under load: {len(load.failures)} (target 0)")
            for failure in load.failures[:5]:
                print(f"  {failure}")
    sys.exit(0)


if __name__ == "__main__":
    main()
