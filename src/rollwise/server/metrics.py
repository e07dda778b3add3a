"""The server's own Prometheus metrics, on a registry per app (never the global one)."""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["MetricsMiddleware", "ServerMetrics"]


class ServerMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "rollwise_http_requests",
            "HTTP requests served by the control plane",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "rollwise_http_request_duration_seconds",
            "HTTP request latency",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
        )
        self.config_revision = Gauge(
            "rollwise_config_revision",
            "Current SDK config revision per environment",
            ["environment"],
            registry=self.registry,
        )
        self.sse_clients = Gauge(
            "rollwise_sdk_stream_clients", "Connected SDK event streams", registry=self.registry
        )
        self.controller_leader = Gauge(
            "rollwise_controller_leader",
            "1 for the controller replica holding a valid lease; 0 for this process's own"
            " controller while it follows",
            ["replica"],
            registry=self.registry,
        )
        self.controller_led = Gauge(
            "rollwise_controller_led",
            "1 while some controller replica holds a valid lease, 0 while none leads",
            registry=self.registry,
        )
        self.lease_age = Gauge(
            "rollwise_controller_lease_age_seconds",
            "Seconds since the leader last renewed its lease (NaN: no lease)",
            registry=self.registry,
        )
        self.lease_epoch = Gauge(
            "rollwise_controller_lease_epoch",
            "The lease's epoch (fencing token): it grows at every change of leader",
            registry=self.registry,
        )

    def set_controller(self, status: dict[str, Any]) -> None:
        """Set the controller gauges from a status (``routers.health.controller_status``)."""
        self.controller_leader.clear()
        leader = status.get("leader") or {}
        local = status.get("this_replica") or {}
        if local.get("replica"):
            self.controller_leader.labels(local["replica"]).set(0)
        if leader.get("replica"):
            self.controller_leader.labels(leader["replica"]).set(1)
        if status.get("status") != "unknown":
            self.controller_led.set(1 if status.get("status") == "led" else 0)
        lease = status.get("lease") or {}
        self.lease_age.set(lease.get("age_seconds", float("nan")))
        self.lease_epoch.set(lease.get("epoch", float("nan")))


class MetricsMiddleware:
    """Counts and times every HTTP request by its route template (not its raw path)."""

    def __init__(self, app: ASGIApp, metrics: ServerMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            route: Any = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope["method"]
            self.metrics.requests.labels(method, template, str(status)).inc()
            self.metrics.latency.labels(method, template).observe(time.perf_counter() - started)
