"""The in-process SDK: the client, its options, config sources and the reporter."""

from .client import Client, ClientHealth, ClientOptions
from .reporter import Reporter, ReporterHealth, ReporterOptions
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
    "Reporter",
    "ReporterHealth",
    "ReporterOptions",
    "StaticSource",
]
