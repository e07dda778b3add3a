"""Durations as people write them in rollout specs: ``30s``, ``90m``, ``1h``, ``3d``, ``1w``.

A duration is a number of seconds (int or float), or text made of one or more
``<number><unit>`` parts (``1h30m``, ``1.5d``) with units ``s``, ``m`` (minutes), ``h``,
``d`` and ``w``. Months and years are not durations here: their length varies. Models keep
durations as float seconds, so they serialise as plain numbers and compare without units.
"""

from __future__ import annotations

import math
import re
from datetime import timedelta
from decimal import Decimal
from typing import Annotated

from pydantic import BeforeValidator

__all__ = ["Duration", "format_duration", "parse_duration"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}
_PART = re.compile(r"(\d+(?:\.\d+)?|\.\d+)\s*([smhdw])")
_NUMBER = re.compile(r"\d+(?:\.\d+)?|\.\d+")
_HINT = "use a number of seconds or text such as 30s, 90m, 1h, 3d, 1w, 1h30m"


def parse_duration(value: object) -> float:
    """Seconds in ``value``; ValueError (with the accepted forms) when it is not a duration."""
    if isinstance(value, bool):
        raise ValueError(f"expected a duration, got a boolean; {_HINT}")
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        seconds = _parse_text(value)
    else:
        raise ValueError(f"expected a duration, got {type(value).__name__}; {_HINT}")
    if not math.isfinite(seconds):
        raise ValueError(f"duration {value!r} is not finite")
    if seconds < 0:
        raise ValueError(f"duration {value!r} is negative")
    return seconds


def _parse_text(value: str) -> float:
    text = value.strip()
    if _NUMBER.fullmatch(text):
        return float(text)
    total = 0.0
    position = 0
    compact = text.replace(" ", "")
    for match in _PART.finditer(compact):
        if match.start() != position:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        position = match.end()
    if position == 0 or position != len(compact):
        raise ValueError(f"invalid duration {value!r}; {_HINT}")
    return total


def format_duration(seconds: float) -> str:
    """The shortest text :func:`parse_duration` reads back as ``seconds`` (``5400`` → ``1h30m``)."""
    if seconds < 0 or not math.isfinite(seconds):
        raise ValueError(f"not a duration: {seconds!r}")
    whole = int(seconds)
    if whole != seconds:
        return f"{Decimal(repr(seconds)):f}s"
    if whole == 0:
        return "0s"
    parts: list[str] = []
    for unit, size in sorted(_UNITS.items(), key=lambda item: -item[1]):
        count, whole = divmod(whole, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


Duration = Annotated[float, BeforeValidator(parse_duration)]
"""A pydantic field type: any form :func:`parse_duration` reads, stored as float seconds."""
