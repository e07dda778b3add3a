"""Provider configs by type name, and the factories that turn them into providers.

A :class:`ProviderRegistry` is a plain object: :func:`default_registry` makes one with the
built-in types (``builtin``, ``prometheus``, ``nop``) and their dependencies injected; add
your own with ``register``. There is no process-wide registry to mutate.

``parse`` turns untrusted data (YAML, JSON, API input) into a typed config and reports
every problem as a :class:`~rollwise.errors.ConfigError` naming the field and the reason;
``build`` does that and calls the type's factory.
"""

from __future__ import annotations

from typing import Annotated

import httpx
from pydantic import Field

from ..._registry import TypedRegistry
from ...errors import ConfigError
from ._config import ProviderConfigBase
from ._process import ProcessReader
from ._units import UnitReader
from .base import MetricProvider
from .builtin import BuiltinConfig, BuiltinProvider, WindowReader
from .nop import NopConfig, NopProvider
from .prometheus import PrometheusConfig, PrometheusProvider

__all__ = ["ProviderConfig", "ProviderRegistry", "default_registry"]

ProviderConfig = Annotated[
    BuiltinConfig | PrometheusConfig | NopConfig, Field(discriminator="type")
]
"""The built-in provider configs as one pydantic type, for embedding in larger models."""


class ProviderRegistry(TypedRegistry[ProviderConfigBase, MetricProvider]):
    """Provider types by name: each a config model and a factory from config to provider."""

    def __init__(self) -> None:
        super().__init__(ProviderConfigBase, "provider")


def default_registry(
    *,
    window_reader: WindowReader | None = None,
    process_reader: ProcessReader | None = None,
    unit_reader: UnitReader | None = None,
    http_transport: httpx.BaseTransport | None = None,
    http_client: httpx.Client | None = None,
) -> ProviderRegistry:
    """A new registry with the built-in types, their dependencies injected.

    ``window_reader`` is the store's window query for ``builtin`` (``process_reader`` its
    process samples, for ``cpu``/``memory`` gates; ``unit_reader`` its distinct-unit
    sketches, for ``failing_units`` gates) (building a builtin
    provider without one is a ConfigError); ``http_transport`` or a borrowed
    ``http_client`` go to ``prometheus``.
    """

    def builtin(config: BuiltinConfig) -> MetricProvider:
        if window_reader is None:
            raise ConfigError.single(
                None, "type", "the builtin provider needs the control plane's telemetry store"
            )
        return BuiltinProvider(
            window_reader, config, process_reader=process_reader, unit_reader=unit_reader
        )

    def prometheus(config: PrometheusConfig) -> MetricProvider:
        return PrometheusProvider(config, transport=http_transport, client=http_client)

    registry = ProviderRegistry()
    registry.register("builtin", builtin, BuiltinConfig)
    registry.register("prometheus", prometheus, PrometheusConfig)
    registry.register("nop", NopProvider, NopConfig)
    return registry
