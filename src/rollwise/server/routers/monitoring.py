"""``/api/v1/monitoring``: an operator's view of one environment over a recent window.

``/metrics`` gives the numbers of every flag and variant that had traffic (error rate,
latency percentiles, usage share, dual-run mismatches and fallbacks, override decisions)
and whether the SDKs are reporting; ``/health`` turns them into a status per variant,
flag and environment with the reasons, by the rules in :mod:`._health_rules`;
``/doctor`` compares what runs with what the control plane says (docs/doctor.md).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from ...application.doctor import DoctorReport, run_doctor
from ...store import FlagRecord, ReportingStats, Store, VariantWindow
from ..auth import Principal, require
from ..deps import store_of
from ..errors import error_responses
from ..settings import HealthThresholds
from ._health_rules import Status, environment_status, variant_status, worst
from ._telemetry_models import VariantStats, parse_seconds, stats_of

router = APIRouter(
    prefix="/api/v1/monitoring",
    tags=["monitoring"],
    responses=error_responses(401, 403, 404, 422),
)

DURATION = r"^\s*[0-9][0-9.smhdw ]{0,31}$"
WINDOW = Query(
    default="5m",
    max_length=32,
    pattern=DURATION,
    description="How far back from now: 10s to 24h (e.g. 5m, 1h)",
)


class VariantSummary(VariantStats):
    variant: str


class FlagSummary(BaseModel):
    flag: str
    baseline: str | None = Field(description="The flag's off variant, the one others are held to")
    variants: list[VariantSummary]
    overrides: dict[str, int] = Field(
        description="Per-request override decisions by outcome (honoured, rejected, ...)"
    )


class EnvironmentMetrics(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    environment: str
    start: datetime = Field(alias="from")
    end: datetime = Field(alias="to")
    window_seconds: int
    reporting: ReportingStats
    flags: list[FlagSummary] = Field(description="Flags with any telemetry in the window")


class VariantHealth(BaseModel):
    variant: str
    status: Status
    reasons: list[str]
    requests: int
    error_rate: float | None
    p95: float | None
    usage_share: float | None
    mismatches: int
    fallbacks: int


class FlagHealth(BaseModel):
    flag: str
    status: Status
    baseline: str | None
    variants: list[VariantHealth]


class Thresholds(BaseModel):
    min_requests: int
    max_error_rate: float
    max_fallback_rate: float
    max_mismatch_rate: float
    max_latency_ratio: float


class EnvironmentHealth(BaseModel):
    environment: str
    status: Status
    reasons: list[str] = Field(description="Environment-wide reasons (reporting, drops)")
    checked_at: datetime
    window_seconds: int
    thresholds: Thresholds
    reporting: ReportingStats
    flags: list[FlagHealth]


class _Snapshot:
    """What both endpoints read: each flag's variant windows, overrides and reporting."""

    def __init__(self, store: Store, environment: str, seconds: int) -> None:
        self.end = store.now()
        self.start = self.end - timedelta(seconds=seconds)
        self.seconds = seconds
        # up to now inclusive: the bucket that started at this very second counts too
        until = self.end + timedelta(seconds=1)
        with store.transaction("read") as tx:
            tx.environments.get(environment)
            self.windows = tx.telemetry.environment_window(environment, self.start, until)
            self.reporting = tx.telemetry.reporting_stats(environment, self.start)
            overrides = tx.telemetry.override_counts(environment, self.start, until)
            self.flags: dict[str, FlagRecord] = {
                flag.key: flag
                for flag in tx.flags.list_flags(archived=None)
                if flag.key in self.windows
            }
        self.overrides: dict[str, dict[str, int]] = {}
        for (flag, outcome, _variant, _reason), count in sorted(overrides.items()):
            per_flag = self.overrides.setdefault(flag, {})
            per_flag[outcome] = per_flag.get(outcome, 0) + count

    def variants(self, flag: str) -> list[VariantWindow]:
        """The flag's variants in its own order (those with data), then any others."""
        windows = self.windows[flag]
        record = self.flags.get(flag)
        order = list(record.variants) if record is not None else []
        known = [windows[v] for v in order if v in windows]
        return known + [windows[v] for v in sorted(set(windows) - set(order))]

    def baseline(self, flag: str) -> str | None:
        record = self.flags.get(flag)
        return record.off_variant if record is not None else None


def _window_seconds(window: str) -> int:
    return parse_seconds(window, "window", 10, 86400)


@router.get("/metrics", response_model=EnvironmentMetrics, response_model_by_alias=True)
def environment_metrics(
    environment: str = Query(max_length=64),
    window: str = WINDOW,
    store: Store = Depends(store_of),
    _: Principal = Depends(require("read")),
) -> EnvironmentMetrics:
    """Every flag and variant with telemetry in the window: the numbers, no verdict."""
    snapshot = _Snapshot(store, environment, _window_seconds(window))
    flags = []
    for flag in snapshot.windows:
        variants = snapshot.variants(flag)
        usage = sum(v.usage for v in variants)
        flags.append(
            FlagSummary(
                flag=flag,
                baseline=snapshot.baseline(flag),
                variants=[
                    VariantSummary(
                        variant=v.variant,
                        **stats_of(v, snapshot.seconds, usage).model_dump(),
                    )
                    for v in variants
                ],
                overrides=snapshot.overrides.get(flag, {}),
            )
        )
    return EnvironmentMetrics(
        environment=environment,
        start=snapshot.start,
        end=snapshot.end,
        window_seconds=snapshot.seconds,
        reporting=snapshot.reporting,
        flags=flags,
    )


@router.get("/health", response_model=EnvironmentHealth)
def environment_health(
    request: Request,
    environment: str = Query(max_length=64),
    window: str = WINDOW,
    store: Store = Depends(store_of),
    _: Principal = Depends(require("read")),
) -> EnvironmentHealth:
    """A status per variant, flag and environment, with the reasons (see the docs)."""
    limits: HealthThresholds = request.app.state.settings.health
    snapshot = _Snapshot(store, environment, _window_seconds(window))
    flags = []
    for flag in snapshot.windows:
        variants = snapshot.variants(flag)
        by_name = {v.variant: v for v in variants}
        baseline_name = snapshot.baseline(flag)
        baseline = by_name.get(baseline_name) if baseline_name is not None else None
        usage = sum(v.usage for v in variants)
        checked = []
        for variant in variants:
            status, reasons = variant_status(variant, baseline, limits)
            numbers = stats_of(variant, snapshot.seconds, usage)
            checked.append(
                VariantHealth(
                    variant=variant.variant,
                    status=status,
                    reasons=reasons,
                    requests=variant.requests,
                    error_rate=numbers.error_rate,
                    p95=numbers.p95,
                    usage_share=numbers.usage_share,
                    mismatches=variant.mismatches,
                    fallbacks=variant.fallbacks,
                )
            )
        flags.append(
            FlagHealth(
                flag=flag,
                status=worst(v.status for v in checked),
                baseline=baseline_name,
                variants=checked,
            )
        )
    status, reasons = environment_status((f.status for f in flags), snapshot.reporting)
    return EnvironmentHealth(
        environment=environment,
        status=status,
        reasons=reasons,
        checked_at=snapshot.end,
        window_seconds=snapshot.seconds,
        thresholds=Thresholds(
            min_requests=limits.min_requests,
            max_error_rate=limits.max_error_rate,
            max_fallback_rate=limits.max_fallback_rate,
            max_mismatch_rate=limits.max_mismatch_rate,
            max_latency_ratio=limits.max_latency_ratio,
        ),
        reporting=snapshot.reporting,
        flags=flags,
    )


@router.get("/doctor", response_model=DoctorReport)
def doctor(
    request: Request,
    environment: str | None = Query(
        default=None, max_length=64, description="One environment (default: every one)"
    ),
    store: Store = Depends(store_of),
    _: Principal = Depends(require("read")),
) -> DoctorReport:
    """Is what runs what the control plane says? Findings with their fixes (docs/doctor.md);
    ``status`` is ``healthy`` when there are none."""
    controller = getattr(request.app.state, "controller", None)
    local = controller.leadership() if controller is not None else None
    leading = bool(local and local.get("leading")) if local is not None else None
    return run_doctor(store, environment, local_leader=leading)
