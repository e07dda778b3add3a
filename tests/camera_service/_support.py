"""Helpers for the camera service tests: waiting on real processes, normalizing answers,
and checking that every request is recorded under the variant that served it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from camera_service.app import Services, create_app
from camera_service.flags import FLAG
from camera_service.processes import WorkerSettings
from camera_service.settings import Settings
from fastapi.testclient import TestClient

from rollwise.core.telemetry import RequestSeries
from rollwise.sdk.recorder import RequestRecorder

VARIANTS = ("legacy", "domain")
FAST_WORKERS = WorkerSettings(fps=50.0, heartbeat_interval=0.05, stop_timeout=3.0)
VOLATILE = {"pid", "previous_pid", "uptime_seconds", "frames_processed"}
UNTIMED = {"last_heartbeat"}  # None until the worker's first heartbeat, whenever that is


def alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie waiting to be reaped counts as dead)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    state = stat.rsplit(")", 1)[1].split()[0]
    return state not in ("Z", "X")


def normalize(value: Any) -> Any:
    """Replace values that differ between two runs (pids, times, counts) by their type."""
    if isinstance(value, dict):
        return {
            key: "*"
            if key in UNTIMED
            else type(item).__name__
            if key in VOLATILE
            else normalize(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [normalize(item) for item in value]
    return value


def make_settings(root: Path, config_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "config_dir": config_dir,
        "state_dir": root / "state",
        "worker": FAST_WORKERS,
        "autostart_on_boot": False,
    }
    values.update(overrides)
    return Settings(**values)


def recorded(recorder: RequestRecorder) -> list[RequestSeries]:
    """Every series the recorder holds (open window included), handed over once."""
    return [series for window in recorder.drain(include_open=True) for series in window.series]


def assert_recorded_as_served(recorder: RequestRecorder, response: Any) -> RequestSeries:
    """The one request since the last drain is recorded under ``X-Camera-Variant``, with
    the response's outcome (5xx an error, 4xx a client error)."""
    series = recorded(recorder)
    variant = response.headers["x-camera-variant"]
    assert [(s.flag, s.variant, s.requests) for s in series] == [(FLAG, variant, 1)], series
    status = response.status_code
    assert (series[0].errors, series[0].client_errors) == (
        int(status >= 500),
        int(400 <= status < 500),
    )
    return series[0]


@dataclass
class Api:
    """A TestClient that checks which implementation served every camera/alert request,
    and (unless a reporter drains the recorder too) that the middleware recorded each one
    under that implementation."""

    client: TestClient
    variant: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def services(self) -> Services:
        services: Services = self.client.app.state.services  # type: ignore[attr-defined]
        return services

    @property
    def recorder(self) -> RequestRecorder:
        return self.services.flags.recorder

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        response = self.client.request(method, "/api/v1" + path, headers=headers, **kwargs)
        if path.startswith("/internal"):
            return response
        if self.variant is not None:
            assert response.headers["x-camera-variant"] == self.variant, response.text
        if self.services.flags.reporter is None:
            assert_recorded_as_served(self.recorder, response)
        return response

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Any:
        return self.request("PUT", path, **kwargs)

    def stats(self) -> dict[str, Any]:
        response = self.client.get("/api/v1/internal/stats")
        assert response.status_code == 200
        data: dict[str, Any] = response.json()
        return data

    def status(self, camera_id: str) -> dict[str, Any]:
        response = self.get(f"/cameras/{camera_id}/status")
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()
        return data

    def frames_above(self, camera_id: str, count: int) -> dict[str, Any] | None:
        status = self.status(camera_id)
        return status if status["frames_processed"] > count else None


@contextmanager
def serve(settings: Settings, variant: str | None = None, **app_options: Any) -> Iterator[Api]:
    """The app (lifespan included) around a block; ``variant`` pins USE_DOMAIN_SERVICE."""
    if variant is not None:
        settings = replace(settings, use_domain_service=variant == "domain")
    app = create_app(settings, **app_options)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(client, variant)
