"""Counters for ``GET /api/v1/internal/stats``: comparisons, fallbacks, overrides, who served.

The rollwise reporter *drains* what it ships (counts since the last window), so the stats
page keeps its own running totals beside it:

- :class:`CountingSink` sits between :class:`~rollwise.sdk.compare.DualRun` and its
  :class:`~rollwise.sdk.compare.ComparisonRecorder`: it keeps totals by comparison name and
  outcome (never drained) and passes every observation on for the reporter;
- :class:`OverrideTotals` is the middleware's override counter (drained by the reporter)
  that also keeps totals.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from rollwise.sdk.compare import ComparisonRecorder, ComparisonSink, Observation, Outcome
from rollwise.sdk.override_tokens import OverrideCounter, OverrideDecision

__all__ = ["CountingSink", "OverrideTotals", "ServedCounter"]


class CountingSink:
    def __init__(self, inner: ComparisonSink | None = None) -> None:
        self.inner: ComparisonSink = inner if inner is not None else ComparisonRecorder()
        self._lock = threading.Lock()
        self._totals: Counter[tuple[str, str]] = Counter()

    def record(self, observation: Observation) -> None:
        with self._lock:
            self._totals[(observation.name, observation.outcome.value)] += 1
        self.inner.record(observation)

    def drain(self) -> dict[str, Any]:
        return self.inner.drain()

    def totals(self) -> dict[str, dict[str, int]]:
        """``{comparison name: {outcome: count}}`` since the application started."""
        with self._lock:
            items = list(self._totals.items())
        out: dict[str, dict[str, int]] = {}
        for (name, outcome), count in sorted(items):
            out.setdefault(name, {})[outcome] = count
        return out

    def count(self, outcome: Outcome, name: str | None = None) -> int:
        with self._lock:
            return sum(
                n
                for (series, seen), n in self._totals.items()
                if seen == outcome.value and (name is None or series == name)
            )


class ServedCounter:
    """Requests by (selected variant, variant that actually answered)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str]] = Counter()

    def add(self, selected: str, served_by: str) -> None:
        with self._lock:
            self._counts[(selected, served_by)] += 1

    def snapshot(self) -> dict[str, dict[str, int]]:
        with self._lock:
            items = list(self._counts.items())
        out: dict[str, dict[str, int]] = {}
        for (selected, served_by), count in sorted(items):
            out.setdefault(selected, {})[served_by] = count
        return out


class OverrideTotals(OverrideCounter):
    """An override counter the reporter drains, with totals that nothing resets."""

    def __init__(self) -> None:
        super().__init__()
        self._all = OverrideCounter()

    def add(self, decision: OverrideDecision) -> None:
        super().add(decision)
        self._all.add(decision)

    def totals(self) -> list[dict[str, Any]]:
        """``[{"flag", "outcome", "variant", "reason", "count"}]`` since the app started."""
        return self._all.snapshot()
