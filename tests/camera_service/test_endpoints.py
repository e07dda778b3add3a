"""Every endpoint on both implementations: the same answers for valid input.

Each test runs once per implementation (``variant``) against real worker subprocesses and
asserts the exact answer, so both passing proves they answer alike; the transcript test at
the end replays one scenario on each and compares every answer.
"""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path
from typing import Any

import yaml
from camera_service.settings import default_config_dir

from .._support.waiting import wait_until
from ._support import VARIANTS, Api, alive, make_settings, normalize, serve

PARKING_STOPPED = {
    "camera_id": "parking-north",
    "name": "Parking lot (north)",
    "active": True,
    "auto_start": False,
    "state": "stopped",
    "pid": None,
    "exit_code": None,
    "uptime_seconds": None,
    "frames_processed": 0,
    "last_heartbeat": None,
}

LOBBY_RULE = {
    "id": "lobby-low-fps",
    "camera_id": "lobby",
    "metric": "fps",
    "operator": "<",
    "threshold": 5,
    "duration_seconds": 60,
    "severity": "warning",
    "enabled": True,
}

NEW_RULE = {
    "id": "parking-cpu",
    "camera_id": "parking-north",
    "metric": "cpu_percent",
    "operator": ">=",
    "threshold": 92.5,
    "duration_seconds": 300,
    "severity": "critical",
    "enabled": True,
}


def test_status_of_a_stopped_camera(api: Api) -> None:
    assert api.status("parking-north") == PARKING_STOPPED


def test_start_runs_a_worker_that_processes_frames_then_stop_ends_it(api: Api) -> None:
    response = api.post("/cameras/parking-north/start")
    assert response.status_code == 200
    body = response.json()
    assert body["started"] is True
    status = body["status"]
    pid = status["pid"]
    assert status["state"] == "running"
    assert isinstance(pid, int)
    assert alive(pid)
    assert status["uptime_seconds"] >= 0

    first = wait_until(lambda: api.frames_above("parking-north", 0))
    later = wait_until(lambda: api.frames_above("parking-north", first["frames_processed"]))
    assert later["pid"] == pid
    assert later["last_heartbeat"] is not None
    assert later["uptime_seconds"] >= first["uptime_seconds"]

    again = api.post("/cameras/parking-north/start").json()
    assert again["started"] is False
    assert again["status"]["pid"] == pid

    stopped = api.post("/cameras/parking-north/stop")
    assert stopped.status_code == 200
    assert stopped.json()["stopped"] is True
    assert stopped.json()["status"]["state"] == "stopped"
    assert stopped.json()["status"]["pid"] is None
    assert not alive(pid)
    assert api.post("/cameras/parking-north/stop").json()["stopped"] is False


def test_restart_replaces_the_worker(api: Api) -> None:
    cold = api.post("/cameras/lobby/restart").json()
    assert cold["previous_pid"] is None
    assert cold["status"]["state"] == "running"
    first_pid = cold["status"]["pid"]

    warm = api.post("/cameras/lobby/restart")
    assert warm.status_code == 200
    assert warm.json()["previous_pid"] == first_pid
    second_pid = warm.json()["status"]["pid"]
    assert second_pid != first_pid
    assert alive(second_pid)
    assert not alive(first_pid)


def test_batch_status_answers_in_the_order_asked(api: Api) -> None:
    api.post("/cameras/lobby/start")
    response = api.post("/cameras/batch-status", json={"camera_ids": ["parking-north", "lobby"]})
    assert response.status_code == 200
    cameras = response.json()["cameras"]
    assert [c["camera_id"] for c in cameras] == ["parking-north", "lobby"]
    assert cameras[0] == PARKING_STOPPED
    assert cameras[1]["state"] == "running"


def test_deactivate_stops_the_worker_and_activate_restores_the_flag(
    api: Api, config_dir: Path
) -> None:
    pid = api.post("/cameras/loading-dock/start").json()["status"]["pid"]
    response = api.post("/cameras/loading-dock/deactivate")
    assert response.status_code == 200
    assert response.json() == {
        "camera": {
            "id": "loading-dock",
            "name": "Loading dock",
            "source": "test-pattern://moving-box",
            "active": False,
            "auto_start": True,
        },
        "stopped": True,
    }
    assert not alive(pid)
    assert _camera_in_file(config_dir, "loading-dock")["active"] is False

    activated = api.post("/cameras/loading-dock/activate")
    assert activated.status_code == 200
    assert activated.json()["camera"]["active"] is True
    assert _camera_in_file(config_dir, "loading-dock")["active"] is True
    assert api.status("loading-dock")["state"] == "stopped"  # activating starts nothing


def test_auto_start_is_saved(api: Api, config_dir: Path) -> None:
    response = api.put("/cameras/parking-north/auto-start", json={"auto_start": True})
    assert response.status_code == 200
    assert response.json()["camera"]["auto_start"] is True
    assert _camera_in_file(config_dir, "parking-north")["auto_start"] is True
    off = api.put("/cameras/parking-north/auto-start", json={"auto_start": False})
    assert off.json()["camera"]["auto_start"] is False
    assert _camera_in_file(config_dir, "parking-north")["auto_start"] is False


def test_logs_tail_the_worker_log(api: Api) -> None:
    assert api.get("/cameras/lobby/logs").json() == {"camera_id": "lobby", "lines": []}
    api.post("/cameras/lobby/start")

    def enough() -> list[str] | None:
        lines: list[str] = api.get("/cameras/lobby/logs").json()["lines"]
        return lines if len(lines) >= 3 else None

    lines = wait_until(enough)
    assert "[lobby] started" in lines[0]
    assert any("frame " in line for line in lines)
    last = api.get("/cameras/lobby/logs", params={"lines": 1})
    assert last.status_code == 200
    assert len(last.json()["lines"]) == 1


def test_refresh_reconciles_workers_with_the_configuration(api: Api, config_dir: Path) -> None:
    api.post("/cameras/parking-north/start")
    first = api.post("/cameras/refresh")
    assert first.status_code == 200
    assert first.json() == {
        "started": ["lobby", "loading-dock"],
        "stopped": [],
        "unchanged": ["parking-north", "server-room"],
    }
    assert api.status("lobby")["state"] == "running"

    # an operator deactivates parking-north in the file; a worker dies on its own
    _edit_camera(config_dir, "parking-north", active=False)
    crashed_pid = api.status("lobby")["pid"]
    _kill(crashed_pid)
    wait_until(lambda: api.status("lobby")["state"] == "crashed")
    second = api.post("/cameras/refresh").json()
    assert second == {
        "started": ["lobby"],
        "stopped": ["parking-north"],
        "unchanged": ["loading-dock", "server-room"],
    }
    assert api.status("lobby")["state"] == "running"
    assert api.status("parking-north")["state"] == "stopped"


def test_alert_rules_read_create_update(api: Api) -> None:
    listed = api.get("/alerts/rules")
    assert listed.status_code == 200
    rules = listed.json()["rules"]
    assert [r["id"] for r in rules] == ["lobby-low-fps", "stale-heartbeat", "dock-dropped-frames"]
    assert rules[0] == LOBBY_RULE
    assert api.get("/alerts/rules/lobby-low-fps").json() == LOBBY_RULE

    created = api.post("/alerts/rules", json=NEW_RULE)
    assert created.status_code == 201
    assert created.json() == NEW_RULE
    minimal = api.post("/alerts/rules", json={"id": "dock-fps", "metric": "fps", "threshold": 2})
    assert minimal.status_code == 201
    assert minimal.json() == {
        "id": "dock-fps",
        "camera_id": None,
        "metric": "fps",
        "operator": ">",
        "threshold": 2,
        "duration_seconds": 0,
        "severity": "warning",
        "enabled": True,
    }

    updated = api.put("/alerts/rules/parking-cpu", json={"threshold": 80, "enabled": False})
    assert updated.status_code == 200
    assert updated.json() == {**NEW_RULE, "threshold": 80, "enabled": False}
    assert api.get("/alerts/rules/parking-cpu").json() == updated.json()
    same_id = api.put("/alerts/rules/parking-cpu", json={"id": "parking-cpu", "severity": "info"})
    assert same_id.status_code == 200
    assert same_id.json()["severity"] == "info"
    ids = [r["id"] for r in api.get("/alerts/rules").json()["rules"]]
    assert ids[-2:] == ["parking-cpu", "dock-fps"]


def test_unknown_ids_are_the_same_404(api: Api) -> None:
    expected = {
        "error": {
            "code": "camera_not_found",
            "message": "no camera 'nope'",
            "details": {"camera_id": "nope"},
        }
    }
    for method, path, body in [
        ("POST", "/cameras/nope/start", None),
        ("POST", "/cameras/nope/stop", None),
        ("POST", "/cameras/nope/restart", None),
        ("GET", "/cameras/nope/status", None),
        ("POST", "/cameras/nope/activate", None),
        ("POST", "/cameras/nope/deactivate", None),
        ("PUT", "/cameras/nope/auto-start", {"auto_start": False}),
        ("GET", "/cameras/nope/logs", None),
    ]:
        response = api.request(method, path, json=body)
        assert response.status_code == 404, path
        assert response.json() == expected, path
    rule = api.get("/alerts/rules/nope")
    assert rule.status_code == 404
    assert rule.json()["error"]["code"] == "alert_rule_not_found"


def test_malformed_json_is_a_400_on_both(api: Api) -> None:
    response = api.post(
        "/alerts/rules", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


def test_numbers_no_answer_could_carry_are_a_400_on_both_and_change_nothing(api: Api) -> None:
    before = api.get("/alerts/rules").json()
    for literal in ("1e400", "NaN", "Infinity", "-Infinity"):
        body = f'{{"id": "big", "metric": "fps", "threshold": {literal}}}'.encode()
        for method, path in (("POST", "/alerts/rules"), ("PUT", "/alerts/rules/big")):
            response = api.request(
                method, path, content=body, headers={"content-type": "application/json"}
            )
            assert response.status_code == 400, (literal, path)
            assert response.json()["error"]["code"] == "invalid_json"
    listed = api.get("/alerts/rules")
    assert listed.status_code == 200
    assert listed.json() == before


def test_one_scenario_answers_the_same_on_both(tmp_path: Path) -> None:
    transcripts = {}
    for variant in VARIANTS:
        config = shutil.copytree(default_config_dir(), tmp_path / variant / "config")
        with serve(make_settings(tmp_path / variant, config), variant) as api:
            transcripts[variant] = _scenario(api)
    assert transcripts["legacy"] == transcripts["domain"]


def _scenario(api: Api) -> list[Any]:
    steps: list[tuple[str, str, Any]] = [
        ("GET", "/cameras/lobby/status", None),
        ("POST", "/cameras/refresh", None),
        ("POST", "/cameras/lobby/start", None),
        ("POST", "/cameras/parking-north/restart", None),
        ("POST", "/cameras/batch-status", {"camera_ids": ["lobby", "server-room"]}),
        ("PUT", "/cameras/parking-north/auto-start", {"auto_start": True}),
        ("POST", "/cameras/loading-dock/deactivate", None),
        ("POST", "/cameras/loading-dock/activate", None),
        ("POST", "/cameras/server-room/stop", None),
        ("POST", "/cameras/refresh", None),
        ("GET", "/alerts/rules", None),
        ("POST", "/alerts/rules", NEW_RULE),
        ("PUT", "/alerts/rules/parking-cpu", {"severity": "info"}),
        ("GET", "/alerts/rules/parking-cpu", None),
        ("GET", "/alerts/rules/stale-heartbeat", None),
        ("GET", "/cameras/nope/status", None),
        ("POST", "/cameras/lobby/stop", None),
        ("GET", "/cameras/lobby/logs", None),
    ]
    transcript = []
    for method, path, body in steps:
        if path == "/cameras/lobby/stop":  # let it log before it stops
            wait_until(lambda: api.frames_above("lobby", 0))
        response = api.request(method, path, json=body)
        answer = response.json()
        if path.endswith("/logs"):
            answer = {**answer, "lines": len(answer["lines"]) > 0}
        transcript.append((method, path, response.status_code, normalize(answer)))
    return transcript


def _camera_in_file(config_dir: Path, camera_id: str) -> dict[str, Any]:
    data = yaml.safe_load((config_dir / "cameras.yaml").read_text())
    camera: dict[str, Any] = next(c for c in data["cameras"] if c["id"] == camera_id)
    return camera


def _edit_camera(config_dir: Path, camera_id: str, **changes: Any) -> None:
    path = config_dir / "cameras.yaml"
    data = yaml.safe_load(path.read_text())
    for camera in data["cameras"]:
        if camera["id"] == camera_id:
            camera.update(changes)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def _kill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)
