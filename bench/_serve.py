"""A real ``rollwise serve`` for benchmarks: a free loopback port, started, ready, stopped."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx

ROLLWISE = Path(sys.executable).with_name("rollwise")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running_serve(
    args: list[str], env: Mapping[str, str], *, log: IO[str] | None = None, what: str = ""
) -> Iterator[subprocess.Popen[bytes]]:
    """``rollwise serve *args`` until ``/readyz`` answers 200 on the ``--port`` or
    ``ROLLWISE_PORT`` it was given; terminated (then killed) when the block ends."""
    port = args[args.index("--port") + 1] if "--port" in args else env["ROLLWISE_PORT"]
    output = log if log is not None else subprocess.DEVNULL
    proc = subprocess.Popen(
        [str(ROLLWISE), "serve", *args], env=dict(env), stdout=output, stderr=output
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"rollwise serve did not start{what}")
            time.sleep(0.1)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
