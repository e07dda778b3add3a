"""Shared pieces for comparison and override tests: a client, scripted draws and calls."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import rollwise
from rollwise import ClientOptions

from .._support.clock import FakeClock

FLAG = "camera-domain-service"

CONFIG: dict[str, Any] = {
    "revision": "r1",
    "flags": [
        {
            "key": FLAG,
            "variants": ["legacy", "domain"],
            "off_variant": "legacy",
            "environments": {"production": {"split": {"legacy": 10000, "domain": 0}}},
        },
        {
            "key": "half",
            "variants": ["legacy", "domain"],
            "environments": {"production": {"split": {"legacy": 5000, "domain": 5000}}},
        },
    ],
}


def make_client() -> rollwise.Client:
    """A client on a fixed configuration; ROLLWISE_FLAG_* variables of the host ignored."""
    return rollwise.Client(CONFIG, environment="production", options=ClientOptions(environ={}))


class Draws:
    """A random source returning scripted values; fails loudly when asked for one too many."""

    def __init__(self, values: Iterable[float] = ()) -> None:
        self._values = list(values)
        self.calls = 0

    def __call__(self) -> float:
        self.calls += 1
        if not self._values:
            raise AssertionError("the random source was drawn more often than scripted")
        return self._values.pop(0)


class Calls:
    """A recording implementation: returns ``value`` (or raises ``error``) and logs calls."""

    def __init__(
        self,
        value: Any = None,
        error: Exception | None = None,
        clock: FakeClock | None = None,
        seconds: float = 0.0,
    ) -> None:
        self.value = value
        self.error = error
        self.clock = clock
        self.seconds = seconds
        self.calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls.append((args, kwargs))
        if self.clock is not None:
            self.clock.advance(self.seconds)
        if self.error is not None:
            raise self.error
        return self.value
