"""Putting managed files in place so that nginx never runs a config it refused.

The new text is written beside the file and renamed over it (a reader sees the old file or
the new one, never half of one); ``nginx -t`` then checks the whole configuration. If it
refuses, the previous files are put back (or removed, if there were none) before anything
is reloaded, so the running nginx and the files on disk stay on the last good split.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..base import RoutingError

__all__ = ["install_checked", "run_command"]


def run_command(argv: Sequence[str], timeout: float, what: str) -> str:
    """Run ``argv``; its output, or RoutingError with what it printed."""
    try:
        result = subprocess.run(
            list(argv), capture_output=True, text=True, timeout=timeout, check=False
        )
    except FileNotFoundError:
        raise RoutingError(f"{what}: {argv[0]!r} was not found", command=list(argv)) from None
    except subprocess.TimeoutExpired:
        raise RoutingError(f"{what}: no answer within {timeout:g} s", command=list(argv)) from None
    output = (result.stderr + result.stdout).strip()
    if result.returncode != 0:
        raise RoutingError(
            f"{what} failed (exit {result.returncode}): {output or 'no output'}",
            command=list(argv),
            exit_code=result.returncode,
        )
    return output


def install_checked(files: Mapping[Path, str], test_command: Sequence[str], timeout: float) -> None:
    """Write ``files`` and run ``test_command``; on refusal restore the old ones and raise."""
    previous = {path: _read(path) for path in files}
    try:
        for path, text in files.items():
            _write_atomically(path, text)
        run_command(test_command, timeout, "nginx refused the new configuration")
    except BaseException:
        for path, old in previous.items():
            if old is None:
                path.unlink(missing_ok=True)
            else:
                _write_atomically(path, old)
        raise


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except FileNotFoundError:
        return None


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with temporary.open("w") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)
