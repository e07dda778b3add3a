"""A rollout spec from a YAML/JSON file and command-line options (options win).

``--steps 10%/1h,25%/3d,50%/1w`` is a canary's steps; ``--gate`` is
``metric:bound=value,...`` (``error_rate:max=0.01``,
``latency_p95:max_increase=0.5,alpha=0.01``, ``mismatch_rate:max=0.001,name=answers``).
The result is checked with :func:`~rollwise.core.rollout.parse_rollout_spec` before it is
sent, so a typo is reported by field without a round trip.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import yaml

from ...core.rollout import parse_rollout_spec
from ...errors import ConfigError

__all__ = ["build_spec", "parse_gate"]

_NUMBERS = {"max", "min", "max_increase", "max_difference", "alpha"}
_INTEGERS = {"min_samples"}


def _load(path: str) -> dict[str, Any]:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError.single(None, "", f"cannot read {path}: {error.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigError.single(None, "", f"{path} is not valid YAML or JSON: {error}") from None
    if not isinstance(data, dict):
        raise ConfigError.single(None, "", f"{path} must hold a mapping (a rollout spec)")
    return data


def parse_gate(text: str, index: int) -> dict[str, Any]:
    """``metric:key=value,...`` as a gate mapping."""
    where = f"--gate {text!r}"
    metric, _, rest = text.partition(":")
    if not metric.strip():
        raise ConfigError.single(None, f"gates.{index}", f"{where}: name the metric first")
    gate: dict[str, Any] = {"metric": metric.strip()}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        key, equals, value = part.partition("=")
        key = key.strip()
        if not equals or not key:
            raise ConfigError.single(None, f"gates.{index}", f"{where}: expected key=value")
        try:
            if key in _NUMBERS:
                gate[key] = float(value)
                if not math.isfinite(gate[key]):
                    raise ValueError(value)
            elif key in _INTEGERS:
                gate[key] = int(value)
            elif key == "higher_is_worse":
                gate[key] = value.strip().lower() in ("1", "true", "yes")
            else:
                gate[key] = value.strip()
        except ValueError:
            reason = f"{where}: {key} must be a finite number, not {value!r}"
            raise ConfigError.single(None, f"gates.{index}.{key}", reason) from None
    return gate


def build_spec(
    file: str | None,
    *,
    flag: str | None = None,
    environment: str | None = None,
    variant: str | None = None,
    baseline: str | None = None,
    strategy: str | None = None,
    steps: str | None = None,
    verify: str | None = None,
    gates: list[str] | None = None,
    min_samples: int | None = None,
    max_step_duration: str | None = None,
    on_no_data: str | None = None,
) -> dict[str, Any]:
    """The spec as JSON for the API; ConfigError (field and reason) when it is not valid."""
    spec = _load(file) if file else {}
    for key, value in (
        ("flag", flag),
        ("environment", environment),
        ("variant", variant),
        ("baseline", baseline),
        ("min_samples", min_samples),
        ("max_step_duration", max_step_duration),
        ("on_no_data", on_no_data),
    ):
        if value is not None:
            spec[key] = value
    if strategy is not None or steps is not None or verify is not None:
        current = spec.get("strategy")
        chosen: dict[str, Any] = dict(current) if isinstance(current, dict) else {}
        if isinstance(current, str):
            chosen["type"] = current
        if strategy is not None:
            chosen = {"type": strategy}
        if steps is not None:
            chosen.setdefault("type", "canary")
            chosen["steps"] = [s.strip() for s in steps.split(",") if s.strip()]
        if verify is not None:
            chosen.setdefault("type", "blue_green")
            chosen["verify"] = verify
        spec["strategy"] = chosen
    if gates:
        spec["gates"] = [parse_gate(text, index) for index, text in enumerate(gates)]
    checked = parse_rollout_spec(spec)
    result: dict[str, Any] = checked.model_dump(mode="json", exclude_none=True)
    return result
