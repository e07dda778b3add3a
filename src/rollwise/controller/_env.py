"""A structured value given in one variable: inline JSON, or the path of a YAML/JSON file.

The variables themselves are read by :mod:`rollwise.env_settings`; this interprets the text
of one (``ROLLWISE_METRICS_PROVIDER_CONFIG``), each error naming the variable.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError

__all__ = ["read_mapping"]


def read_mapping(name: str, text: str) -> dict[str, Any]:
    """A JSON object given inline (``{"type": ...}``), or a YAML/JSON file's path."""
    text = text.strip()
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
