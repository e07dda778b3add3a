"""The value types of ``ROLLWISE_*`` fields: each accepts a variable's text or the value.

Annotated types with a before-validator, so that ``"30s"`` and ``30.0`` are both a
``Seconds`` and a bad value is a one-line reason (turned into a ``ConfigError`` naming the
variable by :func:`~rollwise.env_settings.read_env`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator

from ..core.durations import parse_duration

__all__ = [
    "Interval",
    "Number",
    "Seconds",
    "Switch",
    "Text",
    "WholeNumber",
    "parse_text",
    "whole_number",
]

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


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


def parse_text(value: object) -> str:
    """Text, stripped (a non-text value is refused)."""
    if not isinstance(value, str):
        raise ValueError(f"expected text, got {value!r}")
    return value.strip()


Text = Annotated[str, BeforeValidator(parse_text)]
