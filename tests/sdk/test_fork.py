"""A started client survives fork(): the child evaluates and restarts its refresh loop.

This is what gunicorn --preload does: the client is created and started in the master, and
each worker is a forked child in which the master's threads do not exist.
"""

from __future__ import annotations

import json
import os
import select
import threading
import time
from pathlib import Path

import rollwise
from rollwise import FileSource

from ._support import flag_document, wait_until, write_config


def _child(client: rollwise.Client, write_end: int) -> None:
    report: dict[str, object] = {}
    try:
        report["first"] = client.variant("checkout", {"user_id": "u"})
        report["threads"] = [t.name for t in threading.enumerate()]
        deadline = time.monotonic() + 10
        while client.revision != "r2" and time.monotonic() < deadline:
            time.sleep(0.01)
        report["revision"] = client.revision
        report["after"] = client.variant("checkout", {"user_id": "u"})
    except BaseException as error:  # report anything, never let the child escape into pytest
        report["error"] = repr(error)
    finally:
        os.write(write_end, json.dumps(report).encode())
        os._exit(0)


def test_forked_child_keeps_evaluating_and_reloading(tmp_path: Path) -> None:
    path = tmp_path / "flags.yaml"
    write_config(path, flag_document("r1", 0))
    client = rollwise.Client(FileSource(path, poll_interval=0.02)).start()
    try:
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            os.close(read_end)
            _child(client, write_end)
        os.close(write_end)
        time.sleep(0.2)  # let the child evaluate the first configuration
        write_config(path, flag_document("r2", 10000))
        ready, _, _ = select.select([read_end], [], [], 20)
        assert ready, "the child did not report within 20 s"
        report = json.loads(os.read(read_end, 65536).decode())
        os.close(read_end)
        _, status = os.waitpid(pid, 0)
        assert os.WEXITSTATUS(status) == 0
        assert "error" not in report, report
        assert report["first"] == "legacy"
        assert any(name.startswith("rollwise-file") for name in report["threads"])
        assert report["revision"] == "r2"
        assert report["after"] == "domain"
        # the parent goes on too
        assert wait_until(lambda: client.revision == "r2")
    finally:
        client.close()
