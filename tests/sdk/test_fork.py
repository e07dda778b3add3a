"""A started client survives fork(): the child evaluates and restarts its refresh loop.

This is what gunicorn --preload does: the client is created and started in the master, and
each worker is a forked child in which the master's threads do not exist. The child reports
through a pipe, one JSON line per message; every wait is bounded and the child always ends
with os._exit, so a failure can never run the rest of the test session twice.
"""

from __future__ import annotations

import json
import os
import select
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import rollwise
from rollwise import FileSource

from ._support import flag_document, wait_until, write_config

Send = Callable[[dict[str, Any]], None]


class ChildReports:
    """The parent's end of the pipe: reads the child's JSON lines with a deadline."""

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


@contextmanager
def forked(child: Callable[[Send], None]) -> Iterator[ChildReports]:
    """Run ``child`` in a forked process; yield its reports; reap it whatever happens."""
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


def _rollwise_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("rollwise")]


def test_forked_child_keeps_evaluating_and_reloading(tmp_path: Path) -> None:
    path = tmp_path / "flags.yaml"
    write_config(path, flag_document("r1", 0))
    client = rollwise.Client(FileSource(path, poll_interval=0.01)).start()

    def child(send: Send) -> None:
        send(
            {
                "revision": client.revision,
                "variant": client.variant("checkout", {"user_id": "u"}),
                "threads": _rollwise_threads(),
                "started": client.health().started,
            }
        )
        deadline = time.monotonic() + 15
        while client.revision != "r2" and time.monotonic() < deadline:
            time.sleep(0.005)
        send({"revision": client.revision, "variant": client.variant("checkout", {"user_id": "u"})})

    try:
        with forked(child) as reports:
            first = reports.next()
            assert first == {
                "revision": "r1",
                "variant": "legacy",
                "threads": ["rollwise-file-flags.yaml"],  # a fresh loop; the parent's is gone
                "started": True,
            }
            write_config(path, flag_document("r2", 10000))
            assert reports.next() == {"revision": "r2", "variant": "domain"}
        # the parent goes on too
        assert wait_until(lambda: client.revision == "r2")
        assert client.variant("checkout", {"user_id": "u"}) == "domain"
    finally:
        client.close()


def test_a_client_never_started_starts_nothing_in_the_child(tmp_path: Path) -> None:
    path = tmp_path / "flags.yaml"
    write_config(path, flag_document("r1", 10000))
    started = rollwise.Client(FileSource(path, poll_interval=0.01)).start()
    idle = rollwise.Client(FileSource(path, poll_interval=0.01))
    closed = rollwise.Client(FileSource(path, poll_interval=0.01)).start()
    closed.close()

    def child(send: Send) -> None:
        send(
            {
                "threads": _rollwise_threads(),
                "idle": idle.variant("checkout", {"user_id": "u"}),
                "closed": closed.variant("checkout", {"user_id": "u"}),
            }
        )

    try:
        with forked(child) as reports:
            assert reports.next() == {
                "threads": ["rollwise-file-flags.yaml"],  # the started client's only
                "idle": "domain",
                "closed": "domain",
            }
    finally:
        started.close()
