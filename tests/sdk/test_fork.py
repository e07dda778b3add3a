"""A started client survives fork(): the child evaluates and restarts its refresh loop.

This is what gunicorn --preload does: the client is created and started in the master, and
each worker is a forked child in which the master's threads do not exist. The child reports
through a pipe, one JSON line per message; every wait is bounded and the child always ends
with os._exit, so a failure can never run the rest of the test session twice.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import rollwise
from rollwise import FileSource

from .._support.fork import Send, forked
from .._support.waiting import wait_until
from ._support import flag_document, write_config


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
