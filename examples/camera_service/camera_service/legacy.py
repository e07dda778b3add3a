"""The legacy implementation, kept the way such services grow.

Procedural functions over module-level state (``CAMERAS``, ``ALERT_RULES``, ``_STATE``),
re-read from the YAML files on every request and written straight back, with loose
validation: what the code does not need it does not check, and some inputs are coerced.
This is the code the domain service replaces; it is deliberately *not* how new code is
written (module-level state means one legacy backend per process: :func:`init` rebinds it).

What it accepts that the domain service refuses is listed in the README ("Where the
implementations differ"). Writes replace the file atomically (an old truncated-file bug was
fixed that way) but take no lock: two concurrent updates may lose one of them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from ._files import write_atomic
from .errors import RequestRejected, camera_not_found, rule_not_found
from .processes import ProcessManager, WorkerStatus

__all__ = ["ALERT_RULES", "CAMERAS", "LegacyBackend", "init"]

CAMERAS: dict[str, dict[str, Any]] = {}
ALERT_RULES: list[dict[str, Any]] = []
_STATE: dict[str, Any] = {"config_dir": None, "processes": None}


def init(config_dir: Path, processes: ProcessManager) -> None:
    """Point the module at a configuration directory and the shared process manager."""
    global CAMERAS, ALERT_RULES
    _STATE["config_dir"] = Path(config_dir)
    _STATE["processes"] = processes
    CAMERAS = {}
    ALERT_RULES = []


def _procs() -> ProcessManager:
    manager: ProcessManager = _STATE["processes"]
    return manager


def _cameras_file() -> Path:
    return Path(_STATE["config_dir"]) / "cameras.yaml"


def _rules_file() -> Path:
    return Path(_STATE["config_dir"]) / "alert_rules.yaml"


def load_cameras() -> dict[str, dict[str, Any]]:
    # re-read every time (the file changes under us) and remember it module-wide; callers
    # use the dict they got back (a thread-safety fix: others may rebind CAMERAS meanwhile)
    global CAMERAS
    with open(_cameras_file(), encoding="utf-8") as f:
        data = yaml.safe_load(f) or {}
    cams = {}
    for cam in data.get("cameras") or []:
        cams[str(cam["id"])] = cam
    CAMERAS = cams
    return cams


def save_cameras(cams: dict[str, dict[str, Any]]) -> None:
    text = yaml.safe_dump({"cameras": list(cams.values())}, sort_keys=False)
    write_atomic(_cameras_file(), text)


def load_rules() -> list[dict[str, Any]]:
    global ALERT_RULES
    path = _rules_file()
    rules = []
    if path.exists():
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f) or {}
        rules = list(data.get("rules") or [])
    ALERT_RULES = rules
    return rules


def save_rules(rules: list[dict[str, Any]]) -> None:
    write_atomic(_rules_file(), yaml.safe_dump({"rules": rules}, sort_keys=False))


def get_camera(camera_id: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    cams = load_cameras()
    if camera_id not in cams:
        raise camera_not_found(camera_id)
    return cams[camera_id], cams


def camera_dict(cam: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": cam["id"],
        "name": cam.get("name", cam["id"]),
        "source": cam.get("source", ""),
        "active": cam.get("active", True),
        "auto_start": cam.get("auto_start", False),
    }


def status_dict(cam: dict[str, Any], st: WorkerStatus | None = None) -> dict[str, Any]:
    if st is None:
        st = _procs().status(cam["id"])
    hb = None
    if st.last_heartbeat is not None:
        hb = datetime.fromtimestamp(st.last_heartbeat, UTC).isoformat(timespec="milliseconds")
    return {
        "camera_id": cam["id"],
        "name": cam.get("name", cam["id"]),
        "active": cam.get("active", True),
        "auto_start": cam.get("auto_start", False),
        "state": st.state,
        "pid": st.pid,
        "exit_code": st.exit_code,
        "uptime_seconds": None if st.uptime_seconds is None else round(st.uptime_seconds, 3),
        "frames_processed": st.frames_processed,
        "last_heartbeat": hb,
    }


# -- cameras ---------------------------------------------------------------------------


def start_camera(camera_id: str) -> dict[str, Any]:
    cam, _ = get_camera(camera_id)
    # inactive cameras start too (operators start them by hand); the domain service refuses
    st, started = _procs().start(camera_id, cam.get("source", ""))
    return {"started": started, "status": status_dict(cam, st)}


def stop_camera(camera_id: str) -> dict[str, Any]:
    cam, _ = get_camera(camera_id)
    stopped = _procs().stop(camera_id)
    return {"stopped": stopped, "status": status_dict(cam)}


def restart_camera(camera_id: str) -> dict[str, Any]:
    cam, _ = get_camera(camera_id)
    st, previous = _procs().restart(camera_id, cam.get("source", ""))
    return {"previous_pid": previous, "status": status_dict(cam, st)}


def camera_status(camera_id: str) -> dict[str, Any]:
    cam, _ = get_camera(camera_id)
    return status_dict(cam)


def batch_status(body: Any) -> dict[str, Any]:
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise RequestRejected("body must be a JSON object")
    cams = load_cameras()
    ids = body.get("camera_ids") or list(cams)
    if not isinstance(ids, list):
        ids = [ids]
    out = []
    for camera_id in ids:
        camera_id = str(camera_id)
        if camera_id in cams:
            out.append(status_dict(cams[camera_id]))
        else:
            out.append({"camera_id": camera_id, "state": "unknown"})
    return {"cameras": out}


def activate_camera(camera_id: str) -> dict[str, Any]:
    cam, cams = get_camera(camera_id)
    cam["active"] = True
    save_cameras(cams)
    return {"camera": camera_dict(cam)}


def deactivate_camera(camera_id: str) -> dict[str, Any]:
    cam, cams = get_camera(camera_id)
    cam["active"] = False
    save_cameras(cams)
    stopped = _procs().stop(camera_id)
    return {"camera": camera_dict(cam), "stopped": stopped}


def set_auto_start(camera_id: str, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise RequestRejected("body must be a JSON object")
    cam, cams = get_camera(camera_id)
    cam["auto_start"] = bool(body.get("auto_start", True))
    save_cameras(cams)
    return {"camera": camera_dict(cam)}


def camera_logs(camera_id: str, lines: str | None) -> dict[str, Any]:
    get_camera(camera_id)
    try:
        n = int(lines) if lines is not None else 50
    except ValueError:
        raise RequestRejected(f"lines must be a number, got {lines!r}") from None
    path = _procs().log_file(camera_id)
    if not path.exists():
        return {"camera_id": camera_id, "lines": []}
    with open(path, encoding="utf-8", errors="replace") as f:
        all_lines = f.read().splitlines()
    return {"camera_id": camera_id, "lines": all_lines[-n:]}


def refresh() -> dict[str, Any]:
    cams = load_cameras()
    procs = _procs()
    started, stopped, unchanged = [], [], []
    for camera_id, cam in cams.items():
        st = procs.status(camera_id)
        if cam.get("active", True) and cam.get("auto_start", False):
            if st.state != "running":
                procs.start(camera_id, cam.get("source", ""))
                started.append(camera_id)
                continue
        elif not cam.get("active", True) and procs.stop(camera_id):
            stopped.append(camera_id)
            continue
        unchanged.append(camera_id)
    for camera_id in procs.known():
        if camera_id not in cams and procs.stop(camera_id):
            stopped.append(camera_id)
    return {"started": started, "stopped": stopped, "unchanged": unchanged}


# -- alert rules -----------------------------------------------------------------------


def list_rules() -> dict[str, Any]:
    return {"rules": load_rules()}


def get_rule(rule_id: str) -> dict[str, Any]:
    for rule in load_rules():
        if rule.get("id") == rule_id:
            return rule
    raise rule_not_found(rule_id)


def create_rule(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict) or "id" not in body or "metric" not in body:
        raise RequestRejected("a rule needs at least an id and a metric")
    if "threshold" not in body:
        raise RequestRejected("a rule needs a threshold")
    rule = {
        "id": body["id"],
        "camera_id": body.get("camera_id"),
        "metric": body["metric"],
        "operator": body.get("operator", ">"),
        "threshold": body["threshold"],
        "duration_seconds": body.get("duration_seconds", 0),
        "severity": body.get("severity", "warning"),
        "enabled": body.get("enabled", True),
    }
    rules = [r for r in load_rules() if r.get("id") != rule["id"]]  # same id: replaced
    rules.append(rule)
    save_rules(rules)
    return rule


def update_rule(rule_id: str, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise RequestRejected("body must be a JSON object")
    rules = load_rules()
    for rule in rules:
        if rule.get("id") == rule_id:
            rule.update(body)
            save_rules(rules)
            return rule
    # not there yet: PUT creates it (clients relied on this since v1)
    return create_rule({"id": rule_id, **body})


class LegacyBackend:
    """The legacy functions behind the :class:`~camera_service.interface.CameraBackend` API."""

    variant = "legacy"

    def start_camera(self, camera_id: str) -> dict[str, Any]:
        return start_camera(camera_id)

    def stop_camera(self, camera_id: str) -> dict[str, Any]:
        return stop_camera(camera_id)

    def restart_camera(self, camera_id: str) -> dict[str, Any]:
        return restart_camera(camera_id)

    def refresh(self) -> dict[str, Any]:
        return refresh()

    def camera_status(self, camera_id: str) -> dict[str, Any]:
        return camera_status(camera_id)

    def batch_status(self, body: Any) -> dict[str, Any]:
        return batch_status(body)

    def camera_logs(self, camera_id: str, lines: str | None) -> dict[str, Any]:
        return camera_logs(camera_id, lines)

    def activate_camera(self, camera_id: str) -> dict[str, Any]:
        return activate_camera(camera_id)

    def deactivate_camera(self, camera_id: str) -> dict[str, Any]:
        return deactivate_camera(camera_id)

    def set_auto_start(self, camera_id: str, body: Any) -> dict[str, Any]:
        return set_auto_start(camera_id, body)

    def list_rules(self) -> dict[str, Any]:
        return list_rules()

    def get_rule(self, rule_id: str) -> dict[str, Any]:
        return get_rule(rule_id)

    def create_rule(self, body: Any) -> dict[str, Any]:
        return create_rule(body)

    def update_rule(self, rule_id: str, body: Any) -> dict[str, Any]:
        return update_rule(rule_id, body)
