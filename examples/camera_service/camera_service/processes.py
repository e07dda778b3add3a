"""The camera workers' process manager, shared by both implementations.

One :class:`ProcessManager` per application owns every worker subprocess it started
(``python -m camera_service.worker``), so that a camera started through the legacy code is
seen running through the domain code and the other way round.

- **Start**: a new session (its own process group), stdin a pipe the manager holds (the
  worker exits when it closes), stdout discarded, stderr appended to the camera's log.
- **Stop**: SIGTERM to the worker's process group, SIGKILL after ``stop_timeout``; the
  child is always waited for (reaped), never left a zombie.
- **Status**: ``running`` while the process lives; ``crashed`` when it ended without being
  asked to (its exit code kept until the next start or stop); ``stopped`` otherwise. Frames
  processed and the last heartbeat come from the worker's state file.
- :meth:`ProcessManager.close` stops every worker (the application's lifespan calls it).

Files, per camera, under ``state_dir/cameras/<id>/``: ``state.json`` and ``worker.log``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

from ._files import tail_lines

__all__ = ["ProcessManager", "WorkerSettings", "WorkerState", "WorkerStatus"]

WorkerState = Literal["running", "stopped", "crashed"]

_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    """How workers run: frames per second, heartbeat period, patience when stopping."""

    fps: float = 10.0
    heartbeat_interval: float = 1.0
    stop_timeout: float = 5.0
    python: str = sys.executable


@dataclass(frozen=True, slots=True)
class WorkerStatus:
    """What the manager knows about one camera's worker right now."""

    camera_id: str
    state: WorkerState
    pid: int | None
    exit_code: int | None
    uptime_seconds: float | None
    frames_processed: int
    last_heartbeat: float | None  # Unix seconds of the worker's last heartbeat


@dataclass(slots=True)
class _Worker:
    process: subprocess.Popen[bytes]
    started: float  # monotonic
    stop_requested: bool = False


class ProcessManager:
    """Starts, stops and watches camera workers; thread-safe (one lock per camera)."""

    def __init__(
        self,
        state_dir: Path,
        settings: WorkerSettings | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.state_dir = Path(state_dir)
        self.settings = settings or WorkerSettings()
        self._clock = clock
        self._workers: dict[str, _Worker] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._registry_lock = threading.Lock()
        self._closed = False

    # -- files ---------------------------------------------------------------------------

    def camera_dir(self, camera_id: str) -> Path:
        return self.state_dir / "cameras" / camera_id

    def state_file(self, camera_id: str) -> Path:
        return self.camera_dir(camera_id) / "state.json"

    def log_file(self, camera_id: str) -> Path:
        return self.camera_dir(camera_id) / "worker.log"

    def tail(self, camera_id: str, lines: int) -> list[str]:
        """The last ``lines`` lines of the camera's log (empty if it has none)."""
        return tail_lines(self.log_file(camera_id), lines)

    # -- lifecycle -----------------------------------------------------------------------

    def start(self, camera_id: str, source: str) -> tuple[WorkerStatus, bool]:
        """Start the camera's worker unless it runs; returns (status, whether it started)."""
        with self._camera(camera_id):
            current = self._workers.get(camera_id)
            if current is not None and current.process.poll() is None:
                return self._status(camera_id), False
            if current is not None:
                self._forget(camera_id)
            self._spawn(camera_id, source)
            return self._status(camera_id), True

    def stop(self, camera_id: str) -> bool:
        """Stop the camera's worker; True if it was running. A crashed record is cleared."""
        with self._camera(camera_id):
            worker = self._workers.get(camera_id)
            if worker is None:
                return False
            was_running = worker.process.poll() is None
            if was_running:
                worker.stop_requested = True
                self._terminate([worker])
            self._forget(camera_id)
            return was_running

    def restart(self, camera_id: str, source: str) -> tuple[WorkerStatus, int | None]:
        """Stop (if running) and start again; returns (status, the previous pid if running)."""
        with self._camera(camera_id):
            previous: int | None = None
            worker = self._workers.get(camera_id)
            if worker is not None:
                if worker.process.poll() is None:
                    previous = worker.process.pid
                    worker.stop_requested = True
                    self._terminate([worker])
                self._forget(camera_id)
            self._spawn(camera_id, source)
            return self._status(camera_id), previous

    def status(self, camera_id: str) -> WorkerStatus:
        with self._camera(camera_id):
            return self._status(camera_id)

    def known(self) -> list[str]:
        """Cameras with a worker record (running or crashed), in start order."""
        with self._registry_lock:
            return list(self._workers)

    def close(self) -> None:
        """Stop every worker (all signalled at once, then each waited for); idempotent."""
        with self._registry_lock:
            self._closed = True
            workers = list(self._workers.values())
            self._workers.clear()
        for worker in workers:
            worker.stop_requested = True
        self._terminate([w for w in workers if w.process.poll() is None])
        for worker in workers:
            self._release(worker)

    def __enter__(self) -> ProcessManager:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- internals -----------------------------------------------------------------------

    @contextmanager
    def _camera(self, camera_id: str) -> Iterator[None]:
        with self._registry_lock:
            lock = self._locks.setdefault(camera_id, threading.Lock())
        with lock:
            yield

    def _spawn(self, camera_id: str, source: str) -> None:
        with self._registry_lock:
            if self._closed:
                raise RuntimeError("the process manager is closed")
        directory = self.camera_dir(camera_id)
        directory.mkdir(parents=True, exist_ok=True)
        state = self.state_file(camera_id)
        state.unlink(missing_ok=True)
        settings = self.settings
        command = [
            settings.python,
            "-m",
            "camera_service.worker",
            "--camera-id",
            camera_id,
            "--source",
            source,
            "--state-file",
            str(state),
            "--log-file",
            str(self.log_file(camera_id)),
            "--fps",
            repr(settings.fps),
            "--heartbeat-interval",
            repr(settings.heartbeat_interval),
            "--parent-pid",
            str(os.getpid()),
            "--watch-stdin",
        ]
        environment = dict(os.environ)
        path = environment.get("PYTHONPATH")
        environment["PYTHONPATH"] = _PACKAGE_ROOT + (os.pathsep + path if path else "")
        with self.log_file(camera_id).open("ab") as log:
            process = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=log,
                start_new_session=True,
                env=environment,
            )
        with self._registry_lock:
            self._workers[camera_id] = _Worker(process, self._clock())

    def _terminate(self, workers: list[_Worker]) -> None:
        """SIGTERM each group, wait up to the timeout, SIGKILL what is left, reap all."""
        for worker in workers:
            _signal_group(worker.process, signal.SIGTERM)
        deadline = self._clock() + self.settings.stop_timeout
        for worker in workers:
            try:
                worker.process.wait(timeout=max(0.0, deadline - self._clock()))
            except subprocess.TimeoutExpired:
                _signal_group(worker.process, signal.SIGKILL)
                worker.process.wait()

    def _forget(self, camera_id: str) -> None:
        with self._registry_lock:
            worker = self._workers.pop(camera_id, None)
        if worker is not None:
            self._release(worker)

    @staticmethod
    def _release(worker: _Worker) -> None:
        stdin: IO[bytes] | None = worker.process.stdin
        if stdin is not None:
            with suppress(OSError):
                stdin.close()
        if worker.process.poll() is None:  # only if close() raced a live one
            _signal_group(worker.process, signal.SIGKILL)
            worker.process.wait()

    def _status(self, camera_id: str) -> WorkerStatus:
        heartbeat = self._heartbeat(camera_id)
        frames = int(heartbeat.get("frames_processed", 0))
        beat = heartbeat.get("heartbeat_at")
        last = float(beat) if isinstance(beat, int | float) else None
        with self._registry_lock:
            worker = self._workers.get(camera_id)
        if worker is None:
            return WorkerStatus(camera_id, "stopped", None, None, None, frames, last)
        code = worker.process.poll()
        if code is None:
            uptime = max(0.0, self._clock() - worker.started)
            return WorkerStatus(
                camera_id, "running", worker.process.pid, None, uptime, frames, last
            )
        state: WorkerState = "stopped" if worker.stop_requested else "crashed"
        return WorkerStatus(camera_id, state, None, code, None, frames, last)

    def _heartbeat(self, camera_id: str) -> dict[str, Any]:
        try:
            data = json.loads(self.state_file(camera_id).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}


def _signal_group(process: subprocess.Popen[bytes], number: signal.Signals) -> None:
    """Signal the worker's process group (its pid: it leads a session of its own).

    Only called before the worker is reaped: until then its pid, hence the group id, cannot
    be reused by an unrelated process.
    """
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, number)
