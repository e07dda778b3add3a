"""Guardrails stop experiments: the controller's look at one running experiment.

A guardrail metric (errors, latency, unsubscribes) is judged like a rollout gate on the
always-valid interval of its relative lift (:mod:`rollwise.analysis.experiment.guardrails`).
When one fails, :func:`check_guardrails` does in the caller's transaction what a person
would do on seeing it: stop the experiment with the decision ``keep_control`` and the
engine's reason (audited ``experiment.stop`` and ``experiment.decision``), send every unit
to control (the harmful arm stops serving at once; audited ``flag_state.update``), record
the evidence the decision was made on (audited ``experiment.guardrail_stop``: verdicts,
intervals, units per arm, the sample-ratio check) and queue the ``experiment.stopped``
notification in the outbox. A healthy or undecided experiment is left running, never
touched; an experiment that is no longer running is left alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from ..analysis.experiment import AnalysisSettings, GuardrailReport
from ..core.experiment import Decision
from ..core.flags import BUCKETS
from ..core.notifications import (
    SUMMARY_LIMIT,
    TITLE_LIMIT,
    Kind,
    NotificationContent,
    Severity,
    Subject,
    cut,
)
from ..store import Tx
from ..store.experiments import ExperimentRecord
from .experiment_results import ExperimentAnalysis, analyze_experiment

__all__ = [
    "EXPERIMENT_STOPPED",
    "GuardrailCheck",
    "check_guardrails",
    "experiment_stop_notification",
]

EXPERIMENT_STOPPED = Kind.EXPERIMENT_STOPPED
"""The notification kind of an experiment a failing guardrail stopped."""

_DECISION_REASON_LIMIT = 2000  # Decision.reason's bound


@dataclass(frozen=True, slots=True)
class GuardrailCheck:
    """What one look at an experiment's guardrails did.

    ``status``: ``stopped`` (a guardrail failed: stopped, evidence recorded, notified),
    ``running`` (judged: no guardrail failed), ``skipped`` (not running, or no guardrails).
    """

    experiment: str
    status: Literal["stopped", "running", "skipped"]
    reason: str
    evidence: dict[str, Any] = field(default_factory=dict)


def check_guardrails(
    tx: Tx,
    experiment: str,
    now: datetime,
    *,
    settings: AnalysisSettings | None = None,
    leader: dict[str, Any] | None = None,
) -> GuardrailCheck:
    """Judge ``experiment``'s guardrails and stop it when one fails (see the module docs).

    ``settings`` are the engine's (defaults: alpha 0.05, guardrails on always-valid intervals,
    so looking every minute is safe); ``leader`` names the controller replica that decided
    (kept in the evidence). Raises what the store raises: the caller's transaction rolls
    back whole.
    """
    record = tx.experiments.get(experiment, lock=True)
    if record.state != "running":
        return GuardrailCheck(record.key, "skipped", f"experiment is {record.state}")
    if not record.definition.guardrails:
        return GuardrailCheck(record.key, "skipped", "experiment has no guardrail metrics")
    analysis = analyze_experiment(tx, record, settings or AnalysisSettings())
    report = analysis.results.guardrails
    evidence = _evidence(record, analysis, now, leader)
    if not report.stop:
        return GuardrailCheck(record.key, "running", report.reason, evidence)
    decision = Decision(kind="keep_control", reason=cut(report.reason, _DECISION_REASON_LIMIT))
    stopped = tx.experiments.stop(record.key, decision, record.version)
    evidence["split"] = _to_control(tx, stopped)
    tx.experiments.audit_guardrail_stop(stopped, evidence)
    tx.outbox.enqueue(experiment_stop_notification(stopped, report, evidence, now))
    return GuardrailCheck(record.key, "stopped", report.reason, evidence)


def _to_control(tx: Tx, record: ExperimentRecord) -> dict[str, int]:
    """Every unit to the control arm: a failing guardrail means an arm is doing harm."""
    control = record.definition.control_arm
    current = tx.flags.get_state(record.flag, record.environment, lock=True)
    split = {arm: BUCKETS if arm == control else 0 for arm in record.definition.arms}
    if current.state.split != split:
        state = current.state.model_copy(update={"split": split, "default": None})
        tx.flags.put_state(record.flag, record.environment, state, current.version)
    return split


def _evidence(
    record: ExperimentRecord,
    analysis: ExperimentAnalysis,
    now: datetime,
    leader: dict[str, Any] | None,
) -> dict[str, Any]:
    """The numbers the guardrail verdict was made on, as stored JSON."""
    results = analysis.results
    evidence: dict[str, Any] = {
        "checked_at": now.isoformat(),
        "guardrails": results.guardrails.to_dict(),
        "sample_ratio": results.sample_ratio.to_dict(),
        "units": dict(analysis.data.units),
        "per_arm": {
            arm: values
            for arm, values in analysis.per_arm().items()
            if arm in record.definition.arms
        },
        "alpha": results.alpha,
    }
    if leader is not None:
        evidence["leader"] = leader
    return evidence


def experiment_stop_notification(
    record: ExperimentRecord, report: GuardrailReport, evidence: dict[str, Any], at: datetime
) -> NotificationContent:
    """The ``experiment.stopped`` notification of an experiment a guardrail stopped."""
    definition = record.definition
    fields: dict[str, Any] = {
        "decision": "keep_control",
        "control": definition.control_arm,
        "arms": ", ".join(
            f"{arm} {weight * 100 / BUCKETS:g}%" for arm, weight in definition.arms.items()
        ),
        "traffic": f"100% to {definition.control_arm}",
        "sample ratio": "mismatch" if report.sample_ratio_mismatch else "ok",
    }
    for verdict in report.failures:
        fields[f"guardrail {verdict.metric} on {verdict.arm}"] = cut(verdict.reason, 500)
    title = f"experiment {record.key} stopped: guardrail failed in {record.environment}"
    return NotificationContent(
        kind=EXPERIMENT_STOPPED,
        severity=Severity.CRITICAL,
        title=cut(title, TITLE_LIMIT),
        summary=cut(report.reason, SUMMARY_LIMIT),
        subject=Subject(flag=record.flag, environment=record.environment),
        occurred_at=at,
        fields=fields,
        evidence=evidence,
    )
