"""The prometheus provider: each variant's step, in PromQL, from the SDK's exported metrics.

It reads what :func:`rollwise.sdk.prometheus.register_recorder` exports (metric names
configurable): ``rollwise_requests_total{flag, variant, outcome}`` and the histogram
``rollwise_request_duration_seconds{flag, variant}``. For a step from ``start`` to ``end``
(the window ``W = end - start`` in milliseconds, evaluated with ``time=end``) it asks, in
one query per metric whatever the number of variants, for the **raw samples** of the
variants the query names::

    rollwise_requests_total{flag="checkout", variant=~"control|a|b"}[W]
    rollwise_request_duration_seconds_bucket{flag="checkout", variant=~"control|a|b"}[W]

with the configured ``matchers`` (e.g. ``namespace="prod"``) and, when
``environment_label`` is set, ``<environment_label>="<environment>"`` added to the selector
(the variant names are escaped as regex literals: ``v1.5`` never matches ``v105``).

**Counts are exact.** A count is the sum of the differences between consecutive scrapes in
the window, per series, a drop being a counter reset (see ``_counters``): the requests
served between the window's first and last scrape, never more. ``increase()`` would
extrapolate to the window's edges (x1.05 in the median, up to x2.67 at early looks) and
give the judge more evidence than there is. Requests before the first scrape in the window
are not counted (the window's start is not a scrape), nor those since the last scrape.

**Windows.** The same differences, cut into windows of ``window_seconds`` fixed from the
step's start (:func:`~rollwise.analysis.providers.base.window_bounds`), give each variant's
per-window counts (:class:`~rollwise.analysis.data.WindowCounts`): a difference belongs to
the window holding its later scrape, so every variant's windows cover the same scrapes and
the judge can test each window against its own split. Use a multiple of the scrape interval.

**Latency.** The histogram's bucket counts over the whole step (``max_over_time - min_over_time``
of each bucket series: its exact difference, as no series restarted; the raw samples
otherwise, checked with ``resets()``) become a
:class:`~._histogram.HistogramSketch`: each count known only up to its bucket
``(previous le, le]``, so the judge counts it as *above* a threshold only when the whole
bucket is, and *at most* a bound only when the whole bucket is (see ``_histogram``).

**Custom gates.** A custom gate's ``query`` is a PromQL template with ``{flag}``,
``{variant}``, ``{environment}`` and ``{window}`` (the step's range, e.g. ``300s``),
evaluated once per variant; it must give one series (or a scalar). The value's samples are
the variant's request count. A custom query that fails, or gives no series, several or
NaN, only loses that gate (its reason in ``StepMetrics.missing``).

**Not served.** ``mismatch_rate``: the SDK does not export dual-run comparisons to
Prometheus (use the builtin provider, or a custom gate on your own metric).

**Failures.** No requests for a required variant (a rollout's canary), or for none of the
variants → NoDataError; unreachable, timed out, refused
credentials, or a refused count/latency query → ProviderError with Prometheus' message.

The config (URL, auth, matchers, metric names) is in ``_config``; how Prometheus' answers
become counts, windows and sketches, in ``_reading``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from ....core.gates import Gate, GateMetric
from ....errors import ConfigIssue, NoDataError
from ....stats.sketch import LatencySketch
from ...data import CustomValue, VariantMetrics
from .._config import gate_issue, raise_issues
from ..base import MetricQuery, StepMetrics, require_traffic, window_bounds
from ._config import BasicAuth, PrometheusConfig, request_auth
from ._http import PrometheusHTTP, PrometheusQueryError
from ._promql import TemplateError, any_of, duration, instant, milliseconds, render, selector
from ._reading import (
    bucket_key,
    bucket_series,
    bucket_spans,
    step_totals,
    variant_outcomes,
    window_counts,
)

__all__ = ["BasicAuth", "PrometheusConfig", "PrometheusProvider", "PrometheusQueryError"]

MISMATCH_UNSUPPORTED = (
    "the prometheus provider has no dual-run comparisons (the SDK does not export them): "
    "use the builtin provider, or a custom gate on a metric of your own"
)
PROCESS_UNSUPPORTED = (
    "the prometheus provider has no process samples (the SDK reports them to the control "
    "plane): use the builtin provider, or a custom gate on your exporter's CPU or memory"
)
UNITS_UNSUPPORTED = (
    "the prometheus provider cannot count distinct units (counters have no identity): "
    "failing_units gates need the builtin provider, which reads the SDKs' unit sketches"
)


class PrometheusProvider:
    """Metrics from Prometheus; ``transport`` or a borrowed ``client`` for tests and TLS."""

    def __init__(
        self,
        config: PrometheusConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        self.config = config
        auth, headers = request_auth(config)
        self._http = PrometheusHTTP(
            config.url,
            timeout=config.timeout,
            auth=auth,
            headers=headers,
            transport=transport,
            client=client,
        )

    def fetch(self, query: MetricQuery) -> StepMetrics:
        end = milliseconds(query.end)
        window_ms = end - milliseconds(query.start)
        if window_ms < 1:
            raise NoDataError(
                "the step's window is empty", provider="prometheus", **query.describe()
            )
        at, window = instant(end), duration(window_ms)
        labels = {"flag": query.flag, **self.config.matchers}
        if self.config.environment_label is not None:
            labels[self.config.environment_label] = query.environment
        matched = selector(labels, {"variant": any_of(query.variants)})
        requests_query = f"{self.config.requests_metric}{matched}[{window}]"
        latency_query = f"{self.config.duration_metric}_bucket{matched}[{window}]"
        bounds = window_bounds(query.start, query.end, self.config.window_seconds)
        series = self._http.matrix(requests_query, at)
        per_window = variant_outcomes(series, query.variants, bounds)
        counts = {variant: step_totals(outcomes) for variant, outcomes in per_window.items()}
        require_traffic(
            query,
            {variant: counts.get(variant, (0, 0, 0))[0] for variant in query.variants},
            provider="prometheus",
            query=requests_query,
            time=at,
        )
        buckets, latency_queries = self._latency(latency_query, at, query)
        queries: dict[str, Any] = {"requests": requests_query, "latency": latency_queries}
        custom, missing = self._gates(query, counts, window, at, queries)

        def metrics(variant: str) -> VariantMetrics:
            requests, errors, client_errors = counts.get(variant, (0, 0, 0))
            return VariantMetrics(
                variant=variant,
                requests=requests,
                errors=errors,
                client_errors=client_errors,
                latency=buckets.get(variant),
                custom=custom[variant],
                windows=window_counts(per_window.get(variant, {}), bounds),
            )

        source = {
            "provider": "prometheus",
            "url": self._http.shown,
            "time": at,
            "window": window,
            "counting": "exact differences between scrapes",
            "window_seconds": self.config.window_seconds,
            "queries": queries,
        }
        return StepMetrics.for_query(query, [metrics(v) for v in query.variants], missing, source)

    def _latency(
        self, selected: str, at: str, query: MetricQuery
    ) -> tuple[dict[str, LatencySketch], list[str]]:
        """Each variant's histogram over the step, and the queries that gave it.

        A bucket series without a counter reset counted ``max - min`` of its samples in the
        window: exactly the sum of its differences, in one value a series instead of every
        scrape. Only when a series restarted (checked after, so that a reset scraped in
        between is caught) are the raw samples read, to count across the reset.
        """
        spans_query = f"max_over_time({selected}) - min_over_time({selected})"
        resets_query = f"resets({selected}) > 0"
        spans = self._http.query(spans_query, at)
        restarted = [
            sample
            for sample in self._http.query(resets_query, at)
            if bucket_key(sample.labels, query.variants) is not None
        ]
        if not restarted:
            return bucket_spans(spans, query.variants), [spans_query, resets_query]
        series = self._http.matrix(selected, at)
        return bucket_series(series, query.variants, query.start, query.end), [
            spans_query,
            resets_query,
            selected,
        ]

    def _gates(
        self,
        query: MetricQuery,
        counts: Mapping[str, tuple[int, int, int]],
        window: str,
        at: str,
        queries: dict[str, Any],
    ) -> tuple[dict[str, dict[str, CustomValue]], dict[str, str]]:
        """Each custom gate's value per variant, and why a gate has none."""
        custom: dict[str, dict[str, CustomValue]] = {variant: {} for variant in query.variants}
        missing: dict[str, str] = {}
        values = {"flag": query.flag, "environment": query.environment, "window": window}
        for gate in query.gates:
            if gate.metric is GateMetric.MISMATCH_RATE:
                missing[gate.key] = MISMATCH_UNSUPPORTED
            if gate.metric.is_resource:
                missing[gate.key] = PROCESS_UNSUPPORTED
            if gate.metric is GateMetric.FAILING_UNITS:
                missing[gate.key] = UNITS_UNSUPPORTED
            if gate.metric is not GateMetric.CUSTOM or gate.query is None:
                continue
            reasons, texts = [], {}
            for variant in query.variants:
                text, value, reason = self._custom(gate.query, {**values, "variant": variant}, at)
                texts[variant] = text
                if value is not None:
                    samples = counts.get(variant, (0, 0, 0))[0]
                    custom[variant][gate.key] = CustomValue(value, samples)
                if reason is not None:
                    reasons.append(f"{variant}: {reason}")
            queries[gate.key] = texts
            if reasons:
                missing[gate.key] = "; ".join(reasons)
        return custom, missing

    def _custom(
        self, template: str, values: Mapping[str, str], at: str
    ) -> tuple[str, float | None, str | None]:
        """The rendered query, its value, and why there is no value (when there is none)."""
        try:
            text = render(template, values)
        except TemplateError as error:
            return template, None, str(error)
        try:
            samples = self._http.query(text, at)
        except PrometheusQueryError as error:
            return text, None, error.message
        if not samples:
            return text, None, "the query gave no series"
        if len(samples) > 1:
            return text, None, f"the query gave {len(samples)} series, expected one (aggregate it)"
        value = samples[0].value
        if not math.isfinite(value):
            return text, None, f"the query gave {value}"
        return text, value, None

    def validate_gates(self, gates: Sequence[Gate]) -> None:
        issues: list[ConfigIssue] = []
        for index, gate in enumerate(gates):
            if gate.metric is GateMetric.MISMATCH_RATE:
                issues.append(gate_issue(index, gate, "metric", MISMATCH_UNSUPPORTED))
            elif gate.metric.is_resource:
                issues.append(gate_issue(index, gate, "metric", PROCESS_UNSUPPORTED))
            elif gate.metric is GateMetric.FAILING_UNITS:
                issues.append(gate_issue(index, gate, "metric", UNITS_UNSUPPORTED))
            elif gate.metric is GateMetric.CUSTOM and "{variant}" not in (gate.query or ""):
                reason = "a custom query needs {variant}, or every variant gets the same value"
                issues.append(gate_issue(index, gate, "query", reason))
        raise_issues(issues)

    def close(self) -> None:
        self._http.close()
