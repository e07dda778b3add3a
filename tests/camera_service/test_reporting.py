"""The camera service reports its live traffic to a real rollwise control plane.

The control plane and the app both run under uvicorn on loopback (lifespans included; the
control plane in-process with a short SSE keep-alive, so that the app's flag stream closes
at once). The app syncs the flag from the control plane and reports every window; closing
it flushes the rest. What the control plane's metrics API
then says per variant is exactly what the app's responses said: requests, server errors,
client errors, fallbacks, and one evaluation per request.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx
from camera_service.app import create_app
from camera_service.faults import FaultSpec
from camera_service.flags import FLAG
from camera_service.settings import Settings

from rollwise.server import create_app as control_plane_app

from ..server._support import ADMIN, live_server, settings

ENDPOINTS = (
    ("GET", "/api/v1/cameras/lobby/status"),
    ("GET", "/api/v1/alerts/rules"),
    ("GET", "/api/v1/alerts/rules/ghost"),
    ("POST", "/api/v1/cameras/batch-status"),
)


def _control_plane_ready(admin: httpx.Client) -> str:
    """production, the flag at 50% domain per client id, and an sdk token for the app."""
    assert admin.post("/api/v1/environments", json={"key": "production"}).is_success
    created = admin.post("/api/v1/flags", json={"key": FLAG, "variants": ["legacy", "domain"]})
    assert created.is_success, created.text
    state = {"split": {"legacy": 5000, "domain": 5000}, "unit": "client_id", "version": 0}
    assert admin.put(f"/api/v1/flags/{FLAG}/environments/production", json=state).is_success
    token = admin.post(
        "/api/v1/tokens",
        json={"name": "camera-service", "scope": "sdk", "environment": "production"},
    )
    assert token.is_success, token.text
    secret: str = token.json()["secret"]
    return secret


def test_the_control_plane_reports_what_the_app_served(
    tmp_path: Path, settings_for: Callable[..., Settings]
) -> None:
    server = control_plane_app(settings(f"sqlite:///{tmp_path / 'rollwise.db'}"))
    served: Counter[tuple[str, str]] = Counter()
    with (
        live_server(server) as url,
        httpx.Client(base_url=url, headers={"Authorization": f"Bearer {ADMIN}"}) as admin,
    ):
        token = _control_plane_ready(admin)
        app_settings = settings_for(
            control_plane_url=url,
            sdk_token=token,
            report_window=2,
            fault=FaultSpec(error_rate=0.15, exception_rate=0.15),
        )
        app = create_app(app_settings, random=random.Random(23).random)
        services = app.state.services
        with live_server(app) as app_url, httpx.Client(base_url=app_url) as http:
            for number in range(30):
                headers = {"X-Client-Id": f"camera-operator-{number}"}
                for method, path in ENDPOINTS:
                    body = {"camera_ids": ["lobby", "nowhere"]} if method == "POST" else None
                    response = http.request(method, path, headers=headers, json=body)
                    variant = response.headers["x-camera-variant"]
                    status = response.status_code
                    served[(variant, "requests")] += 1
                    served[(variant, "errors")] += status >= 500
                    served[(variant, "client_errors")] += 400 <= status < 500
                    served[(variant, "fallbacks")] += response.headers["x-served-by"] != variant
            stats = http.get("/api/v1/internal/stats").json()
        # the app has shut down: its client flushed the last window on close
        health = services.flags.reporter.health()
        assert (health.queued, health.batches_dropped, health.batches_rejected) == (0, 0, 0)
        assert health.batches_sent >= 1
        metrics = admin.get("/api/v1/metrics", params={"flag": FLAG, "environment": "production"})
        assert metrics.status_code == 200, metrics.text
        totals = {v["variant"]: v["totals"] for v in metrics.json()["variants"]}

    assert stats["flag_source"]["kind"] == "control_plane"
    assert stats["flag_source"]["reporting"]["window_seconds"] == 2
    assert set(totals) == {"legacy", "domain"}
    for variant in ("legacy", "domain"):
        for field in ("requests", "errors", "client_errors", "fallbacks"):
            assert totals[variant][field] == served[(variant, field)], (variant, field)
        assert totals[variant]["usage"] == served[(variant, "requests")]  # one decision each
    assert served[("domain", "errors")] > 0
    assert served[("domain", "fallbacks")] == stats["fallbacks"]["total"] > 0
    assert served[("legacy", "errors")] == served[("legacy", "fallbacks")] == 0
