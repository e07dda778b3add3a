"""Worker processes: crash detection, stop escalation, reaping, no orphans."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from camera_service.processes import ProcessManager, WorkerSettings
from camera_service.settings import Settings

from .._support.waiting import wait_until
from ._support import FAST_WORKERS, alive, serve


def test_a_killed_worker_is_reported_crashed_then_restarted(
    settings_for: Callable[..., Settings], variant: str
) -> None:
    with serve(settings_for(), variant) as api:
        pid = api.post("/cameras/lobby/start").json()["status"]["pid"]
        wait_until(lambda: api.frames_above("lobby", 2))
        os.kill(pid, signal.SIGKILL)
        crashed = wait_until(lambda: (s := api.status("lobby"))["state"] == "crashed" and s)
        assert crashed["exit_code"] == -signal.SIGKILL
        assert crashed["pid"] is None
        assert crashed["uptime_seconds"] is None
        assert crashed["frames_processed"] > 2  # the last heartbeat before the crash
        assert not alive(pid)  # reaped, not a zombie

        restarted = api.post("/cameras/lobby/restart").json()
        assert restarted["previous_pid"] is None  # nothing was running
        assert restarted["status"]["state"] == "running"
        new_pid = restarted["status"]["pid"]
        wait_until(lambda: api.frames_above("lobby", 0))
        stop = api.post("/cameras/lobby/stop").json()
        assert stop["stopped"] is True
        assert not alive(new_pid)


def test_a_worker_exiting_on_its_own_is_crashed_and_stop_clears_it(
    settings_for: Callable[..., Settings],
) -> None:
    with serve(settings_for(), "domain") as api:
        pid = api.post("/cameras/lobby/start").json()["status"]["pid"]
        wait_until(lambda: api.frames_above("lobby", 0))  # its SIGTERM handler is set
        os.kill(pid, signal.SIGTERM)  # not through the API: nobody asked it to stop
        crashed = wait_until(lambda: (s := api.status("lobby"))["state"] == "crashed" and s)
        assert crashed["exit_code"] == 0
        assert api.post("/cameras/lobby/stop").json()["stopped"] is False
        assert api.status("lobby")["state"] == "stopped"


def test_workers_end_with_the_app_lifespan(settings_for: Callable[..., Settings]) -> None:
    with serve(settings_for(autostart_on_boot=True)) as api:
        running = [api.status(c) for c in ("lobby", "loading-dock")]
        assert all(s["state"] == "running" for s in running)
        pids = [s["pid"] for s in running]
        pids.append(api.post("/cameras/parking-north/start").json()["status"]["pid"])
        crashed = pids[0]
        os.kill(crashed, signal.SIGKILL)  # a crashed one left unreaped at shutdown
    assert not any(alive(pid) for pid in pids)


def test_stop_escalates_to_sigkill(tmp_path: Path) -> None:
    stubborn = tmp_path / "stubborn-python"
    stubborn.write_text(
        textwrap.dedent(
            f"""\
            #!{sys.executable}
            import signal, time
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            while True:
                time.sleep(1)
            """
        )
    )
    stubborn.chmod(0o755)
    settings = WorkerSettings(stop_timeout=0.3, python=str(stubborn))
    with ProcessManager(tmp_path / "state", settings) as manager:
        status, started = manager.start("lobby", "test-pattern://noise")
        assert started
        assert status.pid is not None
        pid = status.pid
        wait_until(lambda: _signal_ignored(pid, signal.SIGTERM))
        assert manager.stop("lobby") is True
        assert not alive(pid)
        assert manager.status("lobby").state == "stopped"


def test_manager_close_stops_everything_and_refuses_new_workers(tmp_path: Path) -> None:
    manager = ProcessManager(tmp_path / "state", FAST_WORKERS)
    pids = [manager.start(c, "test-pattern://gradient")[0].pid for c in ("a", "b", "c")]
    manager.close()
    assert not any(alive(pid) for pid in pids if pid is not None)
    with pytest.raises(RuntimeError, match="closed"):
        manager.start("a", "test-pattern://gradient")


def test_worker_stops_cleanly_on_sigterm_with_a_last_heartbeat(tmp_path: Path) -> None:
    state, log = tmp_path / "state.json", tmp_path / "worker.log"
    worker = subprocess.Popen(
        _worker_command(
            "w1", "test-pattern://moving-box", state, log, "--heartbeat-interval", "0.05"
        )
    )
    try:
        wait_until(lambda: state.exists() and '"frames_processed": 0' not in state.read_text())
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=10) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    final = json.loads(state.read_text())
    assert final["running"] is False
    assert final["frames_processed"] > 0
    assert "stopped after" in log.read_text().splitlines()[-1]


def test_worker_exits_when_its_parent_closes_the_pipe(tmp_path: Path) -> None:
    state, log = tmp_path / "state.json", tmp_path / "worker.log"
    worker = subprocess.Popen(
        _worker_command("w2", "test-pattern://noise", state, log, "--watch-stdin"),
        stdin=subprocess.PIPE,
    )
    try:
        wait_until(state.exists)
        assert worker.stdin is not None
        worker.stdin.close()
        assert worker.wait(timeout=10) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    assert "parent process gone" in log.read_text()


def _worker_command(camera: str, source: str, state: Path, log: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "camera_service.worker",
        *("--camera-id", camera, "--source", source, "--fps", "50"),
        *("--state-file", str(state), "--log-file", str(log)),
        *extra,
    ]


def _signal_ignored(pid: int, number: int) -> bool:
    """Whether ``pid`` ignores signal ``number`` (SigIgn in /proc/<pid>/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigIgn:"):
            return bool(int(line.split()[1], 16) & (1 << (number - 1)))
    return False
