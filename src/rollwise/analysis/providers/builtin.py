"""The builtin provider: the telemetry the control plane ingested from the SDKs.

It reads each variant's window through an injected :class:`WindowReader`, a callable the
controller binds to the store (``analysis`` sits below ``store`` and never imports it)::

    def read_windows(environment, flag, start, end):
        with store.transaction("judge") as tx:
            return tx.variant_window(environment, flag, start, end)

    provider = BuiltinProvider(read_windows)

What it gives, for each variant the query names (any number): ``requests``, ``errors``
(5xx or an exception), ``client_errors`` (4xx), the merged latency sketch (1% relative
error; None when the variant has no latencies) and the dual-run comparisons
(:func:`comparison_counts`); a variant without data has zero requests. The
store attributes its 10-second buckets by their start, so the window is read at 10-second
resolution (see ``variant_window``).

It also cuts the step into windows of ``window_seconds`` (60 s by default, fixed from the
step's start: :func:`~rollwise.analysis.providers.base.window_bounds`) and gives each
variant its per-window counts (:class:`~rollwise.analysis.data.WindowCounts`), one reader
call per window. A window that closed more than ``settle_seconds`` before the look is
kept in a small cache (telemetry arrives with the SDKs' flush delay; later reports still
count in the cumulative figures), so a look reads the cumulative window plus the few
recent ones.

``cpu``/``memory`` gates read the SDKs' process samples through an optional
:class:`~rollwise.analysis.providers._process.ProcessReader` (the store's
``process_window``): each variant's value goes into ``VariantMetrics.custom`` under the
gate's key; without a reader or samples the gate's key is in ``missing`` ("no process
data"). ``throughput`` is judged from the per-window counts. ``failing_units`` gates read the
step's union of the SDKs' distinct-unit sketches through an optional
:class:`~rollwise.analysis.providers._units.UnitReader` (the store's ``unit_window``) into
``VariantMetrics.units``; without a reader or unit data the counts say why.

Custom gates are not served: the store has no per-request custom values. Their key is in
:attr:`~rollwise.analysis.providers.StepMetrics.missing` with the reason (the judge reports
them as no data), and :meth:`BuiltinProvider.validate_gates` refuses them. The reader's
own errors (a database that is down) propagate: they are the controller's to handle.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Literal, Protocol

from ...core.gates import Gate, GateMetric
from ...errors import ConfigIssue, NoDataError
from ...stats.sketch import LatencySketch
from ..data import ComparisonCounts, VariantMetrics, WindowCounts
from ._config import ProviderConfigBase, gate_issue, raise_issues
from ._process import ProcessReader, with_process_figures
from ._units import UnitReader, with_unit_counts
from .base import WINDOW_SECONDS, MetricQuery, StepMetrics, require_traffic, window_bounds

__all__ = [
    "BuiltinConfig",
    "BuiltinProvider",
    "VariantWindowLike",
    "WindowReader",
    "comparison_counts",
]

CUSTOM_UNSUPPORTED = (
    "the builtin provider has no custom metrics (the SDKs report requests, latencies and "
    "comparisons only): use the prometheus provider for custom gates"
)

COMPARED = ("match", "mismatch", "candidate_error", "fallback")
"""Dual-run outcomes in which the candidate's answer was put to the test."""
DISAGREED = ("mismatch", "candidate_error", "fallback")
"""...and those in which it failed it: a different answer, or the candidate raised."""


class VariantWindowLike(Protocol):
    """What the builtin provider reads of one variant's window (the store's VariantWindow)."""

    @property
    def requests(self) -> int: ...
    @property
    def errors(self) -> int: ...
    @property
    def client_errors(self) -> int: ...
    @property
    def latency(self) -> LatencySketch: ...
    @property
    def comparisons(self) -> Mapping[str, int]: ...


class WindowReader(Protocol):
    """Each variant's window of ``flag`` in ``[start, end)``; absent variants had no data."""

    def __call__(
        self, environment: str, flag: str, start: datetime, end: datetime
    ) -> Mapping[str, VariantWindowLike]: ...


class BuiltinConfig(ProviderConfigBase):
    """``type: builtin``: no settings (the control plane's own telemetry)."""

    type: Literal["builtin"] = "builtin"


def comparison_counts(outcomes: Mapping[str, int]) -> ComparisonCounts:
    """Dual-run outcome counts as the judge's mismatch-rate trials and bad events.

    ``total`` counts the calls whose candidate was tested (``match``, ``mismatch``,
    ``candidate_error``, ``fallback``); ``mismatches`` those it failed (a different answer,
    or an exception, rescued by a fallback or not); ``fallbacks`` the rescued ones. A
    control that raised, a comparator that raised and skipped calls say nothing about the
    candidate and are left out.
    """
    total = sum(outcomes.get(outcome, 0) for outcome in COMPARED)
    mismatches = sum(outcomes.get(outcome, 0) for outcome in DISAGREED)
    return ComparisonCounts(total, mismatches, outcomes.get("fallback", 0))


def _metrics(
    variant: str, window: VariantWindowLike | None, windows: tuple[WindowCounts, ...] | None
) -> VariantMetrics:
    if window is None:
        return VariantMetrics(variant, windows=windows)
    latency = window.latency.copy() if window.latency.count else None
    return VariantMetrics(
        variant=variant,
        requests=window.requests,
        errors=window.errors,
        client_errors=window.client_errors,
        latency=latency,
        comparisons=comparison_counts(window.comparisons),
        windows=windows,
    )


_Counts = dict[str, tuple[int, int, ComparisonCounts]]
"""variant -> (requests, errors, comparisons) of one window."""

_CACHE_SIZE = 20_000


class BuiltinProvider:
    """Metrics from the store's ingested windows, read through ``reader``."""

    def __init__(
        self,
        reader: WindowReader,
        config: BuiltinConfig | None = None,
        *,
        window_seconds: float = WINDOW_SECONDS,
        settle_seconds: float = 120.0,
        process_reader: ProcessReader | None = None,
        unit_reader: UnitReader | None = None,
    ) -> None:
        if window_seconds <= 0:
            raise ValueError(f"window_seconds must be positive, got {window_seconds!r}")
        self.reader = reader
        self.process_reader = process_reader
        self.unit_reader = unit_reader
        self.config = config or BuiltinConfig()
        self.window_seconds = window_seconds
        self.settle = timedelta(seconds=max(0.0, settle_seconds))
        self._settled: OrderedDict[tuple[str, str, datetime, datetime], _Counts] = OrderedDict()
        self._lock = threading.Lock()

    def _window(self, query: MetricQuery, start: datetime, end: datetime) -> _Counts:
        key = (query.environment, query.flag, start, end)
        with self._lock:
            cached = self._settled.get(key)
            if cached is not None:
                self._settled.move_to_end(key)
                return cached
        read = self.reader(query.environment, query.flag, start, end)
        counts: _Counts = {
            variant: (w.requests, w.errors, comparison_counts(w.comparisons))
            for variant, w in read.items()
        }
        if end + self.settle <= query.end:
            with self._lock:
                self._settled[key] = counts
                while len(self._settled) > _CACHE_SIZE:
                    self._settled.popitem(last=False)
        return counts

    def _windows(self, query: MetricQuery) -> dict[str, tuple[WindowCounts, ...]]:
        per_window = [
            (start, end, self._window(query, start, end))
            for start, end in window_bounds(query.start, query.end, self.window_seconds)
        ]
        result: dict[str, tuple[WindowCounts, ...]] = {}
        for variant in query.variants:
            found: list[WindowCounts] = []
            for start, end, counts in per_window:
                requests, errors, comparisons = counts.get(variant, (0, 0, ComparisonCounts()))
                found.append(WindowCounts(start, end, requests, errors, comparisons))
            result[variant] = tuple(found)
        return result

    def fetch(self, query: MetricQuery) -> StepMetrics:
        if query.seconds <= 0:
            raise NoDataError("the step's window is empty", provider="builtin", **query.describe())
        windows = self.reader(query.environment, query.flag, query.start, query.end)
        per_window = self._windows(query)
        metrics = [
            _metrics(variant, windows.get(variant), per_window[variant])
            for variant in query.variants
        ]
        require_traffic(query, {m.variant: m.requests for m in metrics}, provider="builtin")
        metrics, missing = with_process_figures(query, metrics, self.process_reader)
        metrics, missing_units = with_unit_counts(query, metrics, self.unit_reader)
        missing |= missing_units
        missing |= {g.key: CUSTOM_UNSUPPORTED for g in query.gates if g.metric is GateMetric.CUSTOM}
        return StepMetrics.for_query(query, metrics, missing, {"provider": "builtin"})

    def validate_gates(self, gates: Sequence[Gate]) -> None:
        issues: list[ConfigIssue] = [
            gate_issue(index, gate, "metric", CUSTOM_UNSUPPORTED)
            for index, gate in enumerate(gates)
            if gate.metric is GateMetric.CUSTOM
        ]
        raise_issues(issues)

    def close(self) -> None:
        pass
