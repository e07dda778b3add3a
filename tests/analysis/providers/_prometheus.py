"""A real Prometheus (Debian's ``prometheus`` binary) scraping a real exporter on loopback.

:func:`metrics_app` serves a :class:`RequestRecorder` through
:func:`rollwise.sdk.prometheus.register_recorder` on its own CollectorRegistry, with
prometheus-client's HTTP server on a free loopback port. :func:`run_prometheus` starts the
binary itself (never the system service) on another free loopback port, with a temporary
config scraping that app every second, storage in a temporary directory and basic auth on
its API, and stops it on the way out whatever happens.

A missing binary fails the tests that need it: ``make test`` installs it.
"""

from __future__ import annotations

import itertools
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from prometheus_client import CollectorRegistry, start_http_server

from rollwise.analysis import MetricQuery
from rollwise.analysis.providers import PrometheusConfig
from rollwise.sdk.prometheus import register_recorder
from rollwise.sdk.recorder import RequestRecorder

from ..._support.net import free_port

USERNAME = "rollwise"
PASSWORD = "rollwise-test-password"
PASSWORD_HASH = "$2b$04$hFFcrhKgzUMVbbHezLEo2OPRQ9PjgeSFb0Id30lB5qbVL6FEvzUH6"
"""bcrypt (cost 4, cheap to check) of PASSWORD, for Prometheus' --web.config.file."""
TARGET_LABELS = {"namespace": "prod", "rollwise_environment": "production"}
"""Labels Prometheus attaches to every scraped series (for matchers and environment_label)."""
SCRAPE_SECONDS = 1
DEADLINE = 60.0

_flags = itertools.count()
"""Makes every Step's flag its own: tests share one Prometheus and never interfere."""


def instant(seconds: float) -> datetime:
    """A Prometheus sample timestamp (float seconds, millisecond resolution) as a datetime."""
    ms = round(seconds * 1000)
    return datetime.fromtimestamp(ms // 1000, UTC) + timedelta(milliseconds=ms % 1000)


@contextmanager
def metrics_app(recorder: RequestRecorder) -> Iterator[str]:
    """Serve ``recorder``'s metrics on loopback; yield ``host:port`` for the scrape config."""
    registry = CollectorRegistry()
    register_recorder(recorder, registry)
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    try:
        yield f"127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@dataclass
class PrometheusServer:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, auth=(USERNAME, PASSWORD), timeout=10)

    def api(self, promql: str) -> list[dict[str, Any]]:
        """The ``result`` of an instant query now (a vector or a matrix)."""
        with self.client() as http:
            response = http.get("/api/v1/query", params={"query": promql})
        body = response.json()
        assert body["status"] == "success", body
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def scrapes(self, flag: str, seconds: int = 60) -> dict[float, float]:
        """Request totals of ``flag`` (all series) at each scrape instant of the last seconds."""
        totals: dict[float, float] = {}
        for series in self.api(f'rollwise_requests_total{{flag="{flag}"}}[{seconds}s]'):
            for at, value in series["values"]:
                totals[float(at)] = totals.get(float(at), 0.0) + float(value)
        return totals

    def wait_for(self, what: str, found: Callable[[], Any]) -> Any:
        """Poll ``found`` until it gives something truthy; fail with the log at the deadline."""
        deadline = time.monotonic() + DEADLINE
        while True:
            value = found()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"prometheus never showed {what}; log:\n{self.tail()}")
            time.sleep(0.2)

    def scrape_with_total(self, flag: str, total: float, *, after: float = 0.0) -> float:
        """The latest scrape instant (after ``after``) at which ``flag`` totals ``total``."""

        def latest() -> float | None:
            matching = [t for t, v in self.scrapes(flag).items() if v == total and t > after]
            return max(matching) if matching else None

        found: float = self.wait_for(f"{flag} at {total} requests", latest)
        return found

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""


def config(prometheus: PrometheusServer, **extra: Any) -> PrometheusConfig:
    settings: dict[str, Any] = {
        "url": prometheus.url,
        "basic_auth": {"username": USERNAME, "password": PASSWORD},
        **extra,
    }
    return PrometheusConfig.model_validate(settings)


def record(
    recorder: RequestRecorder,
    flag: str,
    variant: str,
    latencies: dict[float, int],
    *,
    errors: int = 0,
    client_errors: int = 0,
) -> int:
    """Record requests with ``latencies`` (value → how many); the first ones fail."""
    statuses = [500] * errors + [404] * client_errors
    index = 0
    for seconds, count in latencies.items():
        for _ in range(count):
            status = statuses[index] if index < len(statuses) else 200
            recorder.record(flag, variant, seconds, status)
            index += 1
    return index


class Step:
    """A flag's traffic between two scrape instants: ``before`` and ``after`` the burst."""

    def __init__(self, prometheus: PrometheusServer, recorder: RequestRecorder) -> None:
        self.prometheus = prometheus
        self.recorder = recorder
        self.flag = f"checkout-{next(_flags)}-{datetime.now(UTC):%H%M%S%f}"

    def warm_up(self, *variants: str) -> float:
        """One request per variant, so the series exist before the step (as in production)."""
        for variant in variants:
            self.recorder.record(self.flag, variant, 0.001, 200)
        self.warm = len(variants)
        self.before = self.prometheus.scrape_with_total(self.flag, self.warm)
        return self.before

    def burst(self, total: int, *, min_seconds: float = 0.0) -> float:
        """Wait for a scrape showing all ``total`` new requests, ``min_seconds`` after before."""
        after = self.prometheus.scrape_with_total(
            self.flag, self.warm + total, after=self.before + min_seconds
        )
        self.after = after
        return after

    def query(self, **changes: Any) -> MetricQuery:
        fields: dict[str, Any] = {
            "flag": self.flag,
            "environment": "production",
            "canary": "domain",
            "baseline": "legacy",
            "start": instant(self.before),
            "end": instant(self.after),
            **changes,
        }
        return MetricQuery(**fields)


def _config(directory: Path, target: str) -> tuple[Path, Path]:
    config = directory / "prometheus.yml"
    labels = "".join(f"\n          {name}: {value}" for name, value in TARGET_LABELS.items())
    config.write_text(
        f"""global:
  scrape_interval: {SCRAPE_SECONDS}s
  scrape_timeout: {SCRAPE_SECONDS}s
  evaluation_interval: {SCRAPE_SECONDS}s
scrape_configs:
  - job_name: app
    static_configs:
      - targets: ["{target}"]
        labels:{labels}
"""
    )
    web = directory / "web.yml"
    web.write_text(f'basic_auth_users:\n  {USERNAME}: "{PASSWORD_HASH}"\n')
    return config, web


@contextmanager
def run_prometheus(directory: Path, target: str) -> Iterator[PrometheusServer]:
    """Start Prometheus scraping ``target`` every second; stop it on exit, always."""
    binary = shutil.which("prometheus") or (
        "/usr/bin/prometheus" if Path("/usr/bin/prometheus").exists() else None
    )
    if binary is None:
        raise RuntimeError(
            "the prometheus binary is missing: `apt-get install -y --no-install-recommends "
            "prometheus` (make test installs it)"
        )
    config, web = _config(directory, target)
    for _attempt in range(3):  # a free port can be taken between probing and binding
        port = free_port()
        log = directory / f"prometheus-{port}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [
                    binary,
                    f"--config.file={config}",
                    f"--web.config.file={web}",
                    f"--storage.tsdb.path={directory / 'data'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                    "--log.level=warn",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        server = PrometheusServer(f"http://127.0.0.1:{port}", process, log)
        try:
            if _ready(server):
                yield server
                return
        finally:
            _stop(process)
    raise RuntimeError(f"prometheus did not start; last log:\n{server.tail()}")


def _ready(server: PrometheusServer) -> bool:
    deadline = time.monotonic() + DEADLINE
    with server.client() as http:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                return False
            try:
                if http.get("/-/ready").status_code == 200:
                    return True
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
