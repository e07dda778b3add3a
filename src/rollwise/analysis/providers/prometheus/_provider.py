"""The prometheus provider: each variant's step, in PromQL, from the SDK's exported metrics.

It reads what :func:`rollwise.sdk.prometheus.register_recorder` exports (metric names
configurable): ``rollwise_requests_total{flag, variant, outcome}`` and the histogram
``rollwise_request_duration_seconds{flag, variant}``. For a step from ``start`` to ``end``
(the window ``W = end - start`` in milliseconds, evaluated with ``time=end``) it asks for
the **raw samples** of both::

    rollwise_requests_total{flag="checkout"}[W]
    rollwise_request_duration_seconds_bucket{flag="checkout"}[W]

with the configured ``matchers`` (e.g. ``namespace="prod"``) and, when
``environment_label`` is set, ``<environment_label>="<environment>"`` added to the selector.

**Counts are exact.** A count is the sum of the differences between consecutive scrapes in
the window, per series, a drop being a counter reset (see ``_counters``): the requests
served between the window's first and last scrape, never more. ``increase()`` would
extrapolate to the window's edges (x1.05 in the median, up to x2.67 at early looks) and
give the judge more evidence than there is. Requests before the first scrape in the window
are not counted (the window's start is not a scrape), nor those since the last scrape.

**Windows.** The same differences, cut into windows of ``window_seconds`` fixed from the
step's start (:func:`~rollwise.analysis.providers.base.window_bounds`), give each variant's
per-window counts (:class:`~rollwise.analysis.data.WindowCounts`): a difference belongs to
the window holding its later scrape, so both variants' windows cover the same scrapes and
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

**Failures.** No requests for the canary → NoDataError; unreachable, timed out, refused
credentials, or a refused count/latency query → ProviderError with Prometheus' message.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any, Literal, Self

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from ....core.gates import Gate, GateMetric
from ....errors import ConfigIssue, NoDataError, ProviderError
from ....stats.sketch import LatencySketch
from ...data import CustomValue, VariantMetrics, WindowCounts
from .._config import ProviderConfigBase, gate_issue, raise_issues
from ..base import WINDOW_SECONDS, MetricQuery, StepMetrics, window_bounds
from ._counters import windowed_totals
from ._histogram import round_count, sketch_from_buckets
from ._http import PrometheusHTTP, PrometheusQueryError, Sample, Series
from ._promql import (
    LABEL_NAME,
    METRIC_NAME,
    TemplateError,
    duration,
    instant,
    milliseconds,
    render,
    selector,
)

__all__ = ["BasicAuth", "PrometheusConfig", "PrometheusProvider", "PrometheusQueryError"]

_RESERVED_LABELS = frozenset({"flag", "variant", "outcome", "le", "__name__"})
_ERROR, _CLIENT_ERROR = "error", "client_error"
MISMATCH_UNSUPPORTED = (
    "the prometheus provider has no dual-run comparisons (the SDK does not export them): "
    "use the builtin provider, or a custom gate on a metric of your own"
)


class BasicAuth(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    username: Annotated[str, Field(min_length=1)]
    password: SecretStr


class PrometheusConfig(ProviderConfigBase):
    """``type: prometheus``: where Prometheus is, how to authenticate, what to select."""

    type: Literal["prometheus"] = "prometheus"
    url: str
    """Base URL of Prometheus (or a compatible API: Thanos, Mimir, VictoriaMetrics)."""
    timeout: Annotated[float, Field(gt=0, le=300)] = 10.0
    """Seconds for one query, also sent to Prometheus as the query's own timeout."""
    bearer_token: SecretStr | None = None
    basic_auth: BasicAuth | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    """Extra request headers, e.g. ``X-Scope-OrgID`` for a multi-tenant backend."""
    matchers: dict[str, str] = Field(default_factory=dict)
    """Extra label equalities for every selector, e.g. ``{"namespace": "prod"}``."""
    environment_label: str | None = None
    """A label holding the rollwise environment's name; None: one Prometheus per environment."""
    requests_metric: str = "rollwise_requests_total"
    duration_metric: str = "rollwise_request_duration_seconds"
    """The histogram's name, without ``_bucket``."""
    window_seconds: Annotated[float, Field(ge=1, le=86_400)] = WINDOW_SECONDS
    """Length of the per-window counts the judge tests one by one (a multiple of the
    scrape interval: a window holds the scrapes that fall in it)."""

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        try:
            url = httpx.URL(value)
        except httpx.InvalidURL as error:
            raise ValueError(f"not a valid URL ({error})") from None
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError("must be an http:// or https:// URL with a host")
        return value

    @field_validator("matchers")
    @classmethod
    def _check_matchers(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            _check_label(name)
        return value

    @field_validator("environment_label")
    @classmethod
    def _check_environment_label(cls, value: str | None) -> str | None:
        return None if value is None else _check_label(value)

    @field_validator("requests_metric", "duration_metric")
    @classmethod
    def _check_metric(cls, value: str) -> str:
        if not METRIC_NAME.match(value):
            raise ValueError(f"{value!r} is not a Prometheus metric name")
        return value

    @field_validator("headers")
    @classmethod
    def _check_headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            if not name or not all(c.isalnum() or c in "-_" for c in name) or not name.isascii():
                raise ValueError(f"{name!r} is not a valid HTTP header name")
            if not (text.isascii() and text.isprintable()):
                raise ValueError(f"the value of header {name!r} must be printable ASCII")
        return value

    @model_validator(mode="after")
    def _check_auth(self) -> Self:
        if self.bearer_token is not None and self.basic_auth is not None:
            raise ValueError("use bearer_token or basic_auth, not both")
        if self.environment_label is not None and self.environment_label in self.matchers:
            raise ValueError(f"environment_label {self.environment_label!r} is also in matchers")
        if any(name.lower() == "authorization" for name in self.headers) and (
            self.bearer_token is not None or self.basic_auth is not None
        ):
            raise ValueError("an Authorization header conflicts with bearer_token/basic_auth")
        return self


def _check_label(name: str) -> str:
    if not LABEL_NAME.match(name):
        raise ValueError(f"{name!r} is not a Prometheus label name")
    if name in _RESERVED_LABELS:
        raise ValueError(f"{name!r} is set by rollwise itself")
    return name


def _auth(config: PrometheusConfig) -> tuple[httpx.Auth | None, dict[str, str]]:
    headers = dict(config.headers)
    if config.bearer_token is not None:
        headers["Authorization"] = f"Bearer {config.bearer_token.get_secret_value()}"
    if config.basic_auth is not None:
        auth = config.basic_auth
        return httpx.BasicAuth(auth.username, auth.password.get_secret_value()), headers
    return None, headers


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
        auth, headers = _auth(config)
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
        matched = selector(labels)
        requests_query = f"{self.config.requests_metric}{matched}[{window}]"
        latency_query = f"{self.config.duration_metric}_bucket{matched}[{window}]"
        bounds = window_bounds(query.start, query.end, self.config.window_seconds)
        per_window = _outcomes(self._http.matrix(requests_query, at), query.variants, bounds)
        counts = {variant: _totals(outcomes) for variant, outcomes in per_window.items()}
        if counts.get(query.canary, (0, 0, 0))[0] == 0:
            raise NoDataError(
                f"no requests for canary {query.canary!r} of flag {query.flag!r} in "
                f"{query.environment!r} since {query.start.isoformat()} in prometheus",
                provider="prometheus",
                query=requests_query,
                time=at,
                **query.describe(),
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
                windows=_windows(per_window.get(variant, {}), bounds),
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
        baseline = metrics(query.baseline) if query.baseline is not None else None
        return StepMetrics(metrics(query.canary), baseline, missing, source)

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
            if _bucket_key(sample.labels, query.variants) is not None
        ]
        if not restarted:
            return _bucket_spans(spans, query.variants), [spans_query, resets_query]
        series = self._http.matrix(selected, at)
        return _bucket_series(series, query.variants, query), [
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
            elif gate.metric is GateMetric.CUSTOM and "{variant}" not in (gate.query or ""):
                reason = "a custom query needs {variant}, or both variants get the same value"
                issues.append(gate_issue(index, gate, "query", reason))
        raise_issues(issues)

    def close(self) -> None:
        self._http.close()


def _outcomes(
    series: Sequence[Series],
    variants: Sequence[str],
    bounds: Sequence[tuple[datetime, datetime]],
) -> dict[str, dict[str, list[int]]]:
    """Per wanted variant and outcome, the requests counted in each window."""
    for one in series:
        bad = [value for _, value in one.points if not math.isfinite(value)]
        if bad and one.labels.get("variant", "") in variants:
            raise ProviderError(
                f"prometheus gave {bad[0]} requests for variant {one.labels['variant']!r}",
                provider="prometheus",
                labels=dict(one.labels),
            )

    def key(one: Series) -> tuple[str, str] | None:
        variant = one.labels.get("variant", "")
        return (variant, one.labels.get("outcome", "")) if variant in variants else None

    result: dict[str, dict[str, list[int]]] = {}
    for (variant, outcome), row in windowed_totals(series, key, bounds).items():
        result.setdefault(variant, {})[outcome] = [round_count(value) for value in row]
    return result


def _totals(outcomes: Mapping[str, Sequence[int]]) -> tuple[int, int, int]:
    """(requests, errors, client_errors) over the whole step, from the per-window counts."""
    return (
        sum(sum(row) for row in outcomes.values()),
        sum(outcomes.get(_ERROR, ())),
        sum(outcomes.get(_CLIENT_ERROR, ())),
    )


def _windows(
    outcomes: Mapping[str, Sequence[int]], bounds: Sequence[tuple[datetime, datetime]]
) -> tuple[WindowCounts, ...]:
    """One variant's per-window counts (zeros where it had no traffic)."""
    errors = outcomes.get(_ERROR, [0] * len(bounds))
    return tuple(
        WindowCounts(
            start=start,
            end=end,
            requests=sum(row[index] for row in outcomes.values()),
            errors=errors[index],
        )
        for index, (start, end) in enumerate(bounds)
    )


def _bucket_key(labels: Mapping[str, str], variants: Sequence[str]) -> tuple[str, float] | None:
    """``(variant, le)`` of a wanted variant's histogram bucket series, else None."""
    variant = labels.get("variant", "")
    le = labels.get("le")
    if variant not in variants or le is None:
        return None
    try:
        bound = float(le)
    except ValueError:
        return None  # not a histogram bucket: nothing to place
    return None if math.isnan(bound) else (variant, bound)


def _sketches(counts: Mapping[tuple[str, float], float]) -> dict[str, LatencySketch]:
    """Each variant's sketch from its buckets' counts (absent: no histogram, or no value)."""
    by_variant: dict[str, list[tuple[float, float]]] = {}
    for (variant, bound), count in counts.items():
        by_variant.setdefault(variant, []).append((bound, count))
    sketches = {variant: sketch_from_buckets(pairs) for variant, pairs in by_variant.items()}
    return {variant: sketch for variant, sketch in sketches.items() if sketch is not None}


def _bucket_spans(samples: Sequence[Sample], variants: Sequence[str]) -> dict[str, LatencySketch]:
    """Sketches from each bucket series' ``max - min`` over the step (no counter reset)."""
    counts: dict[tuple[str, float], float] = {}
    for sample in samples:
        key = _bucket_key(sample.labels, variants)
        if key is not None and math.isfinite(sample.value):
            counts[key] = counts.get(key, 0.0) + sample.value
    return _sketches(counts)


def _bucket_series(
    series: Sequence[Series], variants: Sequence[str], query: MetricQuery
) -> dict[str, LatencySketch]:
    """Sketches from each bucket series' raw samples (differences across counter resets)."""

    def key(one: Series) -> tuple[str, float] | None:
        if not all(math.isfinite(value) for _, value in one.points):
            return None
        return _bucket_key(one.labels, variants)

    whole = [(query.start, query.end)]
    totals = windowed_totals(series, key, whole)
    return _sketches({name: row[0] for name, row in totals.items()})
