"""DomainBackend: the domain services behind the one API both implementations serve."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ..interface import Json
from .alerts import AlertRuleService
from .cameras import CameraControlService, CameraStatus
from .commands import (
    parse_auto_start,
    parse_batch,
    parse_lines,
    parse_new_rule,
    parse_rule_changes,
)
from .models import AlertRule, Camera

__all__ = ["DomainBackend", "camera_view", "rule_view", "status_view"]


def camera_view(camera: Camera) -> Json:
    return camera.model_dump(mode="json")


def rule_view(rule: AlertRule) -> Json:
    return rule.model_dump(mode="json")


def status_view(status: CameraStatus) -> Json:
    camera, worker = status.camera, status.worker
    heartbeat = None
    if worker.last_heartbeat is not None:
        moment = datetime.fromtimestamp(worker.last_heartbeat, UTC)
        heartbeat = moment.isoformat(timespec="milliseconds")
    uptime = worker.uptime_seconds
    return {
        "camera_id": camera.id,
        "name": camera.name,
        "active": camera.active,
        "auto_start": camera.auto_start,
        "state": worker.state,
        "pid": worker.pid,
        "exit_code": worker.exit_code,
        "uptime_seconds": None if uptime is None else round(uptime, 3),
        "frames_processed": worker.frames_processed,
        "last_heartbeat": heartbeat,
    }


class DomainBackend:
    variant = "domain"

    def __init__(self, cameras: CameraControlService, rules: AlertRuleService) -> None:
        self.cameras = cameras
        self.rules = rules

    def start_camera(self, camera_id: str) -> Json:
        status, started = self.cameras.start(camera_id)
        return {"started": started, "status": status_view(status)}

    def stop_camera(self, camera_id: str) -> Json:
        status, stopped = self.cameras.stop(camera_id)
        return {"stopped": stopped, "status": status_view(status)}

    def restart_camera(self, camera_id: str) -> Json:
        status, previous = self.cameras.restart(camera_id)
        return {"previous_pid": previous, "status": status_view(status)}

    def refresh(self) -> Json:
        report = self.cameras.refresh()
        return {
            "started": list(report.started),
            "stopped": list(report.stopped),
            "unchanged": list(report.unchanged),
        }

    def camera_status(self, camera_id: str) -> Json:
        return status_view(self.cameras.status(camera_id))

    def batch_status(self, body: Any) -> Json:
        statuses = self.cameras.statuses(parse_batch(body))
        return {"cameras": [status_view(status) for status in statuses]}

    def camera_logs(self, camera_id: str, lines: str | None) -> Json:
        return {"camera_id": camera_id, "lines": self.cameras.logs(camera_id, parse_lines(lines))}

    def activate_camera(self, camera_id: str) -> Json:
        return {"camera": camera_view(self.cameras.activate(camera_id))}

    def deactivate_camera(self, camera_id: str) -> Json:
        camera, stopped = self.cameras.deactivate(camera_id)
        return {"camera": camera_view(camera), "stopped": stopped}

    def set_auto_start(self, camera_id: str, body: Any) -> Json:
        enabled = parse_auto_start(body)
        return {"camera": camera_view(self.cameras.set_auto_start(camera_id, enabled))}

    def list_rules(self) -> Json:
        return {"rules": [rule_view(rule) for rule in self.rules.list()]}

    def get_rule(self, rule_id: str) -> Json:
        return rule_view(self.rules.get(rule_id))

    def create_rule(self, body: Any) -> Json:
        return rule_view(self.rules.create(parse_new_rule(body)))

    def update_rule(self, rule_id: str, body: Any) -> Json:
        return rule_view(self.rules.update(rule_id, parse_rule_changes(rule_id, body)))
