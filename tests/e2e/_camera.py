"""The camera service as a real subprocess of a real control plane, and traffic to it.

``camera_service(...)`` starts ``python -m camera_service`` with ``ROLLWISE_URL`` and an sdk
token, its own copy of the example's config and its own state directory, and stops it
afterwards, checking that none of its camera workers outlives it. ``Traffic`` sends camera
and alert-rule requests from a few hundred client ids and remembers, for each answer, when
its request was *sent* and which variant served it (``X-Camera-Variant``).
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from camera_service.settings import default_config_dir

from .._support.net import free_port
from .._support.waiting import wait_until

FLAG = "camera-domain-service"
_CLEARED = (
    "USE_DOMAIN_SERVICE",
    "ROLLOUT_PERCENT",
    "ROLLWISE_FLAGS_FILE",
    "ROLLWISE_FLAG_CAMERA_DOMAIN_SERVICE",
    "CAMERA_SERVICE_FAULT",
)


def processes_mentioning(marker: str) -> list[int]:
    """Live processes whose command line or environment contains ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                continue
            texts = [(entry / "cmdline").read_bytes(), (entry / "environ").read_bytes()]
        except (OSError, IndexError):
            continue
        if any(marker.encode() in text for text in texts):
            found.append(int(entry.name))
    return found


def set_up_environment(admin: httpx.Client, environment: str, split: dict[str, int]) -> str:
    """Environment, the flag (created once), its state there (unit client_id); an sdk token."""
    assert admin.post("/api/v1/environments", json={"key": environment}).status_code == 201
    if admin.get(f"/api/v1/flags/{FLAG}").status_code == 404:
        created = admin.post("/api/v1/flags", json={"key": FLAG, "variants": ["legacy", "domain"]})
        assert created.status_code == 201, created.text
    state = admin.put(
        f"/api/v1/flags/{FLAG}/environments/{environment}",
        json={"version": 0, "split": split, "unit": "client_id"},
    )
    assert state.status_code == 200, state.text
    token = admin.post(
        "/api/v1/tokens",
        json={"name": f"camera-{environment}", "scope": "sdk", "environment": environment},
    )
    assert token.status_code == 201, token.text
    secret: str = token.json()["secret"]
    return secret


@dataclass
class CameraService:
    url: str
    process: subprocess.Popen[bytes]
    root: Path
    environment: str

    def stats(self) -> dict[str, Any]:
        data: dict[str, Any] = httpx.get(f"{self.url}/api/v1/internal/stats", timeout=5).json()
        return data


@contextmanager
def camera_service(
    root: Path, plane_url: str, sdk_token: str, environment: str, **extra_env: str
) -> Iterator[CameraService]:
    """The service reporting every second; SIGTERM afterwards, and no worker left behind."""
    root.mkdir(parents=True)
    config = root / "config"
    shutil.copytree(default_config_dir(), config)
    env = {k: v for k, v in os.environ.items() if k not in _CLEARED}
    env.update(
        CAMERA_SERVICE_CONFIG_DIR=str(config),
        CAMERA_SERVICE_STATE_DIR=str(root / "state"),
        CAMERA_SERVICE_FPS="2",
        CAMERA_SERVICE_STOP_TIMEOUT="3",
        CAMERA_SERVICE_COMPARE_SAMPLE="0.2",
        ROLLWISE_URL=plane_url,
        ROLLWISE_SDK_TOKEN=sdk_token,
        ROLLWISE_ENVIRONMENT=environment,
        ROLLWISE_REPORT_WINDOW="1",
        **extra_env,
    )
    port = free_port()
    with (root / "service.log").open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "camera_service", "--port", str(port), "--log-level", "warning"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    service = CameraService(f"http://127.0.0.1:{port}", process, root, environment)
    try:
        wait_until(lambda: _healthy(service), timeout=30, interval=0.1)
        yield service
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        wait_until(lambda: not processes_mentioning(str(root)), timeout=10, interval=0.1)


def _healthy(service: CameraService) -> bool:
    if service.process.poll() is not None:
        raise AssertionError((service.root / "service.log").read_text())
    try:
        return httpx.get(f"{service.url}/api/v1/health", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


@dataclass(frozen=True, slots=True)
class Answer:
    sent: float  # time.monotonic() when the request was sent
    answered: float
    client: str
    variant: str  # the release or variant that answered, read off a response header
    status: int


class Traffic:
    """Threads sending camera and alert-rule requests as the service's operators would, each
    from one of ``clients`` units, until stopped; every answer kept with who served it.

    ``variant_header`` is the response header naming what served (the camera service's
    ``X-Camera-Variant``, or nginx's ``X-Rollwise-Release``)."""

    PATHS = (
        ("GET", "/api/v1/cameras/lobby/status", None),
        ("GET", "/api/v1/cameras/parking-north/status", None),
        ("POST", "/api/v1/cameras/batch-status", {"camera_ids": ["lobby", "loading-dock"]}),
        ("GET", "/api/v1/cameras/lobby/logs", None),
        ("GET", "/api/v1/alerts/rules", None),
        ("GET", "/api/v1/alerts/rules/stale-heartbeat", None),
    )

    def __init__(
        self,
        url: str,
        *,
        threads: int = 4,
        clients: int = 300,
        pause: float = 0.02,
        variant_header: str = "x-camera-variant",
        unit_header: str = "X-Client-Id",
    ) -> None:
        self.url = url
        self.clients = [f"client-{n}" for n in range(clients)]
        self.pause = pause
        self.variant_header = variant_header
        self.unit_header = unit_header
        self.answers: list[Answer] = []
        self.failures: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(n,)) for n in range(threads)]

    def __enter__(self) -> Traffic:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(15)

    def _run(self, seed: int) -> None:
        rng = random.Random(seed)
        with httpx.Client(base_url=self.url, timeout=10) as http:
            while not self._stop.is_set():
                method, path, body = rng.choice(self.PATHS)
                client = rng.choice(self.clients)
                sent = time.monotonic()
                try:
                    response = self._send(http, method, path, body, client)
                except httpx.HTTPError as error:
                    with self._lock:
                        self.failures.append(repr(error))
                    continue
                variant = response.headers.get(self.variant_header, "")
                answer = Answer(sent, time.monotonic(), client, variant, response.status_code)
                with self._lock:
                    self.answers.append(answer)
                self._stop.wait(self.pause)

    def _send(
        self, http: httpx.Client, method: str, path: str, body: Any, client: str
    ) -> httpx.Response:
        """One request; a keep-alive connection that a reloading proxy closed (or reset) as
        the request went out is retried once on a new one, as browsers do on a reused
        connection that fails before any answer."""
        headers = {self.unit_header: client}
        try:
            return http.request(method, path, json=body, headers=headers)
        except (httpx.RemoteProtocolError, httpx.ReadError):
            return http.request(method, path, json=body, headers=headers)

    def sent_since(self, mark: float) -> list[Answer]:
        with self._lock:
            return [answer for answer in self.answers if answer.sent >= mark]

    def variants(self) -> Counter[str]:
        with self._lock:
            return Counter(answer.variant for answer in self.answers)
