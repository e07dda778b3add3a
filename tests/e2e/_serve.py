"""A real ``rollwise serve`` subprocess on a loopback port, for end-to-end tests.

``rollwise_serve`` is the usual context manager; ``spawn_serve`` and ``wait_ready`` are its
two halves, for tests that need the process itself (to SIGKILL it and start another on
the same database and port).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROLLWISE = Path(sys.executable).with_name("rollwise")
ADMIN = "e2e-admin-token-0123456789"


def spawn_serve(
    database_url: str, port: int, log: Path, *, extra_env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start ``rollwise serve`` (output appended to ``log``) without waiting for it."""
    env = {**os.environ, "ROLLWISE_ADMIN_TOKEN": ADMIN, **(extra_env or {})}
    with log.open("ab") as output:
        return subprocess.Popen(
            [
                str(ROLLWISE),
                "serve",
                "--port",
                str(port),
                "--database-url",
                database_url,
                "--log-level",
                "warning",
            ],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def wait_ready(
    process: subprocess.Popen[bytes], url: str, log: Path, *, timeout: float = 90
) -> None:
    """Poll ``/readyz`` until it answers 200; RuntimeError (with the log) if the process
    exits or ``timeout`` seconds pass first."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"rollwise serve did not become ready:\n{log.read_text()}")
        time.sleep(0.1)


@contextmanager
def rollwise_serve(
    database_url: str, port: int, log: Path, *, extra_env: dict[str, str] | None = None
) -> Iterator[str]:
    """Start ``rollwise serve``, wait until ready, yield its URL; SIGTERM it afterwards."""
    process = spawn_serve(database_url, port, log, extra_env=extra_env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(process, url, log)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
