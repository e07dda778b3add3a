"""The default comparison sink: counts per (name, flag, variant) and a bounded sample buffer.

The reporter calls :meth:`ComparisonRecorder.drain` once per window and ships what it gets:
counts are deltas since the previous drain (so the control plane sums them), samples are
handed over once. Memory is bounded: one small series per (name, flag, variant) the code
uses, and at most ``SampleOptions.max_total`` samples of bounded size.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ... import _fork
from ._samples import SampleOptions, build_sample
from ._types import SAMPLED_OUTCOMES, Observation, Outcome

__all__ = ["ComparisonRecorder", "Durations", "SeriesStats"]


@dataclass(slots=True)
class Durations:
    """Wall times of one implementation: how many runs, their sum and the longest."""

    count: int = 0
    total_seconds: float = 0.0
    max_seconds: float = 0.0

    def add(self, seconds: float) -> None:
        self.count += 1
        self.total_seconds += seconds
        if seconds > self.max_seconds:
            self.max_seconds = seconds

    def as_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "sum_seconds": self.total_seconds,
            "max_seconds": self.max_seconds,
        }


@dataclass(slots=True)
class SeriesStats:
    """What one (comparison name, flag, variant) saw since the last drain."""

    name: str
    flag: str
    variant: str
    counts: dict[Outcome, int] = field(default_factory=lambda: dict.fromkeys(Outcome, 0))
    control: Durations = field(default_factory=Durations)
    candidate: Durations = field(default_factory=Durations)

    @property
    def calls(self) -> int:
        """How many calls this series saw, whatever their outcome."""
        return sum(self.counts.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "flag": self.flag,
            "variant": self.variant,
            "counts": {outcome.value: count for outcome, count in self.counts.items()},
            "durations": {"control": self.control.as_dict(), "candidate": self.candidate.as_dict()},
        }

    def copy(self) -> SeriesStats:
        return SeriesStats(
            self.name,
            self.flag,
            self.variant,
            dict(self.counts),
            Durations(self.control.count, self.control.total_seconds, self.control.max_seconds),
            Durations(
                self.candidate.count, self.candidate.total_seconds, self.candidate.max_seconds
            ),
        )


class ComparisonRecorder:
    """Counts outcomes and durations, keeps the first few samples per comparison name.

    Thread-safe (one lock, held for a few dict operations; samples are built outside it).
    In a forked child the recorder starts empty: the parent reports what it recorded.

    ``wall_clock`` stamps samples (seconds since the epoch).
    """

    def __init__(
        self,
        options: SampleOptions | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.options = options or SampleOptions()
        self._wall_clock = wall_clock
        self._lock = threading.Lock()
        self._series: dict[tuple[str, str, str], SeriesStats] = {}
        self._samples: list[dict[str, Any]] = []
        self._kept: Counter[str] = Counter()
        self._dropped: Counter[str] = Counter()
        self._redaction_failures = 0
        _fork.track(self)

    def record(self, observation: Observation) -> None:
        """Count ``observation``; keep a sample of it if it is worth one and there is room."""
        key = (observation.name, observation.flag, observation.variant)
        keep = False
        with self._lock:
            series = self._series.get(key)
            if series is None:
                series = self._series[key] = SeriesStats(*key)
            series.counts[observation.outcome] += 1
            if observation.control is not None:
                series.control.add(observation.control.seconds)
            if observation.candidate is not None:
                series.candidate.add(observation.candidate.seconds)
            if observation.outcome in SAMPLED_OUTCOMES:
                keep = self._reserve(observation.name)
        if keep:
            self._keep(observation)

    def _reserve(self, name: str) -> bool:
        """Claim a sample slot for ``name`` (caller holds the lock)."""
        options = self.options
        if self._kept[name] >= options.max_per_name or self._kept.total() >= options.max_total:
            self._dropped[name] += 1
            return False
        self._kept[name] += 1
        return True

    def _keep(self, observation: Observation) -> None:
        try:
            sample = build_sample(observation, self.options, self._wall_clock())
        except Exception:  # noqa: BLE001 - the compare call's guard (the app's redact hook): counted
            with self._lock:
                self._redaction_failures += 1
                self._dropped[observation.name] += 1
            return
        with self._lock:
            self._samples.append(sample)

    # -- reading -------------------------------------------------------------------------

    def stats(self, name: str, variant: str, flag: str | None = None) -> SeriesStats:
        """A copy of one series (empty if nothing was recorded); ``flag`` defaults to name."""
        key = (name, flag if flag is not None else name, variant)
        with self._lock:
            series = self._series.get(key)
            return series.copy() if series is not None else SeriesStats(*key)

    def snapshot(self) -> dict[str, Any]:
        """What :meth:`drain` would return, without resetting anything."""
        with self._lock:
            return self._report()

    def drain(self) -> dict[str, Any]:
        """Everything recorded since the last drain, as JSON-friendly data; then reset.

        Shape::

            {"comparisons": [{"name", "flag", "variant",
                              "counts": {<every Outcome value>: int},
                              "durations": {"control": {"count", "sum_seconds",
                                                        "max_seconds"},
                                            "candidate": {...}}}, ...],
             "samples": [{"name", "flag", "variant", "primary", "outcome", "at",
                          "input": {"args": [...], "kwargs": {...}},
                          "control": {"value": ...} | {"error": {"type", "message"}} | None,
                          "candidate": (same)}, ...],
             "samples_dropped": {<name>: int},
             "redaction_failures": int}

        Counts are deltas: a reporter that fails to ship a drained report owns the retry.
        """
        with self._lock:
            report = self._report()
            self._reset()
        return report

    def _report(self) -> dict[str, Any]:
        return {
            "comparisons": [series.as_dict() for series in self._series.values()],
            "samples": list(self._samples),
            "samples_dropped": dict(self._dropped),
            "redaction_failures": self._redaction_failures,
        }

    def _reset(self) -> None:
        self._series = {}
        self._samples = []
        self._kept = Counter()
        self._dropped = Counter()
        self._redaction_failures = 0

    def _after_fork_in_child(self) -> None:
        self._lock = threading.Lock()
        self._reset()
