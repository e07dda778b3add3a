"""A YAML or JSON file, re-read when it changes."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

import yaml

from ...errors import SourceError
from .._loop import PollingLoop
from .base import ConfigListener

__all__ = ["FileSource", "read_config_file"]


def read_config_file(path: Path, content: bytes | None = None) -> Any:
    """Parse a config file: JSON for ``.json``, YAML (a superset of JSON) otherwise."""
    try:
        raw = path.read_bytes() if content is None else content
    except OSError as error:
        raise SourceError(f"cannot read {path}: {error.strerror}", path=str(path)) from None
    try:
        if path.suffix.lower() == ".json":
            return json.loads(raw)
        return yaml.safe_load(raw)
    except (ValueError, yaml.YAMLError) as error:
        raise SourceError(f"{path} is not valid: {error}", path=str(path)) from None


class FileSource:
    """Watches a file by polling its status (works on every filesystem, including
    ConfigMap volumes whose symlinks are swapped atomically).

    A new file is offered to the client only when its content changed; an invalid one is
    reported once and the client keeps its last good configuration.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        poll_interval: float = 1.0,
        logger: logging.Logger | None = None,
    ) -> None:
        self.path = Path(path)
        self._loop = PollingLoop(
            f"rollwise-file-{self.path.name}", poll_interval, self.check, logger
        )
        self._listener: ConfigListener | None = None
        self._digest: bytes | None = None
        self._stat: tuple[int, int, int] | None = None
        self._lock = threading.Lock()

    def initial(self) -> tuple[Any, str]:
        content = self._read()
        self._digest = hashlib.sha256(content).digest()
        return read_config_file(self.path, content), str(self.path)

    def start(self, listener: ConfigListener) -> None:
        self._listener = listener
        self._lock = threading.Lock()  # never inherit a lock held by a thread lost in fork()
        self._loop.start()

    def close(self) -> None:
        self._loop.stop()
        self._listener = None

    def check(self) -> None:
        """Look at the file once and offer it if its content changed (the loop calls this)."""
        listener = self._listener
        if listener is None:
            return
        with self._lock:
            try:
                status = self.path.stat()
            except OSError as error:
                if self._stat is not None:
                    self._stat = None
                    listener.source_failed(
                        SourceError(
                            f"cannot read {self.path}: {error.strerror}", path=str(self.path)
                        )
                    )
                return
            signature = (status.st_mtime_ns, status.st_size, status.st_ino)
            if signature == self._stat:
                return
            self._stat = signature
            try:
                content = self._read()
            except SourceError as error:
                listener.source_failed(error)
                return
            digest = hashlib.sha256(content).digest()
            if digest == self._digest:
                return
            self._digest = digest
            try:
                data = read_config_file(self.path, content)
            except SourceError as error:
                listener.source_failed(error)
                return
            listener.config_received(data, str(self.path))

    def _read(self) -> bytes:
        try:
            return self.path.read_bytes()
        except OSError as error:
            raise SourceError(
                f"cannot read {self.path}: {error.strerror}", path=str(self.path)
            ) from None
