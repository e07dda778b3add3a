"""``GET /api/v1/metrics``: a flag's per-variant time series in one environment.

Defaults: the last hour, a round step giving at most 240 points. The step is rounded up
to what the buckets allow (a multiple of 10 s below 5 min, of 5 min below an hour, of an
hour above; and of 5 min or an hour where finer buckets are no longer kept); the answer
says which step and resolution it used. See docs/metrics-api.md.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

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
        description="The flag's variants in order, then any others that have data"
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
    store: Store = Depends(store_of),
    _: Principal = Depends(require("read")),
) -> FlagMetrics:
    until = _aware(end, "to") or store.now()
    since = _aware(start, "from") or until - timedelta(hours=1)
    if since >= until:
        raise invalid("from", "must be before 'to'")
    step_seconds = parse_seconds(step, "step", 1, 7 * 86400) if step is not None else None
    with store.transaction("read") as tx:
        record = tx.get_flag(flag)
        tx.get_environment(environment)
        plan = tx.plan_series(since, until, step_seconds, route=route)
        if plan.points > MAX_POINTS:
            raise invalid("step", f"{plan.points} points; at most {MAX_POINTS}: raise the step")
        if plan.rows_per_series > MAX_ROWS_PER_SERIES:
            raise invalid(
                "step",
                f"{plan.rows_per_series} buckets per series; at most {MAX_ROWS_PER_SERIES}: "
                "raise the step (5m or more reads 5-minute buckets) or shorten the range",
            )
        series = {s.variant: s for s in tx.variant_series(environment, flag, plan, route)}
    ordered = list(record.variants) + sorted(set(series) - set(record.variants))
    all_series = [series.get(variant) or VariantSeries(variant, []) for variant in ordered]
    return _response(flag, environment, route, plan, all_series)


def _response(
    flag: str,
    environment: str,
    route: str | None,
    plan: SeriesPlan,
    all_series: list[VariantSeries],
) -> FlagMetrics:
    start, step, points = plan.start, plan.step, plan.points
    usage_per_point = [0] * points
    for variant_series in all_series:
        for index, point in enumerate(variant_series.points):
            usage_per_point[index] += point.usage
    total_usage = sum(usage_per_point)
    variants = []
    for variant_series in all_series:
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
