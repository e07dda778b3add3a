"""Knowing when a graceful reload has taken effect, from nginx's own processes.

``nginx -s reload`` only signals the master and returns; the master then starts workers on
the new configuration and tells the old ones to stop accepting and finish. New
connections go to new workers from the moment old ones stop listening, so the split is in
force once a new worker runs and every old worker is gone or "shutting down". This reads
that off ``/proc`` (Linux), with no URL of the user's to call.
"""

from __future__ import annotations

import time
from pathlib import Path

from ..base import RoutingError

__all__ = ["WorkerState", "wait_for_new_workers", "worker_state"]

WorkerState = dict[int, bool]
"""Worker pid → whether it is shutting down."""

_PROC = Path("/proc")


def master_pid(pid_file: Path) -> int:
    try:
        return int(pid_file.read_text().strip())
    except (OSError, ValueError) as error:
        raise RoutingError(f"cannot read nginx's pid file {pid_file}: {error}") from None


def worker_state(master: int) -> WorkerState:
    """The master's worker processes now."""
    workers: WorkerState = {}
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            if parent != master:
                continue
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError, ValueError):
            continue  # the process ended while we looked
        if "worker process" in title:
            workers[int(entry.name)] = "shutting down" in title
    return workers


def wait_for_new_workers(
    master: int, before: WorkerState, timeout: float, *, interval: float = 0.01
) -> None:
    """Return once a worker not in ``before`` runs and no old worker still accepts."""
    deadline = time.monotonic() + timeout
    while True:
        now = worker_state(master)
        fresh = [pid for pid, stopping in now.items() if pid not in before and not stopping]
        old_accepting = [pid for pid, stopping in now.items() if pid in before and not stopping]
        if fresh and not old_accepting:
            return
        if time.monotonic() > deadline:
            raise RoutingError(
                f"nginx did not switch to the new configuration within {timeout:g} s "
                f"(old workers still accepting: {old_accepting}); see its error log"
            )
        time.sleep(interval)
