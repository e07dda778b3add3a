"""Extension points by type name: a typed config model and a factory for each type.

Notifiers and metric providers are both chosen by a ``type`` field in configuration that
may come from YAML, JSON or an API request. A :class:`TypedRegistry` is a plain object (no
process-wide registry to mutate): each type registers a pydantic config model, whose
``type`` field is ``Literal[<name>]``, and a factory from that config to the product.

``parse`` turns untrusted data into a typed config and reports every problem as a
:class:`~rollwise.errors.ConfigError` naming the field and the reason; ``build`` parses and
calls the type's factory.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, get_args

from pydantic import BaseModel, ValidationError

from .errors import ConfigError, field_path, validation_issues

__all__ = ["TypedRegistry"]

ConfigT = TypeVar("ConfigT", bound=BaseModel)
ProductT = TypeVar("ProductT")
C = TypeVar("C", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class _Entry(Generic[ProductT]):
    config_model: type[BaseModel]
    factory: Callable[[Any], ProductT]


class TypedRegistry(Generic[ConfigT, ProductT]):
    """Types by name, each a config model (a subclass of ``base``) and a factory.

    ``kind`` names what is built, in messages ("notifier", "provider").
    """

    def __init__(self, base: type[ConfigT], kind: str) -> None:
        self._base = base
        self._kind = kind
        self._entries: dict[str, _Entry[ProductT]] = {}

    def register(
        self,
        type_name: str,
        factory: Callable[[C], ProductT],
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
        if not issubclass(config_model, self._base):
            raise ValueError(f"{config_model.__name__} must subclass {self._base.__name__}")
        if type_name in self._entries and not replace:
            raise ValueError(f"{self._kind} type {type_name!r} is already registered")
        self._entries[type_name] = _Entry(config_model, factory)

    @property
    def types(self) -> tuple[str, ...]:
        return tuple(sorted(self._entries))

    def __contains__(self, type_name: object) -> bool:
        return type_name in self._entries

    def parse(self, data: Mapping[str, Any] | ConfigT, *, path: str = "") -> ConfigT:
        """A typed config from ``data``, or a ConfigError naming each bad field."""
        where = field_path(path, ["type"])
        if isinstance(data, self._base):
            entry = self._entries.get(getattr(data, "type", None))  # type: ignore[arg-type]
            if entry is None or not isinstance(data, entry.config_model):
                raise ConfigError.single(None, where, self._unknown(getattr(data, "type", None)))
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
            parsed = entry.config_model.model_validate(data)
        except ValidationError as error:
            raise ConfigError(validation_issues(error, path=path)) from None
        assert isinstance(parsed, self._base)
        return parsed

    def build(self, config: Mapping[str, Any] | ConfigT) -> ProductT:
        """The product for ``config`` (validated first if it is raw data)."""
        parsed = self.parse(config)
        return self._entries[getattr(parsed, "type")].factory(parsed)  # noqa: B009

    def _unknown(self, type_name: object) -> str:
        return f"unknown {self._kind} type {type_name!r}; known types: {', '.join(self.types)}"
