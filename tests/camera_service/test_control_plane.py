"""The selection from a real rollwise control plane (URL + sdk token), as the demo runs it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from camera_service.flags import FLAG
from camera_service.settings import Settings
from fastapi.testclient import TestClient

from rollwise.server import create_app as control_plane_app

from ..server._support import ADMIN, bearer, live_server, make_token, settings
from ._support import serve, wait_until


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
