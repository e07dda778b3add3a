"""A fixed configuration given in code: for tests, scripts and embedded defaults."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...core.flags import ConfigDocument
from .base import ConfigListener

__all__ = ["StaticSource"]


class StaticSource:
    """Delivers one document, once; nothing to watch."""

    def __init__(self, document: Mapping[str, Any] | ConfigDocument) -> None:
        self._document = document

    def initial(self) -> tuple[Any, str]:
        return self._document, "static"

    def start(self, listener: ConfigListener) -> None:
        """Nothing changes, so there is nothing to start."""

    def close(self) -> None:
        """Nothing to release."""
