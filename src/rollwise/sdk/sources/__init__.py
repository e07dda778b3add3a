"""Config sources: a Protocol, one module per backend, and a registry by type name."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from ...core.flags import ConfigDocument
from .base import ConfigListener, ConfigSource
from .file import FileSource
from .http import HttpOptions, HttpSource
from .static import StaticSource

__all__ = [
    "SOURCE_TYPES",
    "ConfigListener",
    "ConfigSource",
    "FileSource",
    "HttpOptions",
    "HttpSource",
    "StaticSource",
    "as_source",
]

SOURCE_TYPES: dict[str, Callable[..., ConfigSource]] = {
    "static": StaticSource,
    "file": FileSource,
    "http": HttpSource,
}
"""Source constructors by type name, for configuration that names a source by type."""


def as_source(
    source: ConfigSource | Mapping[str, Any] | ConfigDocument | str | os.PathLike[str],
) -> ConfigSource:
    """Accept the shorthands ``Client`` takes: a path means a file, a mapping a static doc."""
    if isinstance(source, str | os.PathLike):
        return FileSource(source)
    if isinstance(source, Mapping | ConfigDocument):
        return StaticSource(source)
    if isinstance(source, ConfigSource):
        return source
    raise TypeError(f"not a config source: {source!r}")
