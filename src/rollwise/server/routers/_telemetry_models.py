"""Response models shared by the metrics and monitoring APIs, and how they are computed.

Every rate is ``None`` when its denominator is zero: no data is not a zero error rate.
Latencies are in seconds, from merged sketches (within 1% of the true value of that rank).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from ...core.durations import parse_duration
from ...store import VariantWindow
from ..errors import ApiError

__all__ = [
    "MAX_TELEMETRY_BATCH_BYTES",
    "MetricPoint",
    "VariantStats",
    "VariantTotals",
    "invalid",
    "parse_seconds",
    "stats_of",
    "totals_of",
]


MAX_TELEMETRY_BATCH_BYTES = 32 * 1024 * 1024
"""The largest telemetry batch body (``POST /api/v1/sdk/telemetry``) the control plane
reads: an hour of windows of a busy instance (360 windows x 200 series with full latency
sketches is about 16 MB of JSON) with room to spare. The body limit in front of the route
uses it; the store cuts whatever it admits into short transactions (docs/metrics-api.md)."""


class VariantStats(BaseModel):
    requests: int = Field(description="Requests served under the variant")
    errors: int = Field(description="Server errors (5xx or an exception)")
    client_errors: int = Field(description="4xx responses, counted apart (not failures)")
    request_rate: float = Field(description="Requests per second over the period")
    error_rate: float | None = Field(description="errors / requests; null without requests")
    success_rate: float | None = Field(description="1 - error_rate; null without requests")
    p50: float | None = Field(description="Median latency, seconds")
    p95: float | None = Field(description="95th percentile latency, seconds")
    p99: float | None = Field(description="99th percentile latency, seconds")
    usage: int = Field(description="Evaluations that returned this variant")
    usage_share: float | None = Field(
        description="usage / evaluations of the flag; null without evaluations"
    )
    compared: int = Field(description="Dual-run calls compared (match + mismatch)")
    mismatches: int
    fallbacks: int = Field(description="Candidate primary raised, the control answered")


class MetricPoint(VariantStats):
    start: datetime = Field(description="Start of the step [start, start + step)")


class VariantTotals(VariantStats):
    mean_latency: float | None = Field(description="Mean latency, seconds")
    comparison_outcomes: dict[str, int] = Field(
        description="Every dual-run outcome (match, mismatch, candidate_error, fallback, ...)"
    )


def stats_of(window: VariantWindow, seconds: float, flag_usage: int) -> VariantStats:
    """The numbers of ``window`` over ``seconds``, its usage among ``flag_usage``."""
    return VariantStats(
        requests=window.requests,
        errors=window.errors,
        client_errors=window.client_errors,
        request_rate=window.requests / seconds if seconds > 0 else 0.0,
        error_rate=window.error_rate,
        success_rate=window.success_rate,
        p50=window.quantile(0.5),
        p95=window.quantile(0.95),
        p99=window.quantile(0.99),
        usage=window.usage,
        usage_share=window.usage / flag_usage if flag_usage else None,
        compared=window.compared,
        mismatches=window.mismatches,
        fallbacks=window.fallbacks,
    )


def totals_of(window: VariantWindow, seconds: float, flag_usage: int) -> VariantTotals:
    mean = window.latency.mean if window.latency.count else None
    return VariantTotals(
        **stats_of(window, seconds, flag_usage).model_dump(),
        mean_latency=mean,
        comparison_outcomes=dict(sorted(window.comparisons.items())),
    )


def parse_seconds(text: str, name: str, low: int, high: int) -> int:
    """A duration query parameter (``30s``, ``5m``, ``1h``, ``300``) in whole seconds."""
    try:
        seconds = parse_duration(text)
    except ValueError as error:
        raise invalid(name, str(error)) from None
    if not low <= seconds <= high:
        raise invalid(name, f"must be between {low} and {high} seconds, got {text!r}")
    return int(seconds)


def invalid(name: str, message: str, where: str = "query") -> ApiError:
    """A 422 pointing at parameter ``name``, shaped like FastAPI's own validation errors."""
    return ApiError(
        422,
        "validation_error",
        f"{where}.{name}: {message}",
        errors=[{"path": f"{where}.{name}", "message": message, "type": "value_error"}],
    )
