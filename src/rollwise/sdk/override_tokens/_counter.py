"""Counting override decisions per flag, variant and reason, for the reporter."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable
from typing import Any

from ... import _fork
from ._decision import OverrideDecision

__all__ = ["OverrideCounter"]


class OverrideCounter:
    """Honoured and rejected overrides by flag, variant and reason; thread-safe.

    ``drain`` hands the counts since the previous drain to the reporter.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str, str, str]] = Counter()
        _fork.track(self)

    def add(self, decision: OverrideDecision) -> None:
        if decision.honoured:
            key = (decision.flag or "", "honoured", decision.variant or "", "")
        else:
            reason = decision.rejection.value if decision.rejection is not None else ""
            key = (decision.flag or "", "rejected", "", reason)
        with self._lock:
            self._counts[key] += 1

    def count(self, flag: str, outcome: str = "honoured") -> int:
        """How many ``honoured`` (or ``rejected``) decisions ``flag`` has had."""
        with self._lock:
            return sum(n for key, n in self._counts.items() if key[0] == flag and key[1] == outcome)

    def snapshot(self) -> list[dict[str, Any]]:
        """What :meth:`drain` would return, without resetting."""
        with self._lock:
            return _rows(self._counts.items())

    def drain(self) -> list[dict[str, Any]]:
        """``[{"flag", "outcome", "variant", "reason", "count"}]`` since the last drain.

        ``variant`` is set for honoured rows, ``reason`` (a :class:`Rejection`) for rejected
        ones; ``flag`` is empty for a rejection that could not name one (garbage token).
        """
        with self._lock:
            counts, self._counts = self._counts, Counter()
        return _rows(counts.items())

    def _after_fork_in_child(self) -> None:
        self._lock = threading.Lock()
        self._counts = Counter()


def _rows(items: Iterable[tuple[tuple[str, str, str, str], int]]) -> list[dict[str, Any]]:
    return [
        {
            "flag": flag,
            "outcome": outcome,
            "variant": variant or None,
            "reason": reason or None,
            "count": count,
        }
        for (flag, outcome, variant, reason), count in items
    ]
