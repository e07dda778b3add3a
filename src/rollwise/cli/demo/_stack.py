"""The demo's stack on loopback: a temporary control plane and the camera service.

Both run as subprocesses of the demo (see :mod:`._procs`) out of one temporary working
directory: the SQLite database, each camera service's config copy and state
(``<name>/config``, ``<name>/state``), and every log. The control plane is ``rollwise
serve`` with a fast controller tick and a generated admin token; it gets an environment
``production``, the flag ``camera-domain-service`` (``legacy`` for everyone, sticky per
``client_id``) and an sdk token; the camera service syncs that flag and reports its
traffic every ``report_window`` seconds.
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import socket
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from ...errors import RollwiseError
from .._http import ControlPlane
from ._procs import Child, Supervisor

__all__ = [
    "ENVIRONMENT",
    "FLAG",
    "DemoError",
    "DemoPlane",
    "Stack",
    "StackOptions",
    "base_env",
    "controller_env",
    "free_port",
]

FLAG = "camera-domain-service"
ENVIRONMENT = "production"
_CLEARED = (  # the user's own switches would decide instead of the rollout
    "USE_DOMAIN_SERVICE",
    "ROLLOUT_PERCENT",
    "ROLLWISE_FLAGS_FILE",
    "ROLLWISE_FLAG_CAMERA_DOMAIN_SERVICE",
    "ROLLWISE_OVERRIDE_KEYS",
    "ROLLWISE_RELEASE",
    "ROLLWISE_RELEASE_FLAG",
    "ROLLWISE_DATABASE_URL",
    "ROLLWISE_HOST",
    "ROLLWISE_PORT",
)

_CAMERAS = [
    ("lobby", "Lobby entrance", "smpte-bars", True, True),
    ("loading-dock", "Loading dock", "moving-box", True, True),
    ("parking-north", "Parking lot (north)", "gradient", True, False),
    ("parking-south", "Parking lot (south)", "gradient", True, False),
    ("west-gate", "West gate", "moving-box", True, False),
    ("server-room", "Server room", "noise", False, False),
]
_RULES = [
    ("lobby-low-fps", "lobby", "fps", "<", 1, 60, "warning", True),
    ("stale-heartbeat", None, "heartbeat_age_seconds", ">", 30, 0, "critical", True),
    ("dock-dropped-frames", "loading-dock", "frames_dropped_ratio", ">=", 0.1, 120, "info", False),
    ("gate-cpu", "west-gate", "cpu_percent", ">", 90, 300, "warning", True),
]


class DemoError(RollwiseError):
    """The demo could not set up or run its stack (the message says what and where)."""

    code = "demo_error"


class DemoPlane(ControlPlane):
    """The CLI's API client, with ``put`` (the demo writes a flag state)."""

    def put(self, path: str, body: Any) -> Any:
        return self._request("PUT", path, json=body)

    def __enter__(self) -> DemoPlane:
        return self


@dataclass(frozen=True, slots=True)
class StackOptions:
    fault: str | None = None
    report_window: int = 2
    tick: float = 1.0
    camera_fps: float = 2.0
    compare_sample: float = 0.25
    start_timeout: float = 60.0
    extra_server_env: Mapping[str, str] = field(default_factory=dict)


def controller_env(tick: float) -> dict[str, str]:
    """What makes ``rollwise serve``'s controller look at rollouts every ``tick`` seconds."""
    return {"ROLLWISE_CONTROLLER_TICK": f"{tick:g}"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_started(
    child: Child, ready: Callable[[], bool], timeout: float, interval: float = 0.1
) -> None:
    """Poll ``ready()`` until it holds; DemoError with the child's log tail if the child
    exits first or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while not ready():
        if not child.running():
            raise DemoError(
                f"{child.name} exited during start-up (code {child.process.returncode}):\n"
                + child.log_tail()
            )
        if time.monotonic() > deadline:
            raise DemoError(
                f"{child.name} was not ready within {timeout:.0f}s:\n" + child.log_tail()
            )
        time.sleep(interval)


def _wait_ready(child: Child, url: str, timeout: float) -> None:
    with httpx.Client(timeout=2.0) as http:

        def answers() -> bool:
            try:
                return http.get(url).status_code == 200
            except httpx.HTTPError:
                return False

        wait_started(child, answers, timeout)


def base_env() -> dict[str, str]:
    """The demo's environment for its children: the user's, without their switches."""
    env = {k: v for k, v in os.environ.items() if k not in _CLEARED}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def write_camera_config(directory: Path) -> None:
    """The demo's cameras and alert rules, in the camera service's own format."""
    directory.mkdir(parents=True, exist_ok=True)
    cameras = [
        {"id": i, "name": n, "source": f"test-pattern://{s}", "active": a, "auto_start": auto}
        for i, n, s, a, auto in _CAMERAS
    ]
    rules = [
        {
            "id": rule_id,
            "camera_id": camera,
            "metric": metric,
            "operator": operator,
            "threshold": threshold,
            "duration_seconds": duration,
            "severity": severity,
            "enabled": enabled,
        }
        for rule_id, camera, metric, operator, threshold, duration, severity, enabled in _RULES
    ]
    (directory / "cameras.yaml").write_text(yaml.safe_dump({"cameras": cameras}, sort_keys=False))
    (directory / "alert_rules.yaml").write_text(yaml.safe_dump({"rules": rules}, sort_keys=False))


class Stack:
    """Start with :meth:`start_control_plane`, :meth:`set_up_flag`,
    :meth:`start_camera_service`; :meth:`close` stops everything started (always call it)."""

    def __init__(self, workdir: Path, options: StackOptions) -> None:
        self.workdir = workdir
        self.options = options
        self.supervisor = Supervisor(workdir)
        self.admin_token = "rw-demo-" + secrets.token_urlsafe(18)
        self.sdk_token: str | None = None
        self.plane_url = ""
        self.camera_url = ""
        self.control_plane: Child | None = None
        self.camera_service: Child | None = None

    def client(self) -> DemoPlane:
        return DemoPlane(self.plane_url, self.admin_token)

    def start_control_plane(self) -> str:
        port = free_port()
        env = base_env()
        env.update(ROLLWISE_ADMIN_TOKEN=self.admin_token)
        env.update(controller_env(self.options.tick))
        env.update(self.options.extra_server_env)
        database = f"sqlite:///{self.workdir / 'rollwise.db'}"
        argv = [
            sys.executable,
            "-c",
            "from rollwise.cli import main; main()",
            "serve",
            "--port",
            str(port),
            "--database-url",
            database,
            "--log-level",
            "warning",
        ]
        self.control_plane = self.supervisor.spawn("control-plane", argv, env)
        self.plane_url = f"http://127.0.0.1:{port}"
        _wait_ready(self.control_plane, f"{self.plane_url}/readyz", self.options.start_timeout)
        return self.plane_url

    def set_up_flag(self) -> None:
        """Environment, flag (everyone on legacy, sticky per client id), sdk token."""
        with self.client() as plane:
            plane.post(
                "/api/v1/environments",
                {"key": ENVIRONMENT, "name": "Production", "production": True},
            )
            plane.post(
                "/api/v1/flags",
                {
                    "key": FLAG,
                    "variants": ["legacy", "domain"],
                    "description": "Serve the camera API from the new domain service.",
                },
            )
            plane.put(
                f"/api/v1/flags/{FLAG}/environments/{ENVIRONMENT}",
                {"version": 0, "split": {"legacy": 10000, "domain": 0}, "unit": "client_id"},
            )
            self.make_sdk_token(plane)

    def make_sdk_token(self, plane: DemoPlane) -> str:
        """An sdk token of the demo's environment, for the camera service (and the router)."""
        token = plane.post(
            "/api/v1/tokens", {"name": "camera-service", "scope": "sdk", "environment": ENVIRONMENT}
        )
        self.sdk_token = str(token["secret"])
        return self.sdk_token

    def start_camera_service(self) -> str:
        """The camera service, the flag deciding per client (the in-process rollout)."""
        self.camera_service, self.camera_url = self.spawn_camera(
            "camera-service", {}, self.options.fault
        )
        return self.camera_url

    def spawn_camera(
        self, name: str, extra_env: Mapping[str, str], fault: str | None
    ) -> tuple[Child, str]:
        """One camera service process (config and state under ``name``), once healthy."""
        if importlib.util.find_spec("camera_service") is None:
            raise DemoError(
                "the camera service is not installed: pip install -e examples/camera_service "
                "(make demo does it)"
            )
        if self.sdk_token is None:
            raise DemoError("set up the flag (and its sdk token) before the camera service")
        root = self.workdir / name
        config = root / "config"
        write_camera_config(config)
        port = free_port()
        env = base_env()
        env.update(
            CAMERA_SERVICE_CONFIG_DIR=str(config),
            CAMERA_SERVICE_STATE_DIR=str(root / "state"),
            CAMERA_SERVICE_FPS=f"{self.options.camera_fps:g}",
            CAMERA_SERVICE_STOP_TIMEOUT="3",
            CAMERA_SERVICE_COMPARE_SAMPLE=f"{self.options.compare_sample:g}",
            ROLLWISE_URL=self.plane_url,
            ROLLWISE_SDK_TOKEN=self.sdk_token,
            ROLLWISE_ENVIRONMENT=ENVIRONMENT,
            ROLLWISE_REPORT_WINDOW=str(self.options.report_window),
        )
        env.pop("CAMERA_SERVICE_FAULT", None)
        env.update(extra_env)
        if fault:
            env["CAMERA_SERVICE_FAULT"] = fault
        argv = [
            sys.executable,
            "-m",
            "camera_service",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ]
        child = self.supervisor.spawn(name, argv, env)
        url = f"http://127.0.0.1:{port}"
        _wait_ready(child, f"{url}/api/v1/health", self.options.start_timeout)
        return child, url

    def check_alive(self) -> None:
        """Raise if a child died on its own (the demo cannot go on without it)."""
        for child in self.supervisor.children:
            if not child.running():
                raise DemoError(
                    f"{child.name} exited unexpectedly (code {child.process.returncode}):\n"
                    + child.log_tail()
                )

    def close(self, on_step: Callable[[str], None] | None = None) -> list[int]:
        """Stop the camera service (it stops its workers), then the control plane; sweep."""
        if on_step is not None and self.supervisor.children:
            on_step("stopping the camera service and the control plane")
        return self.supervisor.stop_all()
