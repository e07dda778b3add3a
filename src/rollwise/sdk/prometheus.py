"""Expose a :class:`~rollwise.sdk.recorder.RequestRecorder` to Prometheus.

``register_recorder(client.recorder, registry)`` adds a collector to the registry the
application passes in (never the global default one unless that is what it passes). It
reads ``recorder.totals()`` at scrape time, so the request path pays nothing for it:

- ``rollwise_requests_total{flag, variant, outcome}`` (counter): ``outcome`` is ``success``
  (1xx-3xx), ``error`` (5xx or an exception) or ``client_error`` (4xx); all three are
  exported for every series, zeros included, so that ratios never divide by a missing series.
- ``rollwise_request_duration_seconds{flag, variant}`` (histogram: ``_bucket{le}``,
  ``_sum``, ``_count``), buckets :data:`DEFAULT_BUCKETS` unless ``buckets=`` says otherwise.

The histogram's buckets are read from the recorder's latency sketch (1% relative error):
``_sum`` and ``_count`` are exact, and a request is counted in the ``le`` buckets at or
above its sketch estimate, so only requests within 1% of a bucket bound may land on the
wrong side of it. Buckets stay monotone between scrapes (Prometheus counters), also when
the sketch's estimate of a bucket moves as new extremes arrive. A recorder whose counts go
down (a forked child starting empty) is exported as a counter reset.

``include_route=True`` adds a ``route`` label (the route template); it is off by default
because every route multiplies the series Prometheus stores. Without it, the routes of a
(flag, variant) are added up.

Install with ``pip install rollwise[prometheus]``; this is the only module that imports
prometheus-client.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Iterable, Sequence

from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from ..errors import ConfigError
from ..stats.sketch import LatencySketch
from .recorder import CLIENT_ERROR, ERROR, SUCCESS, RequestRecorder

__all__ = [
    "DEFAULT_BUCKETS",
    "DURATION_METRIC",
    "REQUESTS_METRIC",
    "RecorderCollector",
    "register_recorder",
]

REQUESTS_METRIC = "rollwise_requests"
"""Exposed as ``rollwise_requests_total`` (counters get ``_total``)."""
DURATION_METRIC = "rollwise_request_duration_seconds"
DEFAULT_BUCKETS: tuple[float, ...] = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.075,
    0.1,
    0.15,
    0.25,
    0.35,
    0.5,
    0.75,
    1.0,
    1.5,
    2.5,
    5.0,
    10.0,
)
"""Web latency, 1 ms to 10 s, densest where p95/p99 gates usually sit (50 ms to 1 s)."""

_Labels = tuple[str, ...]


class _Aggregate:
    __slots__ = ("client_errors", "errors", "requests", "sketch")

    def __init__(self, sketch: LatencySketch) -> None:
        self.requests = 0
        self.errors = 0
        self.client_errors = 0
        self.sketch = sketch


class RecorderCollector(Collector):
    """A prometheus-client collector reading a recorder's totals at every scrape."""

    def __init__(
        self,
        recorder: RequestRecorder,
        *,
        buckets: Sequence[float] = DEFAULT_BUCKETS,
        include_route: bool = False,
    ) -> None:
        self.recorder = recorder
        self.buckets = _checked_buckets(buckets)
        self.include_route = include_route
        # the same ``le`` spelling prometheus-client's own histograms use (untyped upstream)
        self._bucket_labels = [floatToGoString(b) for b in self.buckets]  # type: ignore[no-untyped-call]
        self._labels = ["flag", "variant", "route"] if include_route else ["flag", "variant"]
        self._lock = threading.Lock()
        self._exported: dict[_Labels, tuple[int, list[int]]] = {}

    def describe(self) -> Iterable[Metric]:
        """The metric names, without reading the recorder (for duplicate detection)."""
        return self._families()

    def collect(self) -> Iterable[Metric]:
        requests, durations = self._families()
        for labels, aggregate in sorted(self._aggregate().items()):
            values = list(labels)
            requests.add_metric(
                [*values, SUCCESS],
                aggregate.requests - aggregate.errors - aggregate.client_errors,
            )
            requests.add_metric([*values, ERROR], aggregate.errors)
            requests.add_metric([*values, CLIENT_ERROR], aggregate.client_errors)
            sketch = aggregate.sketch
            cumulative = self._monotone(
                labels, sketch.count, sketch.cumulative_counts(self.buckets)
            )
            durations.add_metric(
                values,
                [*zip(self._bucket_labels, cumulative, strict=True), ("+Inf", sketch.count)],
                sketch.sum,
            )
        return [requests, durations]

    def _families(self) -> tuple[CounterMetricFamily, HistogramMetricFamily]:
        requests = CounterMetricFamily(
            REQUESTS_METRIC,
            "Requests served under a flag, by variant and outcome (success, error, client_error)",
            labels=[*self._labels, "outcome"],
        )
        durations = HistogramMetricFamily(
            DURATION_METRIC,
            "Latency of requests served under a flag, by variant (from a 1% sketch)",
            labels=self._labels,
        )
        return requests, durations

    def _aggregate(self) -> dict[_Labels, _Aggregate]:
        result: dict[_Labels, _Aggregate] = {}
        for (flag, variant, route), total in self.recorder.totals().items():
            labels = (flag, variant, route) if self.include_route else (flag, variant)
            aggregate = result.get(labels)
            if aggregate is None:  # totals() hands over copies: merge into the first one
                aggregate = result[labels] = _Aggregate(total.sketch)
            else:
                aggregate.sketch.merge(total.sketch)
            aggregate.requests += total.requests
            aggregate.errors += total.errors
            aggregate.client_errors += total.client_errors
        return result

    def _monotone(self, labels: _Labels, count: int, cumulative: list[int]) -> list[int]:
        """Never export a bucket lower than last time (unless the recorder started over)."""
        with self._lock:
            previous = self._exported.get(labels)
            if previous is not None and count >= previous[0]:
                cumulative = [
                    max(now, before) for now, before in zip(cumulative, previous[1], strict=True)
                ]
            self._exported[labels] = (count, cumulative)
        return cumulative


def register_recorder(
    recorder: RequestRecorder,
    registry: CollectorRegistry,
    *,
    buckets: Sequence[float] = DEFAULT_BUCKETS,
    include_route: bool = False,
) -> RecorderCollector:
    """Export ``recorder`` on ``registry``; ``registry.unregister(collector)`` undoes it."""
    collector = RecorderCollector(recorder, buckets=buckets, include_route=include_route)
    registry.register(collector)
    return collector


def _checked_buckets(buckets: Sequence[float]) -> tuple[float, ...]:
    try:
        bounds = [float(bound) for bound in buckets]
    except (TypeError, ValueError):
        raise ConfigError.single(None, "buckets", "must be numbers (seconds)") from None
    if bounds and bounds[-1] == math.inf:
        bounds.pop()  # +Inf is always exported
    if not bounds:
        raise ConfigError.single(None, "buckets", "needs at least one finite bound")
    if any(not math.isfinite(bound) or bound < 0 for bound in bounds):
        raise ConfigError.single(None, "buckets", "must be finite and not negative")
    if any(later <= earlier for earlier, later in itertools.pairwise(bounds)):
        raise ConfigError.single(None, "buckets", "must be strictly increasing")
    return tuple(bounds)
