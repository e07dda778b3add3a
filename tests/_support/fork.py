"""Running a piece of a test in a forked child that reports back through a pipe.

This is what gunicorn --preload does to the SDK: objects created in the master, used in a
worker in which the master's threads do not exist. The child sends one JSON line per message;
every wait is bounded and the child always leaves with ``os._exit``, so a failure can never
run the rest of the test session twice.
"""

from __future__ import annotations

import json
import os
import select
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

Send = Callable[[dict[str, Any]], None]
"""What the child calls to report one JSON-serializable message to the parent."""


class ChildReports:
    """The parent's end of the pipe: reads the child's JSON lines with a deadline.

    ``reports.next()`` and ``reports()`` are the same: the child's next message. A message
    with an ``error`` key (the child raised) fails the test with the child's error.
    """

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._buffer = b""

    def next(self, timeout: float = 20.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([self._fd], [], [], max(remaining, 0))
            assert ready, f"the child sent nothing within {timeout} s"
            chunk = os.read(self._fd, 65536)
            assert chunk, "the child closed the pipe without reporting"
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        report: dict[str, Any] = json.loads(line)
        assert "error" not in report, report
        return report

    __call__ = next


@contextmanager
def forked(child: Callable[[Send], None]) -> Iterator[ChildReports]:
    """Run ``child`` in a forked process; yield its reports; reap it whatever happens.

    On a clean exit of the block the child must have exited 0 within 20 s.
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
            except BaseException as error:  # report anything, then leave
                send({"error": repr(error)})
        finally:
            os._exit(code)
    os.close(write_end)
    try:
        yield ChildReports(read_end)
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
        os.close(read_end)
        if pid:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
