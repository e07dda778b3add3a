"""The operator's verdict on a variant, a flag and an environment: simple, stated rules.

A variant is
- ``degraded`` when, on at least ``min_requests`` requests, its error rate is above
  ``max_error_rate``; or when, on at least ``min_requests`` dual-run calls, more than
  ``max_fallback_rate`` of them fell back to the control (the candidate was primary and
  raised);
- ``warning`` when its p95 latency is above ``max_latency_ratio`` times the baseline's
  (the flag's off variant, both on at least ``min_requests`` requests), or when more than
  ``max_mismatch_rate`` of at least ``min_requests`` compared calls disagreed;
- ``no_data`` when it served, evaluated and compared nothing; otherwise ``ok``.

A flag takes its worst variant's status, an environment its worst flag's; an environment
from which no SDK reported in the window is ``no_data``, one whose SDKs dropped telemetry
is at least ``warning``. These are a summary for people, not the rollout judge: the
judge compares variants statistically.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from ...store import ReportingStats, VariantWindow
from ..settings import HealthThresholds

__all__ = ["Status", "environment_status", "variant_status", "worst"]

Status = Literal["ok", "warning", "degraded", "no_data"]
_RANK: dict[str, int] = {"no_data": 0, "ok": 1, "warning": 2, "degraded": 3}


def worst(statuses: Iterable[Status]) -> Status:
    """The most severe status; ``no_data`` only when nothing has data."""
    result: Status = "no_data"
    for status in statuses:
        if _RANK[status] > _RANK[result]:
            result = status
    return result


def variant_status(
    window: VariantWindow, baseline: VariantWindow | None, limits: HealthThresholds
) -> tuple[Status, list[str]]:
    """The variant's status and the reasons for anything but ``ok``."""
    if window.is_empty:
        return "no_data", []
    degraded: list[str] = []
    warnings: list[str] = []
    enough = limits.min_requests
    rate = window.error_rate
    if window.requests >= enough and rate is not None and rate > limits.max_error_rate:
        degraded.append(
            f"error rate {rate:.2%} above {limits.max_error_rate:.2%} "
            f"({window.errors} of {window.requests} requests)"
        )
    calls = sum(window.comparisons.values())
    if calls >= enough and window.fallbacks / calls > limits.max_fallback_rate:
        degraded.append(
            f"{window.fallbacks} fallbacks to the control in {calls} calls "
            f"({window.fallbacks / calls:.2%}, above {limits.max_fallback_rate:.2%})"
        )
    if window.compared >= enough and window.mismatches / window.compared > limits.max_mismatch_rate:
        warnings.append(
            f"{window.mismatches} mismatches in {window.compared} compared calls "
            f"({window.mismatches / window.compared:.2%}, above {limits.max_mismatch_rate:.2%})"
        )
    if baseline is not None and baseline is not window:
        mine, theirs = window.quantile(0.95), baseline.quantile(0.95)
        if (
            window.requests >= enough
            and baseline.requests >= enough
            and mine is not None
            and theirs
            and mine > limits.max_latency_ratio * theirs
        ):
            warnings.append(
                f"p95 latency {mine * 1000:.1f} ms is {mine / theirs:.1f}x the baseline "
                f"{baseline.variant!r} ({theirs * 1000:.1f} ms; limit {limits.max_latency_ratio}x)"
            )
    if degraded:
        return "degraded", degraded + warnings
    if warnings:
        return "warning", warnings
    return "ok", []


def environment_status(
    flag_statuses: Iterable[Status], reporting: ReportingStats
) -> tuple[Status, list[str]]:
    """The environment's status from its flags' and whether its SDKs report at all."""
    if reporting.batches == 0:
        return "no_data", ["no SDK reported telemetry in the window"]
    status = worst(flag_statuses)
    if status == "no_data":
        status = "ok"
    reasons = []
    dropped = reporting.dropped_batches + reporting.dropped_windows + reporting.dropped_samples
    if dropped:
        reasons.append(
            f"SDKs dropped telemetry: {reporting.dropped_batches} batches, "
            f"{reporting.dropped_windows} windows, {reporting.dropped_samples} samples"
        )
        status = worst([status, "warning"])
    return status, reasons
