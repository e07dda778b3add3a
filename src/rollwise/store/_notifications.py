"""The notifications the store queues, as plain data, and which channels want them.

The store sits below ``rollwise.notifiers`` and does not import it: a notification is
written in the JSON shape of ``Notification.to_dict()`` (the dispatcher reads it back with
``Notification.from_dict``), and :func:`accepts` applies the rule of
``ChannelConfigBase.accepts`` (kind patterns, minimum severity) to a stored channel config.
tests/store/test_outbox.py checks both against the notifiers package.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from typing import Any

from ..core.durations import format_duration
from ..core.gates import GateMetric
from ..core.model import BUCKETS
from ..core.rollout import RolloutPhase, TransitionRecord
from .alert_records import AlertComparison, AlertRuleRecord, AlertState
from .rollout_records import RolloutRecord

__all__ = ["accepts", "alert_notification", "rollout_notification", "when"]

_RANKS = {"info": 0, "warning": 1, "critical": 2}
_TITLE_LIMIT = 250
_SUMMARY_LIMIT = 10_000


def accepts(config: Mapping[str, Any], kind: str, severity: str) -> bool:
    """Whether a channel with this (validated) config wants a notification of this kind."""
    minimum = _RANKS.get(str(config.get("min_severity", "info")), 0)
    if _RANKS.get(severity, 0) < minimum:
        return False
    patterns = config.get("kinds") or ["*"]
    return any(fnmatchcase(kind, str(pattern)) for pattern in patterns)


def _cut(text: str, limit: int) -> str:
    single = " ".join(text.split())
    return single if len(single) <= limit else single[: limit - 1] + "…"


def _percent(share: int) -> str:
    return f"{share * 100 / BUCKETS:g}%"


def when(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _severity(record: TransitionRecord) -> str:
    if record.to_phase is RolloutPhase.ROLLED_BACK:
        return "critical"
    if record.to_phase in (RolloutPhase.PAUSED, RolloutPhase.ABORTED):
        return "warning"
    return "info"


def _headline(rollout: RolloutRecord, record: TransitionRecord) -> str:
    canary, where = rollout.variant, f"in {rollout.environment}"
    share = _percent(record.to_share)
    phase = record.to_phase
    if phase is RolloutPhase.SUCCEEDED:
        return f"{rollout.flag}: {canary} rolled out to 100% {where}"
    if phase is RolloutPhase.ROLLED_BACK:
        return f"{rollout.flag}: {canary} rolled back {where}"
    if phase is RolloutPhase.ABORTED:
        return f"{rollout.flag}: rollout of {canary} aborted {where}"
    if phase is RolloutPhase.PAUSED:
        return f"{rollout.flag}: rollout of {canary} paused at {share} {where}"
    verb = {"start": "started", "retry": "retried", "resume": "resumed"}.get(record.action.value)
    if verb is not None:
        return f"{rollout.flag}: rollout of {canary} {verb} at {share} {where}"
    return f"{rollout.flag}: {canary} at {share} {where}"


def _gate_fields(evidence: Mapping[str, Any] | None) -> dict[str, str]:
    """``gate <key>: <verdict> — <reason>`` for each gate the evidence reports."""
    if not evidence:
        return {}
    gates = evidence.get("gates")
    items: list[Mapping[str, Any]] = []
    if isinstance(gates, list):
        items = [g for g in gates if isinstance(g, Mapping)]
    elif isinstance(gates, Mapping):
        items = [
            {"gate": key, **value}
            if isinstance(value, Mapping)
            else {"gate": key, "verdict": value}
            for key, value in gates.items()
        ]
    fields: dict[str, str] = {}
    for gate in items:
        key = gate.get("gate") or gate.get("name") or gate.get("metric")
        verdict = gate.get("verdict")
        if key is None or verdict is None:
            continue
        reason = gate.get("reason")
        text = f"{verdict} — {reason}" if reason else str(verdict)
        fields[f"gate {key}"] = _cut(text, 500)
    return fields


def rollout_notification(
    rollout: RolloutRecord, record: TransitionRecord, actor: str
) -> dict[str, Any]:
    """The ``rollout.transition`` notification for one history row (without its id)."""
    steps = len(rollout.spec.steps)
    fields: dict[str, Any] = {
        "phase": f"{record.from_phase.value} → {record.to_phase.value}",
        "step": f"{record.to_step + 1} of {steps}",
        "share": f"{_percent(record.from_share)} → {_percent(record.to_share)}",
        "action": record.action.value,
        "actor": actor,
        "attempt": record.attempt,
        "variant": f"{rollout.variant} (baseline {rollout.baseline})",
    }
    fields.update(_gate_fields(record.evidence))
    return {
        "kind": "rollout.transition",
        "severity": _severity(record),
        "title": _cut(_headline(rollout, record), _TITLE_LIMIT),
        "summary": _cut(record.reason, _SUMMARY_LIMIT),
        "subject": {
            "flag": rollout.flag,
            "environment": rollout.environment,
            "rollout": str(rollout.id),
            "alert_rule": None,
        },
        "occurred_at": when(record.at),
        "fields": fields,
        "evidence": record.evidence,
        "links": {},
    }


def format_metric(metric: GateMetric, value: float | None) -> str:
    """A metric's value as people read it: rates in percent, latencies in milliseconds."""
    if value is None or not math.isfinite(value):
        return "no data"
    if metric.is_rate:
        return f"{value * 100:.3g}%"
    if metric.is_latency:
        return f"{value * 1000:.4g} ms"
    return f"{value:.6g}"


def _condition(rule: AlertRuleRecord) -> str:
    if rule.comparison is AlertComparison.INCREASE_ABOVE:
        return f"{rule.metric.value} more than {rule.threshold * 100:g}% above the baseline"
    return (
        f"{rule.metric.value} {rule.comparison.value} {format_metric(rule.metric, rule.threshold)}"
    )


def alert_notification(
    rule: AlertRuleRecord,
    to_state: AlertState,
    *,
    at: datetime,
    value: float | None,
    baseline_value: float | None,
    reason: str,
    details: Mapping[str, Any] | None,
) -> dict[str, Any]:
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
    return {
        "kind": "alert.firing" if firing else "alert.resolved",
        "severity": rule.severity.value if firing else "info",
        "title": _cut(f"{rule.name} {verb} in {rule.environment} ({scope})", _TITLE_LIMIT),
        "summary": _cut(summary, _SUMMARY_LIMIT),
        "subject": {
            "flag": rule.flag,
            "environment": rule.environment,
            "rollout": None,
            "alert_rule": rule.name,
        },
        "occurred_at": when(at),
        "fields": fields,
        "evidence": dict(details) if details is not None else None,
        "links": {},
    }
