"""Provider configs by type name, and the factories that turn them into providers.

A :class:`ProviderRegistry` is a plain object: :func:`default_registry` makes one with the
built-in types (``builtin``, ``prometheus``, ``nop``) and their dependencies injected; add
your own with ``register``. There is no process-wide registry to mutate.

``parse`` turns untrusted data (YAML, JSON, API input) into a typed config and reports
every problem as a :class:`~rollwise.errors.ConfigError` naming the field and the reason;
``build`` does that and calls the type's factory.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar, get_args

import httpx
from pydantic import Field, ValidationError

from ...errors import ConfigError
from ._config import ProviderConfigBase, issues_from, join_path
from .base import MetricProvider
from .builtin import BuiltinConfig, BuiltinProvider, WindowReader
from .nop import NopConfig, NopProvider
from .prometheus import PrometheusConfig, PrometheusProvider

__all__ = ["ProviderConfig", "ProviderRegistry", "default_registry"]

C = TypeVar("C", bound=ProviderConfigBase)

ProviderConfig = Annotated[
    BuiltinConfig | PrometheusConfig | NopConfig, Field(discriminator="type")
]
"""The built-in provider configs as one pydantic type, for embedding in larger models."""


@dataclass(frozen=True, slots=True)
class _Entry:
    config_model: type[ProviderConfigBase]
    factory: Callable[[Any], MetricProvider]


class ProviderRegistry:
    """Provider types by name: each a config model and a factory from config to provider."""

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}

    def register(
        self,
        type_name: str,
        factory: Callable[[C], MetricProvider],
        config_model: type[C],
        *,
        replace: bool = False,
    ) -> None:
        """Add a type. ``config_model.type`` must be ``Literal[type_name]``."""
        field = config_model.model_fields.get("type")
        if field is None or get_args(field.annotation) != (type_name,):
            raise ValueError(
                f"{config_model.__name__}.type must be Literal[{type_name!r}] to register it"
            )
        if type_name in self._entries and not replace:
            raise ValueError(f"provider type {type_name!r} is already registered")
        self._entries[type_name] = _Entry(config_model, factory)

    @property
    def types(self) -> tuple[str, ...]:
        return tuple(sorted(self._entries))

    def __contains__(self, type_name: object) -> bool:
        return type_name in self._entries

    def parse(
        self, data: Mapping[str, Any] | ProviderConfigBase, *, path: str = ""
    ) -> ProviderConfigBase:
        """A typed config from ``data``, or a ConfigError naming each bad field."""
        where = join_path(path, ["type"])
        if isinstance(data, ProviderConfigBase):
            entry = self._entries.get(data.type)
            if entry is None or not isinstance(data, entry.config_model):
                raise ConfigError.single(None, where, self._unknown(data.type))
            return data
        if not isinstance(data, Mapping):
            raise ConfigError.single(None, path, f"expected a mapping, got {type(data).__name__}")
        type_name = data.get("type")
        if type_name is None:
            raise ConfigError.single(None, where, f"required: one of {', '.join(self.types)}")
        entry = self._entries.get(type_name) if isinstance(type_name, str) else None
        if entry is None:
            raise ConfigError.single(None, where, self._unknown(type_name))
        try:
            return entry.config_model.model_validate(data)
        except ValidationError as error:
            raise ConfigError(issues_from(error, path)) from None

    def build(self, config: Mapping[str, Any] | ProviderConfigBase) -> MetricProvider:
        """The provider for ``config`` (validated first if it is raw data)."""
        parsed = self.parse(config)
        return self._entries[parsed.type].factory(parsed)

    def _unknown(self, type_name: object) -> str:
        return f"unknown provider type {type_name!r}; known types: {', '.join(self.types)}"


def default_registry(
    *,
    window_reader: WindowReader | None = None,
    http_transport: httpx.BaseTransport | None = None,
    http_client: httpx.Client | None = None,
) -> ProviderRegistry:
    """A new registry with the built-in types, their dependencies injected.

    ``window_reader`` is the store's window query for ``builtin`` (building a builtin
    provider without one is a ConfigError); ``http_transport`` or a borrowed
    ``http_client`` go to ``prometheus``.
    """

    def builtin(config: BuiltinConfig) -> MetricProvider:
        if window_reader is None:
            raise ConfigError.single(
                None, "type", "the builtin provider needs the control plane's telemetry store"
            )
        return BuiltinProvider(window_reader, config)

    def prometheus(config: PrometheusConfig) -> MetricProvider:
        return PrometheusProvider(config, transport=http_transport, client=http_client)

    registry = ProviderRegistry()
    registry.register("builtin", builtin, BuiltinConfig)
    registry.register("prometheus", prometheus, PrometheusConfig)
    registry.register("nop", NopProvider, NopConfig)
    return registry
