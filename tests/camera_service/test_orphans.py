"""The service as a real process: no worker outlives it, however it ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from .._support.net import free_port
from .._support.waiting import wait_until
from ._support import alive

pytestmark = pytest.mark.slow  # the service and its workers as real processes


@contextmanager
def _service(tmp_path: Path, config_dir: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = free_port()
    environment = dict(os.environ)
    for name in ("USE_DOMAIN_SERVICE", "ROLLOUT_PERCENT", "ROLLWISE_URL", "ROLLWISE_FLAGS_FILE"):
        environment.pop(name, None)
    environment.update(
        CAMERA_SERVICE_CONFIG_DIR=str(config_dir),
        CAMERA_SERVICE_STATE_DIR=str(tmp_path / "state"),
        CAMERA_SERVICE_FPS="50",
        CAMERA_SERVICE_HEARTBEAT_SECONDS="0.05",
        CAMERA_SERVICE_STOP_TIMEOUT="3",
    )
    command = [sys.executable, "-m", "camera_service", "--port", str(port)]
    process = subprocess.Popen([*command, "--log-level", "warning"], env=environment)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _healthy(base, process))
        yield process, base
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


def _healthy(base: str, process: subprocess.Popen[bytes]) -> bool:
    assert process.poll() is None, "the service exited during start-up"
    try:
        return httpx.get(base + "/api/v1/health", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def _worker_pids(base: str) -> list[int]:
    pids = []
    for camera in ("lobby", "loading-dock"):  # started at boot: auto_start cameras
        status = httpx.get(f"{base}/api/v1/cameras/{camera}/status", timeout=5).json()
        assert status["state"] == "running"
        pids.append(status["pid"])
    started = httpx.post(f"{base}/api/v1/cameras/parking-north/start", timeout=5).json()
    pids.append(started["status"]["pid"])
    return pids


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_workers_stop_when_the_service_shuts_down(
    tmp_path: Path, config_dir: Path, stop_signal: signal.Signals
) -> None:
    with _service(tmp_path, config_dir) as (process, base):
        pids = _worker_pids(base)
        assert all(alive(pid) for pid in pids)
        process.send_signal(stop_signal)
        assert process.wait(timeout=30) in (0, -stop_signal)  # uvicorn re-raises the signal
        assert not any(alive(pid) for pid in pids)


def test_workers_exit_on_their_own_when_the_service_is_killed(
    tmp_path: Path, config_dir: Path
) -> None:
    with _service(tmp_path, config_dir) as (process, base):
        pids = _worker_pids(base)
        process.kill()  # SIGKILL: no lifespan shutdown, nobody stops the workers
        process.wait()
        wait_until(lambda: not any(alive(pid) for pid in pids), timeout=20)
    log = (tmp_path / "state" / "cameras" / "lobby" / "worker.log").read_text()
    assert "parent process gone" in log
