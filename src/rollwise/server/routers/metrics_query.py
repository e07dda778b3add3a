"""``GET /api/v1/metrics``: a flag's per-variant time series in one environment.

Defaults: the last hour, a round step giving at most 240 points, every variant. The step
is rounded up to what the buckets allow (a multiple of 10 s below 5 min, of 5 min below an
hour, of an hour above; and of 5 min or an hour where finer buckets are no longer kept);
the answer says which step and resolution it used. ``variants=a,b,c`` answers for those
variants only, in that order (any number; usage shares stay shares of the whole flag).

``GET /api/v1/metrics/variants``: what a metric provider gives the judge for any number of
variants over one cumulative window (:mod:`rollwise.analysis.providers`): each variant's
counts, latency quantiles and dual-run counts, and its per-window counts. See
docs/metrics-api.md.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from ...analysis import MetricQuery, StepMetrics, WindowCounts
from ...analysis import VariantMetrics as ProviderVariant
from ...analysis.providers import BuiltinProvider, VariantWindowLike, window_bounds
from ...errors import NoDataError
from ...store import SeriesPlan, Store, VariantSeries, VariantWindow
from ..auth import Principal, require
from ..deps import store_of
from ..errors import error_responses
from ._telemetry_models import (
    MetricPoint,
    VariantTotals,
    invalid,
    parse_seconds,
    stats_of,
    totals_of,
)

router = APIRouter(
    prefix="/api/v1/metrics", tags=["metrics"], responses=error_responses(401, 403, 404, 422)
)

MAX_POINTS = 1000
MAX_ROWS_PER_SERIES = 10_000
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
DURATION = r"^\s*[0-9][0-9.smhdw ]{0,31}$"
MAX_VARIANTS = 100
MAX_WINDOWS = 240
VARIANTS_QUERY = Query(
    default=None,
    max_length=4000,
    description="Comma-separated variants, answered in this order (default: every variant)",
)


class VariantMetrics(BaseModel):
    variant: str
    totals: VariantTotals = Field(description="Over the whole range")
    points: list[MetricPoint] = Field(description="One per step, oldest first")


class FlagMetrics(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    flag: str
    environment: str
    route: str | None = Field(description="Request metrics of this route template only")
    start: datetime = Field(alias="from", description="Start of the first step")
    end: datetime = Field(alias="to", description="End of the last step")
    step_seconds: int = Field(description="The step used (the one asked, rounded up)")
    resolution_seconds: int = Field(description="The bucket size read (10, 300 or 3600)")
    variants: list[VariantMetrics] = Field(
        description="The variants asked for in that order; by default the flag's variants "
        "in order, then any others that have data"
    )


def _aware(moment: datetime | None, name: str) -> datetime | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        in_range = EARLIEST <= moment < LATEST
    except OverflowError:
        in_range = False
    if not in_range:
        raise invalid(name, "must be between 1970 and 2200")
    return moment


@router.get("", response_model=FlagMetrics, response_model_by_alias=True)
def flag_metrics(
    flag: str = Query(max_length=128, description="The flag key"),
    environment: str = Query(max_length=64),
    start: datetime | None = Query(
        default=None, alias="from", description="RFC 3339 or epoch seconds; default to - 1h"
    ),
    end: datetime | None = Query(
        default=None, alias="to", description="RFC 3339 or epoch seconds; default now"
    ),
    step: str | None = Query(
        default=None,
        max_length=32,
        pattern=DURATION,
        description="e.g. 10s, 1m, 5m, 1h, or seconds; default: at most 240 points",
    ),
    route: str | None = Query(default=None, max_length=200),
    variants: str | None = VARIANTS_QUERY,
    store: Store = Depends(store_of),
    _: Principal = Depends(require("read")),
) -> FlagMetrics:
    wanted = _variant_names(variants)
    until = _aware(end, "to") or store.now()
    since = _aware(start, "from") or until - timedelta(hours=1)
    if since >= until:
        raise invalid("from", "must be before 'to'")
    step_seconds = parse_seconds(step, "step", 1, 7 * 86400) if step is not None else None
    with store.transaction("read") as tx:
        record = tx.flags.get(flag)
        tx.environments.get(environment)
        plan = tx.telemetry.plan_series(since, until, step_seconds, route=route)
        if plan.points > MAX_POINTS:
            raise invalid("step", f"{plan.points} points; at most {MAX_POINTS}: raise the step")
        if plan.rows_per_series > MAX_ROWS_PER_SERIES:
            raise invalid(
                "step",
                f"{plan.rows_per_series} buckets per series; at most {MAX_ROWS_PER_SERIES}: "
                "raise the step (5m or more reads 5-minute buckets) or shorten the range",
            )
        series = {s.variant: s for s in tx.telemetry.variant_series(environment, flag, plan, route)}
    ordered = list(record.variants) + sorted(set(series) - set(record.variants))
    if wanted is not None:
        _known(wanted, ordered)
    all_series = [series.get(variant) or VariantSeries(variant, []) for variant in ordered]
    return _response(flag, environment, route, plan, all_series, wanted)


def _variant_names(text: str | None) -> list[str] | None:
    """``a,b,c`` as names (None: every variant); 422 for an empty name or a repeat."""
    if text is None:
        return None
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise invalid("variants", "must be variant names separated by commas, none empty")
    if len(names) > MAX_VARIANTS:
        raise invalid("variants", f"at most {MAX_VARIANTS} variants")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise invalid("variants", f"must not repeat: {', '.join(map(repr, repeated))}")
    return names


def _known(wanted: list[str], known: list[str]) -> None:
    """422 naming each wanted variant the flag does not have and that has no data."""
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise invalid(
            "variants",
            f"unknown variant{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(map(repr, unknown))} (the flag's variants and those with data are: "
            f"{', '.join(known)})",
        )


def _response(
    flag: str,
    environment: str,
    route: str | None,
    plan: SeriesPlan,
    all_series: list[VariantSeries],
    wanted: list[str] | None = None,
) -> FlagMetrics:
    """The answer; usage shares are of every series, the variants shown only ``wanted``."""
    start, step, points = plan.start, plan.step, plan.points
    usage_per_point = [0] * points
    for variant_series in all_series:
        for index, point in enumerate(variant_series.points):
            usage_per_point[index] += point.usage
    total_usage = sum(usage_per_point)
    by_name = {one.variant: one for one in all_series}
    shown = all_series if wanted is None else [by_name[name] for name in wanted]
    variants = []
    for variant_series in shown:
        windows = variant_series.points or [
            VariantWindow(variant_series.variant) for _ in range(points)
        ]
        metric_points = [
            MetricPoint(
                start=datetime.fromtimestamp(start + index * step, UTC),
                **stats_of(window, step, usage_per_point[index]).model_dump(),
            )
            for index, window in enumerate(windows)
        ]
        total = VariantWindow(variant_series.variant)
        for window in windows:
            total.merge(window)
        variants.append(
            VariantMetrics(
                variant=variant_series.variant,
                totals=totals_of(total, points * step, total_usage),
                points=metric_points,
            )
        )
    return FlagMetrics(
        flag=flag,
        environment=environment,
        route=route,
        start=datetime.fromtimestamp(start, UTC),
        end=datetime.fromtimestamp(start + points * step, UTC),
        step_seconds=step,
        resolution_seconds=plan.resolution,
        variants=variants,
    )


class LatencyFigures(BaseModel):
    count: int = Field(description="Requests with a latency")
    p50: float | None
    p95: float | None
    p99: float | None


class WindowFigures(BaseModel):
    start: datetime
    end: datetime
    requests: int
    errors: int = Field(description="Server errors (5xx or an exception)")
    compared: int = Field(description="Dual-run calls whose candidate was tested")
    mismatches: int = Field(description="...of which the candidate disagreed or raised")


class VariantFigures(BaseModel):
    variant: str
    requests: int
    errors: int = Field(description="Server errors (5xx or an exception)")
    client_errors: int = Field(description="4xx responses, counted apart (not failures)")
    error_rate: float | None = Field(description="errors / requests; null without requests")
    latency: LatencyFigures | None = Field(description="null without latencies")
    compared: int = Field(description="Dual-run calls whose candidate was tested")
    mismatches: int = Field(description="...of which the candidate disagreed or raised")
    fallbacks: int = Field(description="Candidate primary raised, the control answered")
    windows: list[WindowFigures] = Field(
        description="The same traffic in consecutive windows from 'from', oldest first"
    )


class VariantsMetrics(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    flag: str
    environment: str
    start: datetime = Field(alias="from", description="Start of the cumulative window")
    end: datetime = Field(alias="to", description="End of the cumulative window")
    window_seconds: int = Field(description="Length of each per-window count")
    source: dict[str, str] = Field(description="Where the numbers come from")
    variants: list[VariantFigures] = Field(description="The variants asked for, in that order")


@router.get("/variants", response_model=VariantsMetrics, response_model_by_alias=True)
def variants_metrics(
    flag: str = Query(max_length=128, description="The flag key"),
    environment: str = Query(max_length=64),
    variants: str | None = Query(
        default=None,
        max_length=4000,
        description="Comma-separated variants of the flag, answered in this order "
        "(any number; default: every variant of the flag)",
    ),
    start: datetime | None = Query(
        default=None, alias="from", description="RFC 3339 or epoch seconds; default to - 1h"
    ),
    end: datetime | None = Query(
        default=None, alias="to", description="RFC 3339 or epoch seconds; default now"
    ),
    window: str = Query(
        default="60s",
        max_length=32,
        pattern=DURATION,
        description="Length of the per-window counts, e.g. 60s, 5m (10 s to 1 day)",
    ),
    store: Store = Depends(store_of),
    _: Principal = Depends(require("read")),
) -> VariantsMetrics:
    """What the builtin metric provider gives the judge, for any number of variants.

    Cumulative counts over ``[from, to)`` per variant, and the same traffic cut into
    windows of ``window`` fixed from ``from`` (the last one cut at ``to``)."""
    wanted = _variant_names(variants)
    until = _aware(end, "to") or store.now()
    since = _aware(start, "from") or until - timedelta(hours=1)
    if since >= until:
        raise invalid("from", "must be before 'to'")
    seconds = parse_seconds(window, "window", 10, 86400)
    # counted before any window is made: a range of centuries must cost nothing to refuse
    count = math.ceil((until - since).total_seconds() / seconds)
    if count > MAX_WINDOWS:
        raise invalid("window", f"{count} windows; at most {MAX_WINDOWS}: raise it")
    bounds = window_bounds(since, until, seconds)
    with store.reading() as tx:  # one snapshot for every window, no write lock
        record = tx.flags.get(flag)
        tx.environments.get(environment)
        names = wanted if wanted is not None else list(record.variants)
        _known(names, list(record.variants))

        def read(
            environment: str, flag: str, start: datetime, end: datetime
        ) -> dict[str, VariantWindowLike]:
            return dict(tx.telemetry.variant_window(environment, flag, start, end))

        query = MetricQuery(flag, environment, variants=names, start=since, end=until)
        provider = BuiltinProvider(read, window_seconds=seconds)
        try:
            answer = provider.fetch(query)
        except NoDataError:  # no variant served a request: zeros, which is what happened
            empty = tuple(WindowCounts(low, high) for low, high in bounds)
            answer = StepMetrics.for_query(
                query, [ProviderVariant(name, windows=empty) for name in names], source={}
            )
        finally:
            provider.close()
    return VariantsMetrics(
        flag=flag,
        environment=environment,
        start=since,
        end=until,
        window_seconds=seconds,
        source={"provider": "builtin"},
        variants=[_figures(metrics) for metrics in answer.variants.values()],
    )


def _figures(metrics: ProviderVariant) -> VariantFigures:
    latency = None
    if metrics.latency is not None:
        sketch = metrics.latency
        latency = LatencyFigures(
            count=sketch.count,
            p50=sketch.quantile(0.5),
            p95=sketch.quantile(0.95),
            p99=sketch.quantile(0.99),
        )
    return VariantFigures(
        variant=metrics.variant,
        requests=metrics.requests,
        errors=metrics.errors,
        client_errors=metrics.client_errors,
        error_rate=metrics.error_rate,
        latency=latency,
        compared=metrics.comparisons.total,
        mismatches=metrics.comparisons.mismatches,
        fallbacks=metrics.comparisons.fallbacks,
        windows=[
            WindowFigures(
                start=one.start,
                end=one.end,
                requests=one.requests,
                errors=one.errors,
                compared=one.comparisons.total,
                mismatches=one.comparisons.mismatches,
            )
            for one in metrics.windows or ()
        ],
    )
