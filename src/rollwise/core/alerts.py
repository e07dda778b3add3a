"""Alert rules: a metric condition over a window, held for a duration; their states; and
the notifications their changes send. Pure values, no I/O.

A rule fires when its condition has held for ``for`` (``pending`` until then) and resolves
when it no longer holds. It is judged only on at least ``min_samples`` samples (requests,
compared calls, latency observations; default :data:`DEFAULT_MIN_SAMPLES`): below that it
neither fires nor resolves, it stays where it is, "waiting for samples", so that one failed
request of eight is not an incident and eight good ones do not end one.
:func:`next_alert_state` is that state machine, pure, so the controller and the tests
share it; ``rollwise.application.alerts`` records each change as an event and queues the
``alert.firing`` / ``alert.resolved`` notification :func:`alert_notification` builds.
No data is never a breach: a pending rule without data goes back to ``inactive``, a firing
one stays firing until data shows the condition no longer holds.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..errors import ConfigError, issues_error, validation_issues
from .durations import Duration, format_duration
from .flags import FLAG_KEY_PATTERN, NAME_PATTERN
from .gates import GateMetric
from .notifications import (
    SUMMARY_LIMIT,
    TITLE_LIMIT,
    Kind,
    NotificationContent,
    Severity,
    Subject,
    cut,
)

__all__ = [
    "DEFAULT_MIN_SAMPLES",
    "AlertComparison",
    "AlertRuleFields",
    "AlertRuleSpec",
    "AlertSeverity",
    "AlertState",
    "alert_notification",
    "format_metric",
    "next_alert_state",
    "parse_alert_rule",
]

MAX_WINDOW = 7 * 86_400.0
DEFAULT_MIN_SAMPLES = 100
"""Samples a rule's window must hold before it is judged (each side, for increase_above)."""


class AlertState(StrEnum):
    INACTIVE = "inactive"
    PENDING = "pending"
    FIRING = "firing"
    RESOLVED = "resolved"


AlertSeverity = Severity
"""The severity of the ``alert.firing`` notification: a notification's severity."""


class AlertComparison(StrEnum):
    ABOVE = "above"
    """The value is above ``threshold``."""
    BELOW = "below"
    """The value is below ``threshold``."""
    INCREASE_ABOVE = "increase_above"
    """The value is more than ``threshold`` (a fraction: 0.5 = 50%) above the baseline's."""


class AlertRuleFields(BaseModel):
    """What an operator writes, field by field. ``flag`` unset: the environment's traffic
    over all flags; ``variant`` unset: all of the flag's variants together.
    :class:`AlertRuleSpec` adds the checks across fields."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: Annotated[str, Field(pattern=NAME_PATTERN)]
    environment: Annotated[str, Field(pattern=NAME_PATTERN)]
    flag: Annotated[str, Field(pattern=FLAG_KEY_PATTERN)] | None = None
    variant: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    baseline: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    metric: GateMetric
    comparison: AlertComparison = AlertComparison.ABOVE
    threshold: float
    window: Annotated[Duration, Field(gt=0, le=MAX_WINDOW)] = 300.0
    for_: Annotated[Duration, Field(ge=0, le=MAX_WINDOW, alias="for")] = 0.0
    min_samples: Annotated[int, Field(ge=1, le=1_000_000_000)] = DEFAULT_MIN_SAMPLES
    severity: AlertSeverity = AlertSeverity.WARNING
    query: Annotated[str, Field(min_length=1, max_length=2000)] | None = None
    description: Annotated[str, Field(max_length=10_000)] = ""
    enabled: bool = True


class AlertRuleSpec(AlertRuleFields):
    """A checked alert rule (:func:`parse_alert_rule` reports problems by field)."""

    @model_validator(mode="after")
    def _check(self) -> Self:
        problems = list(_problems(self))
        if problems:
            raise issues_error(problems)
        return self


def _problems(rule: AlertRuleSpec) -> Iterator[tuple[str, str]]:
    """Cross-field problems as (field, reason): pydantic alone cannot name the field."""
    if rule.metric.is_process or rule.metric is GateMetric.FAILING_UNITS:
        yield (
            "metric",
            "cpu, memory, throughput and failing_units are rollout gates, not alert metrics",
        )
    if not math.isfinite(rule.threshold):
        yield "threshold", "must be a finite number"
    if rule.metric is GateMetric.CUSTOM and rule.query is None:
        yield "query", "a custom metric needs a query"
    if rule.metric is not GateMetric.CUSTOM and rule.query is not None:
        yield "query", f"only for the custom metric, not {rule.metric.value}"
    relative = rule.comparison is AlertComparison.INCREASE_ABOVE
    if rule.metric.is_rate and not relative and not 0.0 <= rule.threshold <= 1.0:
        yield "threshold", "the threshold of a rate is a fraction between 0 and 1"
    if (rule.metric.is_latency or relative) and rule.threshold < 0:
        yield "threshold", "must not be negative"
    if relative and rule.flag is None:
        yield "flag", "increase_above compares a variant with the flag's baseline: name the flag"
    if rule.baseline is not None and not relative:
        yield "baseline", "only for comparison increase_above"
    if rule.flag is None and rule.variant is not None:
        yield "flag", "a variant belongs to a flag: name the flag"
    if rule.variant is not None and rule.variant == rule.baseline:
        yield "baseline", "the variant and the baseline must differ"


def parse_alert_rule(data: Mapping[str, Any] | AlertRuleFields) -> AlertRuleSpec:
    """A checked rule, or a ConfigError naming each bad field (``for``, ``threshold``...)."""
    if isinstance(data, AlertRuleSpec):
        return data
    if isinstance(data, AlertRuleFields):
        data = data.model_dump(by_alias=True)
    try:
        return AlertRuleSpec.model_validate(dict(data))
    except ValidationError as error:
        raise ConfigError(validation_issues(error)) from None


def next_alert_state(
    state: AlertState,
    since: datetime | None,
    breached: bool | None,
    hold_for: float,
    now: datetime,
    *,
    waiting: bool = False,
) -> AlertState:
    """The state after one evaluation at ``now``: ``breached`` is None when there was no data.

    ``since`` is when ``state`` began (a pending rule fires once it has been pending for
    ``hold_for`` seconds). ``resolved`` behaves as ``inactive`` until the next breach.
    ``waiting`` (fewer samples than the rule's minimum): the state stays as it is.
    """
    if waiting:
        return state
    if breached is None:
        return AlertState.INACTIVE if state is AlertState.PENDING else state
    if not breached:
        if state is AlertState.FIRING:
            return AlertState.RESOLVED
        if state is AlertState.PENDING:
            return AlertState.INACTIVE
        return state
    if state is AlertState.FIRING:
        return state
    if state is AlertState.PENDING:
        held = since is None or now - since >= timedelta(seconds=hold_for)
        return AlertState.FIRING if held else state
    return AlertState.FIRING if hold_for <= 0 else AlertState.PENDING


def format_metric(metric: GateMetric, value: float | None) -> str:
    """A metric's value as people read it: rates in percent, latencies in milliseconds."""
    if value is None or not math.isfinite(value):
        return "no data"
    if metric.is_rate:
        return f"{value * 100:.3g}%"
    if metric.is_latency:
        return f"{value * 1000:.4g} ms"
    return f"{value:.6g}"


def _condition(rule: AlertRuleSpec) -> str:
    if rule.comparison is AlertComparison.INCREASE_ABOVE:
        return f"{rule.metric.value} more than {rule.threshold * 100:g}% above the baseline"
    return (
        f"{rule.metric.value} {rule.comparison.value} {format_metric(rule.metric, rule.threshold)}"
    )


def alert_notification(
    rule: AlertRuleSpec,
    to_state: AlertState,
    *,
    at: datetime,
    value: float | None,
    baseline_value: float | None,
    reason: str,
    details: Mapping[str, Any] | None,
) -> NotificationContent:
    """``alert.firing`` (the rule's severity) or ``alert.resolved`` (info)."""
    firing = to_state is AlertState.FIRING
    verb = "firing" if firing else "resolved"
    scope = rule.flag if rule.flag is not None else "all flags"
    fields: dict[str, Any] = {
        "state": verb,
        "condition": _condition(rule),
        "value": format_metric(rule.metric, value),
    }
    if baseline_value is not None:
        fields["baseline"] = format_metric(rule.metric, baseline_value)
    if rule.variant is not None:
        fields["variant"] = rule.variant
    fields["window"] = format_duration(rule.window)
    fields["for"] = format_duration(rule.for_)
    summary = reason or (
        f"{_condition(rule)}: {format_metric(rule.metric, value)}"
        if firing
        else f"no longer {_condition(rule)}: {format_metric(rule.metric, value)}"
    )
    return NotificationContent(
        kind=(Kind.ALERT_FIRING if firing else Kind.ALERT_RESOLVED).value,
        severity=rule.severity if firing else Severity.INFO,
        title=cut(f"{rule.name} {verb} in {rule.environment} ({scope})", TITLE_LIMIT),
        summary=cut(summary, SUMMARY_LIMIT),
        subject=Subject(flag=rule.flag, environment=rule.environment, alert_rule=rule.name),
        occurred_at=at,
        fields=fields,
        evidence=dict(details) if details is not None else None,
    )
