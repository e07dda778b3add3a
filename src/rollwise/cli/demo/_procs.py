"""The demo's child processes: started in their own sessions, always stopped, never orphaned.

Each child leads a new session (so a Ctrl-C in the terminal reaches only the demo, which
then stops everything in order) and, on Linux, asks the kernel for SIGTERM when the demo
dies without cleaning up (``PR_SET_PDEATHSIG``: even a SIGKILLed demo leaves nothing
behind). Stopping is SIGTERM to the group, a grace period, then SIGKILL; finally a sweep of
``/proc`` ends any process whose command line or environment still names the demo's
working directory — the camera workers, which the camera service starts in sessions of
their own, are found that way if the service could not stop them itself.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Child", "Supervisor", "processes_mentioning"]

_PR_SET_PDEATHSIG = 1


def _death_signal_setter() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child receive SIGTERM when its parent dies (Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def set_death_signal() -> None:
        prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM))
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return set_death_signal


@dataclass
class Child:
    """One started process and the file its output goes to."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def running(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


class Supervisor:
    """Starts children and stops them all, newest first, whatever happened in between."""

    def __init__(self, workdir: Path, *, grace: float = 10.0) -> None:
        self.workdir = workdir
        self.grace = grace
        self.children: list[Child] = []

    def spawn(self, name: str, argv: Sequence[str], env: Mapping[str, str]) -> Child:
        log = self.workdir / f"{name}.log"
        with log.open("ab") as output:
            process = subprocess.Popen(
                list(argv),
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_death_signal_setter(),  # no threads run yet when the stack starts
                cwd=self.workdir,
            )
        child = Child(name, process, log)
        self.children.append(child)
        return child

    def stop_all(self) -> list[int]:
        """Stop every child (newest first) and sweep stragglers; return the pids swept."""
        while self.children:
            _stop(self.children.pop(), self.grace)
        return sweep(str(self.workdir), self.grace)


def _signal_group(pid: int, number: signal.Signals) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, number)


def _stop(child: Child, grace: float) -> None:
    """SIGTERM the child's group, wait ``grace`` seconds, SIGKILL the group; always reap."""
    if child.process.poll() is None:
        _signal_group(child.pid, signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            child.process.wait(timeout=grace)
    _signal_group(child.pid, signal.SIGKILL)  # whatever is left in its group
    if child.process.poll() is None:
        child.process.kill()
        child.process.wait()


def processes_mentioning(marker: str) -> list[int]:
    """Live processes (not zombies) of this user whose command line or environment
    contains ``marker``, this process excepted."""
    found: list[int] = []
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            stat = (entry / "stat").read_text()
            if stat.rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                continue
            texts = [(entry / "cmdline").read_bytes(), (entry / "environ").read_bytes()]
        except (OSError, IndexError):
            continue  # gone, or not ours
        if any(marker.encode() in text for text in texts):
            found.append(int(entry.name))
    return found


def sweep(marker: str, grace: float) -> list[int]:
    """End processes that still mention ``marker``: SIGTERM, then SIGKILL after ``grace``."""
    if not Path("/proc").is_dir():
        return []
    pids = processes_mentioning(marker)
    for pid in pids:
        with suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and processes_mentioning(marker):
        time.sleep(0.1)
    for pid in processes_mentioning(marker):
        with suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    return pids
