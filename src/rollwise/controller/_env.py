"""Reading typed values from ``ROLLWISE_*`` variables, each error naming the variable."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ..core.durations import parse_duration
from ..errors import ConfigError

__all__ = ["env_bool", "env_duration", "env_int", "env_mapping"]

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _text(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(name)
    if value is None or not value.strip():
        return None
    return value.strip()


def env_bool(environ: Mapping[str, str], name: str, default: bool) -> bool:
    text = _text(environ, name)
    if text is None:
        return default
    lowered = text.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigError.single(None, name, f"expected on or off (1/0, true/false), got {text!r}")


def env_duration(
    environ: Mapping[str, str], name: str, default: float, *, positive: bool = True
) -> float:
    """Seconds: a number (``0.2``) or a duration (``5s``, ``2m``)."""
    text = _text(environ, name)
    if text is None:
        return default
    try:
        seconds = parse_duration(text)
    except ValueError as error:
        raise ConfigError.single(None, name, str(error)) from None
    if positive and seconds <= 0:
        raise ConfigError.single(None, name, f"must be more than 0 seconds, got {text!r}")
    return seconds


def env_int(environ: Mapping[str, str], name: str, default: int, *, minimum: int = 1) -> int:
    text = _text(environ, name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise ConfigError.single(None, name, f"expected a whole number, got {text!r}") from None
    if value < minimum:
        raise ConfigError.single(None, name, f"must be at least {minimum}, got {value}")
    return value


def env_mapping(environ: Mapping[str, str], name: str) -> dict[str, Any] | None:
    """A JSON object given inline (``{"type": ...}``), or a YAML/JSON file's path."""
    text = _text(environ, name)
    if text is None:
        return None
    if text.startswith("{"):
        try:
            data: Any = json.loads(text)
        except json.JSONDecodeError as error:
            raise ConfigError.single(None, name, f"invalid JSON: {error}") from None
    else:
        path = Path(text)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as error:
            reason = f"cannot read {path}: {error.strerror or error}"
            raise ConfigError.single(None, name, reason) from None
        except yaml.YAMLError as error:
            raise ConfigError.single(None, name, f"{path} is not valid YAML: {error}") from None
    if not isinstance(data, dict):
        kind = "null" if data is None else type(data).__name__
        raise ConfigError.single(None, name, f"expected a mapping, got {kind}")
    return data
