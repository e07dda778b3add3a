"""The last good config on disk, so an SDK can start while the control plane is down."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["DiskCache"]


class DiskCache:
    """One JSON file holding ``{"etag": ..., "document": ...}``, replaced atomically."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def load(self) -> tuple[Any, str | None] | None:
        try:
            stored = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(stored, dict) or "document" not in stored:
            return None
        etag = stored.get("etag")
        return stored["document"], etag if isinstance(etag, str) else None

    def save(self, document: Any, etag: str | None) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".rollwise-", dir=self.path.parent)
        try:
            with os.fdopen(handle, "w") as file:
                json.dump({"etag": etag, "document": document}, file)
            os.replace(temporary, self.path)
        except BaseException:  # not caught: the temporary file is removed and it re-raises
            Path(temporary).unlink(missing_ok=True)
            raise
