"""The config source Protocol: where a client's flag configuration comes from.

A source hands raw documents (parsed JSON/YAML data) to a listener; the client validates
and compiles them, and keeps its last good configuration when a new one is invalid. Sources
start no thread before ``start()`` and must accept ``start()`` again in a forked child,
where their thread no longer exists.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from ...errors import SourceError

__all__ = ["ConfigListener", "ConfigSource"]


class ConfigListener(Protocol):
    """What a source reports to (the client)."""

    def config_received(self, data: Any, origin: str) -> bool:
        """Offer a new document; returns whether it was valid and is now in use."""
        ...

    def source_failed(self, error: SourceError) -> None:
        """Report that a document could not be fetched or parsed (the last good one stays)."""
        ...


@runtime_checkable
class ConfigSource(Protocol):
    """A place configuration comes from: a dict, a file, the control plane."""

    def initial(self) -> tuple[Any, str] | None:
        """A first document and its origin, available now without a background thread.

        Returns None when there is none yet; raises SourceError when there should have been
        one and it could not be read. Bounded in time: it never blocks application start-up
        for long (the HTTP source bounds it and falls back to its disk cache).
        """
        ...

    def start(self, listener: ConfigListener) -> None:
        """Begin delivering updates to ``listener``. Idempotent; restarts after fork()."""
        ...

    def close(self) -> None:
        """Stop delivering updates and release resources. Idempotent."""
        ...
