"""The one way rollwise reads ``ROLLWISE_*`` variables: pydantic-settings models.

Each component (server, controller, CLI, the camera example) declares a small
:class:`EnvSettings` model whose field ``foo_bar`` is the variable ``ROLLWISE_FOO_BAR``
(the prefix is the model's), typed with the annotated types below so that a bad value is
one line naming the variable and the reason (:class:`~rollwise.errors.ConfigError`)
instead of a traceback. :func:`dataclass_env_fields` derives the fields of a settings
dataclass, so that a field added to ``ServerSettings`` or ``ControllerSettings`` has its
variable without a second list to keep in step.

Needs the ``pydantic-settings`` package (the ``cli`` and ``server`` extras).
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from typing import Annotated, Any, TypeVar

from pydantic import BeforeValidator, ValidationError, create_model
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from .core.durations import parse_duration
from .errors import ConfigError, ConfigIssue

__all__ = [
    "DEFAULT_DATABASE_URL",
    "DatabaseEnv",
    "DatabaseUrl",
    "EnvField",
    "EnvSettings",
    "Interval",
    "Number",
    "Seconds",
    "Switch",
    "Text",
    "WholeNumber",
    "build_dataclass",
    "database_url_from_env",
    "dataclass_env_fields",
    "env_model",
    "read_env",
    "variable_of",
    "whole_number",
]

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_SECRET_WORDS = ("token", "key", "password", "secret")


class EnvSettings(BaseSettings):
    """Base of every ``ROLLWISE_*`` model: read only through :func:`read_env`.

    Empty variables count as unset; unknown ``ROLLWISE_*`` variables are ignored (the SDK's
    ``ROLLWISE_FLAG_<KEY>`` switches share the prefix).
    """

    model_config = SettingsConfigDict(
        env_prefix="ROLLWISE_",
        case_sensitive=False,
        env_ignore_empty=True,
        extra="ignore",
        frozen=True,
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # read_env hands the values over: the environment it was given, not always os.environ
        return (init_settings,)


class _MappingSource(EnvSettingsSource):
    """pydantic-settings' environment source over a given mapping (tests pass a dict)."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {k.lower(): v.strip() for k, v in self._environ.items() if v.strip()}


M = TypeVar("M", bound=EnvSettings)
D = TypeVar("D")


def read_env(model: type[M], environ: Mapping[str, str] | None = None) -> M:
    """``model`` from ``environ`` (default ``os.environ``); ConfigError naming the variable."""
    env = os.environ if environ is None else environ
    try:
        return model(**_MappingSource(model, env)())
    except ValidationError as error:
        raise _config_error(model, error) from None


def variable_of(model: type[EnvSettings], name: str) -> str:
    """The environment variable of field ``name`` (``ROLLWISE_`` + the name, upper case)."""
    prefix = model.model_config.get("env_prefix") or ""
    return f"{prefix}{name}".upper()


def _config_error(model: type[EnvSettings], error: ValidationError) -> ConfigError:
    issues = []
    for detail in error.errors(include_url=False):
        name = str(detail["loc"][0]) if detail["loc"] else ""
        variable = variable_of(model, name) if name else model.__name__
        context = detail.get("ctx") or {}
        if detail["type"] == "value_error" and "error" in context:
            reason = str(context["error"])
        else:
            reason = detail["msg"][:1].lower() + detail["msg"][1:]
            if not any(word in name for word in _SECRET_WORDS):
                reason += f", got {detail['input']!r}"
        issues.append(ConfigIssue(None, variable, reason))
    return ConfigError(issues)


# -- value types: each accepts the text of a variable, or the typed value itself ----------


def whole_number(minimum: int | None, maximum: int | None) -> Callable[[object], int]:
    """A validator of an ``int`` written as digits, within ``[minimum, maximum]``."""

    def parse(value: object) -> int:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValueError(f"expected a whole number, got {value!r}")
        if isinstance(value, str):
            try:
                value = int(value.strip())
            except ValueError:
                raise ValueError(f"expected a whole number, got {value!r}") from None
        if minimum is not None and value < minimum:
            raise ValueError(f"must be at least {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise ValueError(f"must be at most {maximum}, got {value}")
        return value

    return parse


def WholeNumber(minimum: int | None = 1, maximum: int | None = None) -> Any:
    """An ``int`` written as digits, within ``[minimum, maximum]``."""
    return Annotated[int, BeforeValidator(whole_number(minimum, maximum))]


def _seconds(positive: bool) -> Callable[[object], float]:
    def parse(value: object) -> float:
        seconds = parse_duration(value)
        if positive and seconds <= 0:
            raise ValueError(f"must be more than 0 seconds, got {value!r}")
        return seconds

    return parse


def Seconds(*, positive: bool = True) -> Any:
    """Seconds as a number (``0.2``) or a duration (``5s``, ``2m``, ``1h30m``)."""
    return Annotated[float, BeforeValidator(_seconds(positive))]


def _interval(value: object) -> timedelta:
    seconds = parse_duration(value)
    if seconds <= 0:
        raise ValueError(f"must be more than 0 seconds, got {value!r}")
    return timedelta(seconds=seconds)


Interval = Annotated[timedelta, BeforeValidator(_interval)]
"""A positive duration as a ``timedelta`` (``2d``, ``36h``)."""


def _switch(value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"expected on or off (1/0, true/false, yes/no), got {value!r}")


Switch = Annotated[bool, BeforeValidator(_switch)]
"""On or off: ``1/0``, ``true/false``, ``yes/no``, ``on/off``."""


def _number(value: object) -> float:
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {value!r}")
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"expected a number, got {value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"expected a finite number, got {value!r}")
    return number


Number = Annotated[float, BeforeValidator(_number)]


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected text, got {value!r}")
    return value.strip()


Text = Annotated[str, BeforeValidator(_text)]


def _database_url(value: object) -> str:
    """A SQLAlchemy URL of a backend the store runs on (SQLite or PostgreSQL)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    text = _text(value)
    try:
        url = make_url(text)
    except ArgumentError:
        raise ValueError(
            f"{text!r} is not a database URL; use sqlite:///path/to/rollwise.db or "
            "postgresql://user:password@host/database"
        ) from None
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise ValueError(
            f"unsupported database {url.get_backend_name()!r}; use sqlite:///path or "
            "postgresql://user:password@host/database"
        )
    return text


DatabaseUrl = Annotated[str, BeforeValidator(_database_url)]
"""``ROLLWISE_DATABASE_URL``: ``sqlite:///...`` or ``postgresql://...`` (checked, not opened)."""

DEFAULT_DATABASE_URL = "sqlite:///./rollwise.db"


class DatabaseEnv(EnvSettings):
    database_url: DatabaseUrl = DEFAULT_DATABASE_URL


def database_url_from_env(
    given: str | None = None, environ: Mapping[str, str] | None = None
) -> str:
    """``given`` (a ``--database-url``) or ``ROLLWISE_DATABASE_URL`` or SQLite, checked."""
    env = dict(os.environ if environ is None else environ)
    if given is not None:
        env["ROLLWISE_DATABASE_URL"] = given
    return read_env(DatabaseEnv, env).database_url


# -- settings dataclasses: one variable per field, derived --------------------------------


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
