"""Reading a model from the environment: the base model, :func:`read_env`, one-line errors.

A model is read from the mapping it is given (``os.environ`` by default), never from
pydantic-settings' own sources, so tests pass a dict; a bad value becomes a
:class:`~rollwise.errors.ConfigError` naming the variable, never a traceback.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TypeVar

from pydantic import ValidationError
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from ..errors import ConfigError, ConfigIssue

__all__ = ["EnvSettings", "read_env", "variable_of"]

# a rejected value is echoed back, except in fields whose name says it is a secret
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
