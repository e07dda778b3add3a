"""The selection from a real rollwise control plane (URL + sdk token), as the demo runs it."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from camera_service.flags import FLAG
from camera_service.settings import Settings
from fastapi.testclient import TestClient

from rollwise.server import create_app as control_plane_app

from .._support.net import free_port
from .._support.waiting import wait_until
from ..server._support import ADMIN, bearer, live_server, make_token, settings
from ._support import serve


def test_the_control_plane_split_decides_and_changes_apply_live(
    tmp_path: Path, settings_for: Callable[..., Settings]
) -> None:
    server = control_plane_app(settings(f"sqlite:///{tmp_path / 'rollwise.db'}"))
    admin = bearer(ADMIN)
    with TestClient(server) as setup, live_server(server) as url:
        environment = setup.post("/api/v1/environments", json={"key": "production"}, headers=admin)
        assert environment.status_code == 201, environment.text
        created = setup.post(
            "/api/v1/flags", json={"key": FLAG, "variants": ["legacy", "domain"]}, headers=admin
        )
        assert created.status_code == 201, created.text
        state_path = f"/api/v1/flags/{FLAG}/environments/production"

        def put(split: dict[str, int], version: int) -> None:
            state = {"split": split, "unit": "client_id", "version": version}
            response = setup.put(state_path, json=state, headers=admin)
            assert response.status_code == 200, response.text

        put({"legacy": 10000, "domain": 0}, 0)
        token = make_token(setup, "sdk", "production")
        app_settings = settings_for(control_plane_url=url, sdk_token=token)
        with serve(app_settings) as api:
            assert api.get("/alerts/rules").headers["x-camera-variant"] == "legacy"
            put({"legacy": 0, "domain": 10000}, 1)
            wait_until(lambda: api.get("/alerts/rules").headers["x-camera-variant"] == "domain")
            stats = api.stats()
        assert stats["flag_source"]["kind"] == "control_plane"
        assert stats["selections"]["domain"] == {"flag:split": stats["served"]["domain"]["domain"]}


def test_a_refused_sdk_token_is_in_the_health_answer_and_the_log(
    tmp_path: Path,
    settings_for: Callable[..., Settings],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A wrong ROLLWISE_SDK_TOKEN: the service still answers (legacy, the fallback), and
    says why in /api/v1/health, its stats and its log, also when it starts from the cache
    a previous, good token left."""
    server = control_plane_app(settings(f"sqlite:///{tmp_path / 'rollwise.db'}"))
    admin = bearer(ADMIN)
    with TestClient(server) as setup, live_server(server) as url:
        environment = setup.post("/api/v1/environments", json={"key": "production"}, headers=admin)
        assert environment.status_code == 201, environment.text
        good = make_token(setup, "sdk", "production")
        with serve(settings_for(control_plane_url=url, sdk_token=good)) as api:
            healthy = api.client.get("/api/v1/health").json()
            assert healthy["status"] == "ok"
            assert healthy["flag_source"]["status"] == "ok"
        caplog.set_level(logging.WARNING)
        wrong = settings_for(control_plane_url=url, sdk_token="rw_sdk_not-a-token")
        with serve(wrong) as api:  # the cache from the good token is on disk now
            answer = api.client.get("/api/v1/health")
            assert answer.status_code == 200  # still serving: degraded, not down
            health = answer.json()
            assert health["status"] == "degraded"
            assert health["flag_source"]["status"] == "token_refused"
            assert "sdk token was refused" in health["problems"][0]
            assert api.stats()["flag_source"]["status"] == "token_refused"
            assert api.get("/alerts/rules").headers["x-camera-variant"] == "legacy"
        logged = [r for r in caplog.records if r.name == "camera_service"]
        assert any("ROLLWISE_SDK_TOKEN is refused" in r.getMessage() for r in logged)
        assert all(r.levelno == logging.WARNING for r in logged if "refused" in r.getMessage())


@pytest.mark.slow  # the service as a real process
def test_the_service_process_logs_a_refused_token_on_stderr(
    tmp_path: Path, config_dir: Path
) -> None:
    """``python -m camera_service`` as operators run it: the refusal is in its log."""
    server = control_plane_app(settings(f"sqlite:///{tmp_path / 'rollwise.db'}"))
    with TestClient(server), live_server(server) as url:
        environment = dict(os.environ)
        for name in ("USE_DOMAIN_SERVICE", "ROLLOUT_PERCENT", "ROLLWISE_FLAGS_FILE"):
            environment.pop(name, None)
        environment.update(
            CAMERA_SERVICE_CONFIG_DIR=str(config_dir),
            CAMERA_SERVICE_STATE_DIR=str(tmp_path / "state"),
            ROLLWISE_URL=url,
            ROLLWISE_SDK_TOKEN="rw_sdk_not-a-token",
        )
        command = [sys.executable, "-m", "camera_service", "--port", str(free_port())]
        process = subprocess.Popen(
            [*command, "--log-level", "warning"], env=environment, stderr=subprocess.PIPE
        )
        deadline = threading.Timer(60, process.kill)  # never hang on a silent service
        deadline.start()
        try:
            assert process.stderr is not None
            lines = []
            for line in process.stderr:  # ends with the process, or at the line looked for
                lines.append(line.decode())
                if "ROLLWISE_SDK_TOKEN is refused" in lines[-1]:
                    break
        finally:
            deadline.cancel()
            process.kill()
            process.wait()
        log = "".join(lines)
        assert "WARNING:     rollwise: the sdk token was refused by the control plane" in log
        assert "WARNING:     camera_service: ROLLWISE_SDK_TOKEN is refused" in log
