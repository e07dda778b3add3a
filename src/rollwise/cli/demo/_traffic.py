"""Traffic for the demo: a few hundred clients using the camera service as operators would.

Threads (each with its own keep-alive connection) send a weighted mix of camera and
alert-rule calls at a steady total rate, each from a client id (``X-Client-Id``) drawn from
a fixed population, so that the flag's sticky split decides who gets ``domain``. A few
calls carry input the domain service refuses and legacy accepts (4xx are client errors,
not failures of a variant). Every answer is counted by the variant that served it
(``X-Camera-Variant``; through nginx, the release in ``X-Rollwise-Release``), which is what
the demo shows as the traffic's live split. A keep-alive connection that a reloading nginx
closes just as a request goes out is retried once on a new connection, as HTTP clients do.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

__all__ = ["CAMERAS", "RULES", "Traffic", "TrafficCounts"]

CAMERAS = ("lobby", "loading-dock", "parking-north", "parking-south", "west-gate", "server-room")
"""The demo's cameras (see the demo's ``cameras.yaml``); ``lobby`` and ``loading-dock`` run."""
RULES = ("lobby-low-fps", "stale-heartbeat", "dock-dropped-frames", "gate-cpu")
"""The demo's alert rules (see its ``alert_rules.yaml``)."""


@dataclass(frozen=True, slots=True)
class Call:
    method: str
    path: str
    body: Any = None
    params: dict[str, Any] | None = None


def _status(rng: random.Random) -> Call:
    return Call("GET", f"/api/v1/cameras/{rng.choice(CAMERAS)}/status")


def _batch(rng: random.Random) -> Call:
    return Call(
        "POST",
        "/api/v1/cameras/batch-status",
        {"camera_ids": rng.sample(CAMERAS, rng.randint(2, 4))},
    )


def _logs(rng: random.Random) -> Call:
    camera = rng.choice(CAMERAS[:2])
    return Call("GET", f"/api/v1/cameras/{camera}/logs", params={"lines": rng.choice((10, 20, 50))})


def _rules(rng: random.Random) -> Call:
    return Call("GET", "/api/v1/alerts/rules")


def _rule(rng: random.Random) -> Call:
    return Call("GET", f"/api/v1/alerts/rules/{rng.choice(RULES)}")


def _toggle_rule(rng: random.Random) -> Call:
    return Call("PUT", "/api/v1/alerts/rules/dock-dropped-frames", {"enabled": rng.random() < 0.5})


def _refresh(rng: random.Random) -> Call:
    return Call("POST", "/api/v1/cameras/refresh")


def _restart(rng: random.Random) -> Call:
    return Call("POST", "/api/v1/cameras/loading-dock/restart")


def _sloppy(rng: random.Random) -> Call:
    """Input legacy accepts and the domain service refuses (a 4xx: not a failure)."""
    if rng.random() < 0.5:
        return Call("GET", "/api/v1/cameras/lobby/logs", params={"lines": 0})
    return Call("POST", "/api/v1/cameras/batch-status", {"camera_ids": ["lobby", "attic"]})


_MIX: tuple[tuple[Callable[[random.Random], Call], float], ...] = (
    (_status, 40.0),
    (_batch, 15.0),
    (_logs, 10.0),
    (_rules, 12.0),
    (_rule, 12.0),
    (_toggle_rule, 4.0),
    (_sloppy, 5.0),
    (_refresh, 1.7),
    (_restart, 0.3),
)


@dataclass
class TrafficCounts:
    """What the clients saw, per variant (or release: the traffic's ``variant_header``)."""

    requests: Counter[str] = field(default_factory=Counter)
    server_errors: Counter[str] = field(default_factory=Counter)
    client_errors: Counter[str] = field(default_factory=Counter)
    transport_errors: int = 0


class Traffic:
    """``threads`` senders sharing ``rate`` requests per second; ``start()`` / ``stop()``."""

    def __init__(
        self,
        base_url: str,
        *,
        rate: float = 120.0,
        clients: int = 300,
        threads: int = 6,
        seed: int | None = None,
        recent_seconds: float = 5.0,
        memory_seconds: float = 30.0,
        variant_header: str = "x-camera-variant",
    ) -> None:
        self.base_url = base_url
        self.variant_header = variant_header
        self.rate = rate
        self.client_ids = [f"client-{n:04d}" for n in range(clients)]
        self.thread_count = threads
        self.recent_seconds = recent_seconds
        self.memory_seconds = max(memory_seconds, recent_seconds)
        self._seed = seed
        self._lock = threading.Lock()
        self._counts = TrafficCounts()
        self._recent: deque[tuple[float, str]] = deque()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> Traffic:
        master = random.Random(self._seed)
        for index in range(self.thread_count):
            rng = random.Random(master.random())
            thread = threading.Thread(
                target=self._run, args=(rng,), name=f"demo-traffic-{index}", daemon=True
            )
            self._threads.append(thread)
            thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._threads.clear()

    def counts(self) -> TrafficCounts:
        with self._lock:
            return TrafficCounts(
                Counter(self._counts.requests),
                Counter(self._counts.server_errors),
                Counter(self._counts.client_errors),
                self._counts.transport_errors,
            )

    def recent_split(self, seconds: float | None = None) -> Counter[str]:
        """Requests per variant answered in the last ``seconds`` (``recent_seconds``)."""
        return self.split_since(time.monotonic() - (seconds or self.recent_seconds))

    def split_since(self, mark: float) -> Counter[str]:
        """Requests per variant answered since ``mark`` (``time.monotonic()``; answers are
        remembered for ``memory_seconds``)."""
        with self._lock:
            horizon = time.monotonic() - self.memory_seconds
            while self._recent and self._recent[0][0] < horizon:
                self._recent.popleft()
            return Counter(variant for at, variant in self._recent if at >= mark)

    def _run(self, rng: random.Random) -> None:
        interval = self.thread_count / self.rate
        calls, weights = zip(*_MIX, strict=True)
        headers = {"User-Agent": "rollwise-demo-traffic"}
        with httpx.Client(base_url=self.base_url, timeout=10.0, headers=headers) as http:
            next_at = time.monotonic() + rng.random() * interval
            while not self._stop.is_set():
                delay = next_at - time.monotonic()
                if delay > 0 and self._stop.wait(delay):
                    break
                # a slow answer does not make the sender burst afterwards
                next_at = max(next_at + interval, time.monotonic() - interval)
                call = rng.choices(calls, weights)[0](rng)
                self._send(http, call, rng.choice(self.client_ids))

    def _send(self, http: httpx.Client, call: Call, client_id: str) -> None:
        def send() -> httpx.Response:
            return http.request(
                call.method,
                call.path,
                json=call.body,
                params=call.params,
                headers={"X-Client-Id": client_id},
            )

        try:
            try:
                response = send()
            except httpx.RemoteProtocolError:  # a keep-alive connection closed under it
                response = send()
        except httpx.HTTPError:
            with self._lock:
                self._counts.transport_errors += 1
            return
        variant = response.headers.get(self.variant_header, "?")
        status = response.status_code
        with self._lock:
            self._counts.requests[variant] += 1
            if status >= 500:
                self._counts.server_errors[variant] += 1
            elif status >= 400:
                self._counts.client_errors[variant] += 1
            self._recent.append((time.monotonic(), variant))
