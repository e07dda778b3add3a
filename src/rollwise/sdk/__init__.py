"""The in-process SDK: the client, its options and config sources."""

from .client import Client, ClientHealth, ClientOptions
from .sources import (
    ConfigListener,
    ConfigSource,
    FileSource,
    HttpOptions,
    HttpSource,
    StaticSource,
)

__all__ = [
    "Client",
    "ClientHealth",
    "ClientOptions",
    "ConfigListener",
    "ConfigSource",
    "FileSource",
    "HttpOptions",
    "HttpSource",
    "StaticSource",
]
