"""The camera worker: one subprocess per started camera.

``python -m camera_service.worker --camera-id lobby --source test-pattern://smpte-bars
--state-file S --log-file L`` renders frames of a generated test pattern at ``--fps`` and
"processes" each one (mean luma and motion against the previous frame: a small pure-Python
computation, no numpy). Every ``--heartbeat-interval`` seconds it replaces the state file
(JSON: pid, frames processed, timestamps) atomically; every second or so it appends a line
to the log file.

It exits cleanly (status 0, a last heartbeat with ``"running": false``) on SIGTERM or
SIGINT, and on its own when its parent is gone: the parent's pid changes
(``--parent-pid``) or, with ``--watch-stdin``, the pipe the parent holds on its stdin reaches
end of file. So a service killed with SIGKILL leaves no worker behind for long.

Only the standard library is imported here, to start fast.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import TextIO
from urllib.parse import urlsplit

__all__ = ["PATTERNS", "main", "render"]

WIDTH, HEIGHT = 32, 24


def _smpte_bars(x: int, y: int, frame: int) -> int:
    return (7 - (x * 7) // WIDTH) * 36


def _gradient(x: int, y: int, frame: int) -> int:
    return (x * 8 + y * 4 + frame) & 0xFF


def _moving_box(x: int, y: int, frame: int) -> int:
    left = frame % (WIDTH - 8)
    return 235 if left <= x < left + 8 and 8 <= y < 16 else 16


def _noise(x: int, y: int, frame: int) -> int:
    seed = (x * 73856093) ^ (y * 19349663) ^ (frame * 83492791)
    return (seed * 1103515245 + 12345) >> 16 & 0xFF


PATTERNS: dict[str, Callable[[int, int, int], int]] = {
    "smpte-bars": _smpte_bars,
    "gradient": _gradient,
    "moving-box": _moving_box,
    "noise": _noise,
}
"""Test patterns by name: ``test-pattern://<name>``; any other source renders ``noise``."""


def pattern_of(source: str) -> tuple[str, Callable[[int, int, int], int]]:
    parts = urlsplit(source)
    if parts.scheme == "test-pattern" and parts.netloc in PATTERNS:
        return parts.netloc, PATTERNS[parts.netloc]
    return "noise", _noise


def render(pattern: Callable[[int, int, int], int], frame: int) -> bytes:
    """One grey-scale frame of ``WIDTH`` x ``HEIGHT`` pixels."""
    return bytes(pattern(x, y, frame) for y in range(HEIGHT) for x in range(WIDTH))


def _write_state(path: Path, state: dict[str, object]) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(json.dumps(state), encoding="utf-8")
    os.replace(temporary, path)


class _Worker:
    def __init__(self, options: argparse.Namespace, log: TextIO) -> None:
        self.options = options
        self.log_stream = log
        self.stopping: str | None = None
        self.state_file = Path(options.state_file)
        self.started_at = time.time()
        self.frames = 0

    def log(self, message: str) -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
        self.log_stream.write(f"{stamp} [{self.options.camera_id}] {message}\n")
        self.log_stream.flush()

    def heartbeat(self, running: bool) -> None:
        _write_state(
            self.state_file,
            {
                "camera_id": self.options.camera_id,
                "pid": os.getpid(),
                "running": running,
                "started_at": self.started_at,
                "heartbeat_at": time.time(),
                "frames_processed": self.frames,
            },
        )

    def parent_gone(self, wait: float) -> bool:
        """Sleep up to ``wait`` seconds; True as soon as the parent is known to be gone."""
        if os.getppid() != self.options.parent_pid:
            return True
        if not self.options.watch_stdin:
            time.sleep(wait)
            return False
        readable, _, _ = select.select([sys.stdin], [], [], wait)
        return bool(readable) and not os.read(sys.stdin.fileno(), 4096)

    def run(self) -> int:
        name, pattern = pattern_of(self.options.source)
        self.log(f"started pid={os.getpid()} source={self.options.source} pattern={name}")
        interval = 1.0 / self.options.fps
        heartbeat_every = self.options.heartbeat_interval
        log_every = max(1, round(self.options.fps))
        self.heartbeat(True)
        next_frame = next_heartbeat = time.monotonic()
        previous = render(pattern, 0)
        while self.stopping is None:
            frame = render(pattern, self.frames)
            luma = sum(frame) / len(frame)
            motion = sum(abs(a - b) for a, b in zip(frame, previous, strict=True)) / len(frame)
            previous = frame
            self.frames += 1
            now = time.monotonic()
            if now >= next_heartbeat:
                self.heartbeat(True)
                next_heartbeat = now + heartbeat_every
            if self.frames % log_every == 0:
                self.log(f"frame {self.frames} luma={luma:.1f} motion={motion:.1f}")
            next_frame += interval
            if self.parent_gone(max(0.0, next_frame - time.monotonic())):
                self.stopping = "parent process gone"
        self.heartbeat(False)
        self.log(f"stopped after {self.frames} frames ({self.stopping})")
        return 0

    def on_signal(self, number: int, frame: FrameType | None) -> None:
        self.stopping = f"signal {signal.Signals(number).name}"


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m camera_service.worker")
    parser.add_argument("--camera-id", required=True)
    parser.add_argument("--source", required=True)
    parser.add_argument("--state-file", required=True)
    parser.add_argument("--log-file", required=True)
    parser.add_argument("--fps", type=float, default=10.0)
    parser.add_argument("--heartbeat-interval", type=float, default=1.0)
    parser.add_argument("--parent-pid", type=int, default=os.getppid())
    parser.add_argument("--watch-stdin", action="store_true")
    options = parser.parse_args(argv)
    if not options.fps > 0 or not options.heartbeat_interval > 0:
        parser.error("--fps and --heartbeat-interval must be positive")
    return options


def main(argv: Sequence[str] | None = None) -> int:
    options = _parse(argv)
    with open(options.log_file, "a", encoding="utf-8") as log:
        worker = _Worker(options, log)
        signal.signal(signal.SIGTERM, worker.on_signal)
        signal.signal(signal.SIGINT, worker.on_signal)
        return worker.run()


if __name__ == "__main__":
    sys.exit(main())
