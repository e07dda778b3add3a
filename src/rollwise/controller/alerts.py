"""Alert evaluation: each enabled rule's condition over its window, every tick.

For a rule, the controller reads the traffic of the last ``window`` — the rule's flag and
variant (unset: all of the flag's variants; no flag: every flag of the environment) — and
computes the metric: error or success rate over requests, mismatch rate over compared
calls, or a latency quantile of the merged sketches. ``increase_above`` compares it with
the same metric of the baseline variant (the rule's ``baseline``, default the flag's off
variant) in the same window; without a ``variant``, every other variant counts as the
subject. The result goes to :func:`~rollwise.application.observe_alert`: breached, not
breached, no data (no requests in the window, or none on the baseline), or waiting for
samples (fewer than the rule's ``min_samples``, on the subject or the baseline: the rule
stays in its state). That use case
runs the state machine (inactive → pending → firing → resolved) and queues the
``alert.firing`` / ``alert.resolved`` notifications in the same transaction.

Windows come from the control plane's own telemetry (what the SDKs report). ``custom``
rules are evaluated by the metric provider (Prometheus), and need a flag and a variant.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..analysis import VariantMetrics
from ..analysis.providers import MetricProvider, MetricQuery, VariantWindowLike
from ..application import observe_alert
from ..core.gates import Gate, GateMetric
from ..core.rollout import CONTROLLER_ACTOR
from ..errors import ProviderError
from ..store import AlertComparison, AlertRuleRecord, AlertState, Store
from ._alert_values import (
    condition_holds,
    describe,
    merged_metrics,
    metric_value,
    waiting_for,
)
from ._evidence import error_evidence, jsonable

__all__ = ["AlertEvaluator", "AlertOutcome", "Observation"]


@dataclass(frozen=True, slots=True)
class Observation:
    """One evaluation of a rule: breached (None: no data), the values, why. ``waiting``:
    too few samples to judge, the rule keeps its state."""

    breached: bool | None
    value: float | None = None
    baseline_value: float | None = None
    reason: str = ""
    details: dict[str, Any] | None = None
    waiting: bool = False


@dataclass(frozen=True, slots=True)
class AlertOutcome:
    """What one tick did with one rule: the observation, and the new state if it changed."""

    rule: str
    observation: Observation | None
    changed_to: AlertState | None = None
    error: str | None = None


class AlertEvaluator:
    """Evaluates enabled alert rules; ``provider`` serves custom metrics."""

    def __init__(
        self,
        store: Store,
        provider: MetricProvider | None = None,
        *,
        logger: logging.Logger | None = None,
    ) -> None:
        self.store = store
        self.provider = provider
        self._logger = logger or logging.getLogger("rollwise.controller")

    def evaluate(self, now: datetime) -> list[AlertOutcome]:
        with self.store.transaction(CONTROLLER_ACTOR) as tx:
            rules = tx.alerts.list_rules(enabled=True)
        return [self.evaluate_rule(rule, now) for rule in rules]

    def evaluate_rule(self, rule: AlertRuleRecord, now: datetime) -> AlertOutcome:
        """Observe ``rule`` and record it; never raises for one bad rule."""
        try:
            observation = self.observe(rule, now)
            with self.store.transaction(CONTROLLER_ACTOR) as tx:
                event = observe_alert(
                    tx,
                    rule.name,
                    breached=observation.breached,
                    at=now,
                    value=observation.value,
                    baseline_value=observation.baseline_value,
                    reason=observation.reason,
                    details=observation.details,
                    waiting=observation.waiting,
                )
        except Exception as error:  # the boundary of one rule's evaluation: others go on
            self._logger.exception("rollwise: could not evaluate alert rule %r", rule.name)
            return AlertOutcome(rule.name, None, error=str(error) or type(error).__name__)
        if event is None:
            return AlertOutcome(rule.name, observation)
        self._logger.info(
            "rollwise: alert %r %s -> %s: %s",
            rule.name,
            event.from_state.value,
            event.to_state.value,
            observation.reason,
        )
        return AlertOutcome(rule.name, observation, event.to_state)

    def observe(self, rule: AlertRuleRecord, now: datetime) -> Observation:
        """The rule's metric over ``[now - window, now)`` and whether the condition holds."""
        start = now - timedelta(seconds=rule.window)
        window = {"start": start, "end": now, "seconds": rule.window}
        if rule.metric is GateMetric.CUSTOM:
            return self._custom(rule, start, now, window)
        subject, baseline = self._windows(rule, start, now)
        return self._judge(rule, subject, baseline, window, {"provider": "builtin"})

    def _windows(
        self, rule: AlertRuleRecord, start: datetime, end: datetime
    ) -> tuple[VariantMetrics, VariantMetrics | None]:
        relative = rule.comparison is AlertComparison.INCREASE_ABOVE
        with self.store.transaction(CONTROLLER_ACTOR) as tx:
            if rule.flag is None:
                by_flag = tx.telemetry.environment_window(rule.environment, start, end)
                every: list[VariantWindowLike] = [
                    window for variants in by_flag.values() for window in variants.values()
                ]
                return merged_metrics("*", every), None
            variants = tx.telemetry.variant_window(rule.environment, rule.flag, start, end)
            baseline_name: str | None = None
            if relative:
                baseline_name = rule.baseline or tx.flags.get(rule.flag).off_variant
        if rule.variant is not None:
            chosen = [variants[rule.variant]] if rule.variant in variants else []
        else:
            chosen = [w for name, w in variants.items() if name != baseline_name]
        subject = merged_metrics(rule.variant or "*", chosen)
        if baseline_name is None:
            return subject, None
        found = variants.get(baseline_name)
        return subject, merged_metrics(baseline_name, [found] if found is not None else [])

    def _judge(
        self,
        rule: AlertRuleRecord,
        subject: VariantMetrics,
        baseline: VariantMetrics | None,
        window: dict[str, Any],
        source: dict[str, Any],
    ) -> Observation:
        value, samples = metric_value(rule.metric, subject)
        details: dict[str, Any] = {"window": window, "samples": samples, "source": source}
        baseline_value: float | None = None
        if baseline is not None:
            baseline_value, baseline_samples = metric_value(rule.metric, baseline)
            details["baseline_samples"] = baseline_samples
        return self._decide(rule, value, baseline_value, samples, details)

    def _decide(
        self,
        rule: AlertRuleRecord,
        value: float | None,
        baseline_value: float | None,
        samples: int,
        details: dict[str, Any],
    ) -> Observation:
        plain = jsonable(details)
        if value is None:
            return Observation(None, reason="no data in the window", details=plain)
        relative = rule.comparison is AlertComparison.INCREASE_ABOVE
        if relative and baseline_value is None:
            reason = "no data for the baseline in the window"
            return Observation(None, value, None, reason, plain)
        short = waiting_for(rule, samples, details.get("baseline_samples") if relative else None)
        if short is not None:
            return Observation(None, value, baseline_value, short, plain, waiting=True)
        holds = condition_holds(rule, value, baseline_value)
        reason = describe(rule, value, baseline_value, samples, holds)
        return Observation(holds, value, baseline_value, reason, plain)

    def _custom(
        self, rule: AlertRuleRecord, start: datetime, end: datetime, window: dict[str, Any]
    ) -> Observation:
        if self.provider is None or rule.flag is None or rule.variant is None or not rule.query:
            reason = "custom alert metrics need a flag, a variant and a metric provider"
            return Observation(None, reason=reason, details=jsonable({"window": window}))
        gate = Gate(name="alert", metric=GateMetric.CUSTOM, query=rule.query, max=0.0)
        relative = rule.comparison is AlertComparison.INCREASE_ABOVE
        baseline = None
        if relative:
            with self.store.transaction(CONTROLLER_ACTOR) as tx:
                baseline = rule.baseline or tx.flags.get(rule.flag).off_variant
        query = MetricQuery(
            rule.flag, rule.environment, rule.variant, baseline, start, end, (gate,)
        )
        try:
            metrics = self.provider.fetch(query)
        except ProviderError as error:
            details = jsonable({"window": window, "provider_error": error_evidence(error)})
            return Observation(None, reason=f"no data: {error.message}", details=details)
        source = dict(metrics.source)
        mine = metrics.canary.custom.get(gate.key)
        if mine is None:
            reason = metrics.missing.get(gate.key, "the provider gave no value")
            details = jsonable({"window": window, "source": source})
            return Observation(None, reason=f"no data: {reason}", details=details)
        theirs = metrics.baseline.custom.get(gate.key) if metrics.baseline is not None else None
        details = {"window": window, "samples": mine.samples, "source": source}
        baseline_value = theirs.value if theirs is not None else None
        return self._decide(rule, mine.value, baseline_value, mine.samples, details)
