"""Channel secrets: how the notifier registry checks and masks them, and their variable names."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Protocol

MASK = "**********"


class ChannelCodec(Protocol):
    """How channel configs are checked and shown (the server's notifier registry)."""

    def parse(self, data: Mapping[str, Any], path: str) -> dict[str, Any]:
        """The checked config with its secrets in clear (what the store keeps)."""
        ...

    def masked(self, stored: Mapping[str, Any]) -> dict[str, Any]:
        """``stored`` with each secret replaced by :data:`MASK`."""
        ...


def secret_paths(codec: ChannelCodec, config: Mapping[str, Any]) -> list[tuple[str, ...]]:
    """Where ``config`` holds secrets: top-level fields, or values of a mapping (headers)."""
    masked = codec.masked(config)
    paths: list[tuple[str, ...]] = []
    for key, value in masked.items():
        if value == MASK:
            paths.append((key,))
        elif isinstance(value, Mapping):
            paths += [(key, sub) for sub, item in value.items() if item == MASK]
    return paths


def variable_name(*parts: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "_", "_".join(parts).upper()).strip("_")
