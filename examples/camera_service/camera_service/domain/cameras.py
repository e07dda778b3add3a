"""CameraControlService: cameras' configuration and their workers, with the rules enforced.

Rules the legacy code did not have:

- an inactive camera cannot be started or restarted, nor get auto-start turned on
  (:class:`~camera_service.errors.Conflict` ``camera_inactive``); deactivating a camera
  stops its worker and leaves its auto-start setting dormant;
- configuration changes are transactions on ``cameras.yaml``: validated as a whole, written
  atomically, never half-applied, and serialized with every other writer of the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import Conflict, NotFound, camera_not_found
from ..processes import ProcessManager, WorkerStatus
from .models import Camera, CameraRegistry
from .store import YamlStore

__all__ = ["CameraControlService", "CameraStatus", "RefreshReport"]


@dataclass(frozen=True, slots=True)
class CameraStatus:
    camera: Camera
    worker: WorkerStatus


@dataclass(frozen=True, slots=True)
class RefreshReport:
    started: tuple[str, ...]
    stopped: tuple[str, ...]
    unchanged: tuple[str, ...]


class CameraControlService:
    def __init__(self, cameras: YamlStore[CameraRegistry], processes: ProcessManager) -> None:
        self._cameras = cameras
        self._processes = processes

    # -- reads ---------------------------------------------------------------------------

    def camera(self, camera_id: str) -> Camera:
        camera = self._cameras.load().find(camera_id)
        if camera is None:
            raise camera_not_found(camera_id)
        return camera

    def status(self, camera_id: str) -> CameraStatus:
        camera = self.camera(camera_id)
        return CameraStatus(camera, self._processes.status(camera.id))

    def statuses(self, camera_ids: Sequence[str]) -> list[CameraStatus]:
        """Every camera's status, in the order asked; all must exist (else nothing)."""
        registry = self._cameras.load()
        missing = [camera_id for camera_id in camera_ids if registry.find(camera_id) is None]
        if missing:
            raise NotFound(
                f"unknown camera ids: {', '.join(missing)}",
                code="unknown_cameras",
                camera_ids=missing,
            )
        cameras = [registry.find(camera_id) for camera_id in camera_ids]
        return [CameraStatus(c, self._processes.status(c.id)) for c in cameras if c is not None]

    def logs(self, camera_id: str, lines: int) -> list[str]:
        return self._processes.tail(self.camera(camera_id).id, lines)

    # -- workers -------------------------------------------------------------------------

    def start(self, camera_id: str) -> tuple[CameraStatus, bool]:
        camera = self._require_active(camera_id, "start")
        worker, started = self._processes.start(camera.id, camera.source)
        return CameraStatus(camera, worker), started

    def stop(self, camera_id: str) -> tuple[CameraStatus, bool]:
        camera = self.camera(camera_id)
        stopped = self._processes.stop(camera.id)
        return CameraStatus(camera, self._processes.status(camera.id)), stopped

    def restart(self, camera_id: str) -> tuple[CameraStatus, int | None]:
        camera = self._require_active(camera_id, "restart")
        worker, previous = self._processes.restart(camera.id, camera.source)
        return CameraStatus(camera, worker), previous

    def refresh(self) -> RefreshReport:
        """Make the workers match the configuration.

        Active auto-start cameras run (started if stopped or crashed); inactive cameras and
        cameras no longer configured are stopped; the rest is left as it is.
        """
        registry = self._cameras.load()
        started: list[str] = []
        stopped: list[str] = []
        unchanged: list[str] = []
        for camera in registry.cameras:
            if camera.active and camera.auto_start:
                if self._processes.status(camera.id).state != "running":
                    self._processes.start(camera.id, camera.source)
                    started.append(camera.id)
                    continue
            elif not camera.active and self._processes.stop(camera.id):
                stopped.append(camera.id)
                continue
            unchanged.append(camera.id)
        for camera_id in self._processes.known():
            if registry.find(camera_id) is None and self._processes.stop(camera_id):
                stopped.append(camera_id)
        return RefreshReport(tuple(started), tuple(stopped), tuple(unchanged))

    # -- configuration -------------------------------------------------------------------

    def activate(self, camera_id: str) -> Camera:
        return self._update(camera_id, active=True)

    def deactivate(self, camera_id: str) -> tuple[Camera, bool]:
        camera = self._update(camera_id, active=False)
        return camera, self._processes.stop(camera.id)

    def set_auto_start(self, camera_id: str, enabled: bool) -> Camera:
        with self._cameras.transaction() as tx:
            camera = tx.document.find(camera_id)
            if camera is None:
                raise camera_not_found(camera_id)
            if enabled and not camera.active:
                raise _inactive(camera, "enable auto-start on")
            if camera.auto_start != enabled:
                camera = camera.model_copy(update={"auto_start": enabled})
                tx.document = tx.document.replace(camera)
            return camera

    def _update(self, camera_id: str, *, active: bool) -> Camera:
        with self._cameras.transaction() as tx:
            camera = tx.document.find(camera_id)
            if camera is None:
                raise camera_not_found(camera_id)
            if camera.active != active:
                camera = camera.model_copy(update={"active": active})
                tx.document = tx.document.replace(camera)
            return camera

    def _require_active(self, camera_id: str, action: str) -> Camera:
        camera = self.camera(camera_id)
        if not camera.active:
            raise _inactive(camera, action)
        return camera


def _inactive(camera: Camera, action: str) -> Conflict:
    return Conflict(
        f"camera {camera.id!r} is inactive: activate it before you {action} it",
        code="camera_inactive",
        camera_id=camera.id,
    )
