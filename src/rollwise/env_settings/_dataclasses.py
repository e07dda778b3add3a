"""Settings dataclasses read from the environment: one variable per field, derived.

``ServerSettings`` and ``ControllerSettings`` are plain dataclasses the code passes around;
:func:`dataclass_env_fields` derives their variables from the fields themselves, so a field
added to one has its ``ROLLWISE_*`` variable without a second list to keep in step, and
:func:`build_dataclass` reports a rejected combination under the variables an operator sets.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any, TypeVar

from pydantic import create_model

from ..errors import ConfigError, ConfigIssue
from ._reading import EnvSettings, variable_of
from ._values import Interval, Number, Seconds, Switch, Text, WholeNumber

__all__ = ["EnvField", "build_dataclass", "dataclass_env_fields", "env_model"]

D = TypeVar("D")


@dataclasses.dataclass(frozen=True, slots=True)
class EnvField:
    """The variable suffix of one (possibly nested) dataclass field and its value type."""

    path: tuple[str, ...]
    kind: Any


def _plain_type(hint: Any) -> tuple[Any, bool] | None:
    """``(type, optional)`` when ``hint`` is a scalar (or ``X | None``) readable from text."""
    optional = False
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) != 1:
            return None
        hint, optional = args[0], True
    if hint in (bool, int, float, str, timedelta):
        return hint, optional
    return None


def _value_type(name: str, kind: Any, optional: bool) -> Any:
    value_type: Any
    if kind is bool:
        value_type = Switch
    elif kind is timedelta:
        value_type = Interval
    elif kind is float and name.endswith("_seconds"):
        value_type = Seconds(positive=False)
    elif kind is float:
        value_type = Number
    elif kind is int:
        value_type = WholeNumber(minimum=0)
    else:
        value_type = Text
    return value_type | None if optional else value_type


def dataclass_env_fields(
    cls: type[Any],
    *,
    skip: Iterable[str] = (),
    names: Mapping[str, str] | None = None,
    nested: Iterable[str] = (),
) -> dict[str, EnvField]:
    """``{variable suffix: EnvField}`` for each scalar field of ``cls``.

    ``foo_bar`` → ``foo_bar`` (``ROLLWISE_FOO_BAR``) unless ``names`` renames it (a
    documented variable such as ``ROLLWISE_CONTROLLER_TICK`` for ``tick_seconds``). The
    fields of a dataclass field listed in ``nested`` (``health``) are ``health_<field>``
    unless renamed (``"telemetry.keep_10s": "retention_10s"``). A float field ending in
    ``_seconds`` takes a duration (``30``, ``30s``, ``2m``; 0 allowed: the dataclass says
    when it is not); an int field, a whole number from 0.
    """
    renamed = dict(names or {})
    inner = set(nested)
    hints = typing.get_type_hints(cls)
    result: dict[str, EnvField] = {}
    for item in dataclasses.fields(cls):
        if item.name in skip:
            continue
        if item.name in inner:
            for name, found in dataclass_env_fields(hints[item.name]).items():
                dotted = f"{item.name}.{found.path[0]}"
                suffix = renamed.get(dotted, f"{item.name}_{name}")
                result[suffix] = EnvField((item.name, *found.path), found.kind)
            continue
        plain = _plain_type(hints[item.name])
        if plain is None:
            continue
        kind = _value_type(item.name, *plain)
        result[renamed.get(item.name, item.name)] = EnvField((item.name,), kind)
    return result


def env_model(
    name: str, fields: Mapping[str, Any], *, base: type[EnvSettings] = EnvSettings
) -> type[EnvSettings]:
    """A model named ``name`` with ``{field: type}``, every field optional (unset: None)."""
    definitions: dict[str, Any] = {key: (kind | None, None) for key, kind in fields.items()}
    model: type[EnvSettings] = create_model(name, __base__=base, **definitions)
    return model


def build_dataclass(
    cls: type[D],
    fields: Mapping[str, EnvField],
    values: EnvSettings,
    **explicit: Any,
) -> D:
    """``cls`` from the variables that were set (the rest keep their defaults).

    ``explicit`` fields (built by the caller) win over variables. A nested dataclass that
    rejects the combination (``ConfigError`` or ``ValueError``) is reported under the
    variables of its fields.
    """
    model = type(values)
    top: dict[str, Any] = {}
    inner: dict[str, dict[str, Any]] = {}
    variables: dict[str, dict[str, str]] = {}
    for suffix, found in fields.items():
        variable = variable_of(model, suffix)
        if len(found.path) == 2:
            variables.setdefault(found.path[0], {})[found.path[1]] = variable
        if suffix not in values.model_fields_set:
            continue
        value = getattr(values, suffix)
        if len(found.path) == 1:
            top[found.path[0]] = value
        else:
            inner.setdefault(found.path[0], {})[found.path[1]] = value
    defaults = {item.name: item for item in dataclasses.fields(cls)}  # type: ignore[arg-type]
    for outer, changes in inner.items():
        factory = defaults[outer].default_factory
        if factory is dataclasses.MISSING:
            continue
        try:
            top[outer] = dataclasses.replace(factory(), **changes)
        except ConfigError as error:
            raise _renamed(error, variables[outer]) from None
        except ValueError as error:
            named = ", ".join(variables[outer][name] for name in changes)
            raise ConfigError.single(None, named, str(error)) from None
    top.update(explicit)
    try:
        return cls(**top)
    except ValueError as error:
        given = {f.path[0]: s for s, f in fields.items() if len(f.path) == 1}
        named = ", ".join(variable_of(model, given[n]) for n in top if n in given)
        raise ConfigError.single(None, named or cls.__name__, str(error)) from None


def _renamed(error: ConfigError, variables: Mapping[str, str]) -> ConfigError:
    """``error`` with its field names replaced by the variables an operator sets."""

    def rename(text: str) -> str:
        for name in sorted(variables, key=len, reverse=True):
            text = re.sub(rf"\b{re.escape(name)}\b", variables[name], text)
        return text

    return ConfigError(
        [ConfigIssue(i.flag, variables.get(i.path, i.path), rename(i.reason)) for i in error.issues]
    )
