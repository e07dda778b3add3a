"""Helpers for telemetry tests: a settable clock and a forked child reporting through a pipe."""

from __future__ import annotations

import json
import os
import select
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rollwise.sdk.recorder import ClosedWindow, SeriesKey, SeriesTotals

Send = Callable[[dict[str, Any]], None]


class FakeClock:
    """Seconds since the epoch, moved by the test (thread-safe)."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


def window_counts(windows: list[ClosedWindow]) -> dict[tuple[float, SeriesKey], tuple[int, ...]]:
    """(window start, key) -> (requests, errors, client_errors, latency count)."""
    return {
        (window.start.timestamp(), (s.flag, s.variant, s.route)): (
            s.requests,
            s.errors,
            s.client_errors,
            s.latency.count,
        )
        for window in windows
        for s in window.series
    }


def totals_counts(totals: dict[SeriesKey, SeriesTotals]) -> dict[SeriesKey, tuple[int, ...]]:
    return {
        key: (t.requests, t.errors, t.client_errors, t.sketch.count) for key, t in totals.items()
    }


@contextmanager
def forked(child: Callable[[Send], None]) -> Iterator[Callable[[], dict[str, Any]]]:
    """Run ``child`` in a forked process; yield a function reading its next JSON report.

    The child always leaves with os._exit, so a failure never runs the test session twice;
    the parent reaps it whatever happens.
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 1
        try:
            os.close(read_end)

            def send(message: dict[str, Any]) -> None:
                os.write(write_end, json.dumps(message).encode() + b"\n")

            try:
                child(send)
                code = 0
            except BaseException as error:
                send({"error": repr(error)})
        finally:
            os._exit(code)
    os.close(write_end)
    buffer = b""

    def next_report(timeout: float = 20.0) -> dict[str, Any]:
        nonlocal buffer
        deadline = time.monotonic() + timeout
        while b"\n" not in buffer:
            ready, _, _ = select.select([read_end], [], [], max(deadline - time.monotonic(), 0))
            assert ready, f"the child sent nothing within {timeout} s"
            chunk = os.read(read_end, 65536)
            assert chunk, "the child closed the pipe without reporting"
            buffer += chunk
        line, buffer = buffer.split(b"\n", 1)
        report: dict[str, Any] = json.loads(line)
        assert "error" not in report, report
        return report

    try:
        yield next_report
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                pid = 0
                assert os.waitstatus_to_exitcode(status) == 0
                break
            time.sleep(0.01)
        assert pid == 0, "the child did not exit within 20 s"
    finally:
        if pid:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        os.close(read_end)
