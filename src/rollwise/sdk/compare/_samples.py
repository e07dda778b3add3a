"""Turning a mismatching call into a small, redacted, JSON-friendly sample.

A sample leaves the process (the reporter ships it to the control plane), so every value
goes through the redaction hook first and is then bounded: containers are cut to a number
of items and a depth, strings to a length, and a value whose JSON is still too long is
replaced by a truncated preview. Anything that is not a JSON type becomes its ``repr``.
A string holding a lone surrogate (``json.loads('"\\ud800"')``), which UTF-8 cannot encode
and which would make the whole telemetry batch unsendable, keeps it as the text ``\\ud800``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ...core.text import printable
from ._types import Observation, Run

__all__ = ["SampleOptions", "bounded", "build_sample", "jsonable"]

_MAX_ITEMS = 50
_MAX_DEPTH = 6


@dataclass(frozen=True, slots=True)
class SampleOptions:
    """How many samples are kept and how big each may be.

    ``max_per_name`` samples are kept per comparison name between two drains (the first
    ones: later ones are dropped and counted, which also keeps the cost of a mismatch storm
    at one counter increment), and at most ``max_total`` across names. Each of a sample's
    input, control answer and candidate answer is cut to ``max_value_chars`` characters of
    JSON. ``redact(value) -> value`` is applied to every positional and keyword argument,
    every returned value and every exception message before anything is kept; a call may
    pass its own hook, which replaces this one. A hook that raises drops the sample.
    """

    max_per_name: int = 10
    max_total: int = 100
    max_value_chars: int = 2048
    redact: Callable[[Any], Any] | None = None


def jsonable(value: Any, max_chars: int, depth: int = 0) -> Any:
    """A JSON-friendly copy of ``value``, cut to a bounded size."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, str):
        text = printable(value)
        return text if len(text) <= max_chars else text[:max_chars] + "..."
    if depth >= _MAX_DEPTH:
        return _safe_repr(value, max_chars)
    if isinstance(value, Mapping):
        items = list(value.items())
        out = {
            printable(str(key)): jsonable(item, max_chars, depth + 1)
            for key, item in items[:_MAX_ITEMS]
        }
        if len(items) > _MAX_ITEMS:
            out["..."] = f"{len(items) - _MAX_ITEMS} more"
        return out
    if isinstance(value, list | tuple | set | frozenset):
        seq = list(value)
        cut = [jsonable(item, max_chars, depth + 1) for item in seq[:_MAX_ITEMS]]
        if len(seq) > _MAX_ITEMS:
            cut.append(f"... {len(seq) - _MAX_ITEMS} more")
        return cut
    return _safe_repr(value, max_chars)


def bounded(value: Any, max_chars: int) -> Any:
    """``jsonable(value)``, or a truncated preview when its JSON is longer than allowed."""
    converted = jsonable(value, max_chars)
    text = json.dumps(converted, ensure_ascii=False, separators=(",", ":"))
    if len(text) <= max_chars:
        return converted
    return {"truncated": True, "chars": len(text), "preview": text[:max_chars]}


def _safe_repr(value: Any, max_chars: int) -> str:
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - the compare call's guard: the app's broken __repr__
        text = f"<unrepresentable {type(value).__name__}>"
    return text if len(text) <= max_chars else text[:max_chars] + "..."


def _error_name(error: BaseException) -> str:
    kind = type(error)
    if kind.__module__ == "builtins":
        return kind.__qualname__
    return f"{kind.__module__}.{kind.__qualname__}"


def _answer(run: Run | None, redact: Callable[[Any], Any], max_chars: int) -> Any:
    if run is None:
        return None
    if run.error is not None:
        message = redact(str(run.error))
        return {"error": {"type": _error_name(run.error), "message": bounded(message, max_chars)}}
    return {"value": bounded(redact(run.value), max_chars)}


def _identity(value: Any) -> Any:
    return value


def build_sample(observation: Observation, options: SampleOptions, at: float) -> dict[str, Any]:
    """The sample kept for ``observation``; raises whatever the redaction hook raises."""
    redact = observation.redact or options.redact or _identity
    limit = options.max_value_chars
    arguments = {
        "args": [redact(arg) for arg in observation.args],
        "kwargs": {key: redact(arg) for key, arg in observation.kwargs.items()},
    }
    return {
        "name": observation.name,
        "flag": observation.flag,
        "variant": observation.variant,
        "primary": observation.primary,
        "outcome": observation.outcome.value,
        "at": at,
        "input": bounded(arguments, limit),
        "control": _answer(observation.control, redact, limit),
        "candidate": _answer(observation.candidate, redact, limit),
    }
