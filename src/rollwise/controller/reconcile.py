"""One look at every progressing rollout: fetch, judge, decide, record, act.

For each progressing rollout, every tick:

1. the step's window is ``[step_started_at, now]`` — cumulative, as the judge's
   anytime-valid tests need; the metric provider answers for the canary and the baseline
   (no baseline at a 100% step: nobody is on it);
2. ``NoDataError`` or ``ProviderError`` (or a judge that fails on the data: ``JudgeError``)
   make a "no data" judgement with the reason in the evidence — never a pass, and subject
   to the no-data policy and the maximum step duration; otherwise
   :func:`~rollwise.analysis.judge_step` judges the step's gates
   (:func:`~rollwise.core.rollout.gates_for_step`);
3. :func:`~rollwise.core.rollout.decide` adds bake time, the maximum step duration and
   the no-data policy: ``hold``, ``advance``, ``pause`` or ``rollback``;
4. one transaction (:func:`~rollwise.application.record_step_decision`) locks the
   rollout at the version that was judged, records the judgement and, unless the decision
   is ``hold``, applies the transition (history, flag split, audit, notifications) with
   that version as ``expected_version``.

A rollout that a person changed meanwhile fails the version check: nothing of the look is
recorded and the next tick judges the new state. A rollout that cannot be judged (its
flag gone, a bug) is logged and recorded as an ``error`` judgement; the others go on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from ..analysis import StepJudgement, judge_step
from ..analysis.providers import MetricProvider, MetricQuery, StepMetrics
from ..application import record_step_decision
from ..core.gates import Verdict
from ..core.rollout import (
    CONTROLLER_ACTOR,
    RolloutAction,
    RolloutPhase,
    StepDecision,
    decide,
    gates_for_step,
    judge_settings,
    step_clock,
)
from ..errors import ConflictError, JudgeError, ProviderError, RollwiseError
from ..store import RolloutRecord, Store
from ..store.leases import LeaseLost
from ._evidence import error_evidence, jsonable, no_data_judgement

__all__ = ["Look", "Reconciler", "RolloutOutcome"]

_PAGE = 1000


@dataclass(frozen=True, slots=True)
class Look:
    """What the controller saw of one rollout at one moment, and what it decided."""

    judgement: StepJudgement
    decision: StepDecision
    metrics: StepMetrics | None
    evidence: dict[str, Any]


@dataclass(frozen=True, slots=True)
class RolloutOutcome:
    """What one tick did with one rollout.

    ``status`` is ``applied`` (a transition was committed), ``held`` (judged, nothing to
    do), ``conflict`` (someone changed the rollout meanwhile: judged again next tick) or
    ``error`` (it could not be judged; logged and recorded).
    """

    rollout_id: int
    status: str
    action: RolloutAction | None = None
    verdict: Verdict | None = None
    reason: str = ""
    phase: RolloutPhase | None = None
    """The phase afterwards, when a transition was applied."""


class Reconciler:
    """Judges and moves progressing rollouts; one instance per controller."""

    def __init__(
        self,
        store: Store,
        provider: MetricProvider,
        *,
        logger: logging.Logger | None = None,
        leader: Callable[[], dict[str, Any] | None] | None = None,
    ) -> None:
        self.store = store
        self.provider = provider
        self._leader = leader
        self._logger = logger or logging.getLogger("rollwise.controller")
        self._failing: set[int] = set()  # rollouts whose failure was logged in full already

    def reconcile(self, now: datetime) -> list[RolloutOutcome]:
        """Look at every progressing rollout once, oldest first."""
        return [self.reconcile_rollout(record, now) for record in self._progressing()]

    def _progressing(self) -> Iterator[RolloutRecord]:
        before: int | None = None
        pages: list[list[RolloutRecord]] = []
        while True:
            with self.store.transaction(CONTROLLER_ACTOR) as tx:
                page = tx.list_rollouts(
                    phases=[RolloutPhase.PROGRESSING], limit=_PAGE, before_id=before
                )
            pages.append(page)
            if len(page) < _PAGE:
                break
            before = page[-1].id
        for page in reversed(pages):
            yield from reversed(page)

    def reconcile_rollout(self, record: RolloutRecord, now: datetime) -> RolloutOutcome:
        """Judge ``record`` as read and act on it; never raises for one bad rollout."""
        try:
            look = self.look(record, now)
            outcome = self._commit(record, look, now)
        except LeaseLost:  # another process leads: this round ends here, nothing written
            raise
        except ConflictError as error:
            self._logger.info(
                "rollwise: rollout %s changed while it was judged (%s); judging it again next tick",
                record.id,
                error.message,
            )
            return RolloutOutcome(record.id, "conflict", reason=error.message)
        except Exception as error:  # the boundary of one rollout's look: the others go on
            self._logger.warning(
                "rollwise: could not judge rollout %s: %s",
                record.id,
                error,
                exc_info=record.id not in self._failing,  # the traceback once, not every tick
            )
            self._failing.add(record.id)
            self._record_failure(record, error, now)
            return RolloutOutcome(record.id, "error", reason=str(error) or type(error).__name__)
        self._failing.discard(record.id)
        return outcome

    def look(self, record: RolloutRecord, now: datetime) -> Look:
        """Fetch the step's metrics, judge them and decide; no writes."""
        spec, state = record.spec, record.state
        clock = step_clock(spec, state)
        if clock is None:
            raise ValueError(f"rollout {record.id} is {record.phase.value}, not progressing")
        step = spec.steps[state.step]
        gates = gates_for_step(spec, state.step)
        baked = now >= clock.bake_ends_at
        end = max(now, clock.started_at)
        query = MetricQuery(
            flag=record.flag,
            environment=record.environment,
            canary=record.variant,
            baseline=record.baseline if step.percent < 100 else None,
            start=clock.started_at,
            end=end,
            gates=gates,
        )
        metrics: StepMetrics | None = None
        failure: RollwiseError | None = None
        try:
            metrics = self.provider.fetch(query)
        except ProviderError as error:  # NoDataError included: "no data", never a pass
            failure = error
        judgement: StepJudgement | None = None
        if metrics is not None:
            try:
                judgement = judge_step(
                    gates, metrics.baseline, metrics.canary, min_samples=spec.min_samples,
                    bake_elapsed=baked, settings=judge_settings(spec, state.step),
                )  # fmt: skip
            except (ArithmeticError, ValueError) as error:  # data no check foresaw: "no data"
                self._logger.warning(
                    "rollwise: the judge failed on rollout %s: %r", record.id, error, exc_info=True
                )
                failure = JudgeError(f"the judge failed: {error!r}")
        if judgement is None:
            assert failure is not None
            judgement = no_data_judgement(
                gates, failure, min_samples=spec.min_samples, bake_elapsed=baked
            )
        decision = decide(spec, state, judgement.verdict, now=now)
        evidence: dict[str, Any] = {
            **judgement.to_dict(),
            "action": decision.action.value,
            "step": {
                "index": state.step,
                "percent": step.percent,
                "bake": step.bake,
                "started_at": clock.started_at,
                "bake_ends_at": clock.bake_ends_at,
                "expires_at": clock.expires_at,
            },
            "window": {"start": query.start, "end": query.end, "seconds": query.seconds},
            "metrics": metrics.summary() if metrics is not None else None,
            "source": dict(metrics.source) if metrics is not None else None,
        }
        if failure is not None:
            evidence["provider_error"] = error_evidence(failure)
        leader = self._leader() if self._leader is not None else None
        if leader is not None:
            evidence["leader"] = leader  # who decided: the replica and its lease epoch
        return Look(judgement, decision, metrics, jsonable(evidence))

    def _commit(self, record: RolloutRecord, look: Look, now: datetime) -> RolloutOutcome:
        """Record the look and apply its decision in one transaction, at the judged version."""
        action, reason = look.decision.action, look.decision.reason
        verdict = look.judgement.verdict
        with self.store.transaction(CONTROLLER_ACTOR) as tx:
            kept = record_step_decision(
                tx,
                record,
                action,
                at=now,
                reason=reason,
                verdict=verdict.value,
                evidence=look.evidence,
            )
        if action is RolloutAction.HOLD:
            return RolloutOutcome(record.id, "held", action, verdict, reason)
        after = kept.rollout
        self._logger.info(
            "rollwise: rollout %s (%s in %s): %s -> %s at step %s: %s",
            record.id,
            record.flag,
            record.environment,
            action.value,
            after.phase.value,
            after.step + 1,
            reason,
        )
        return RolloutOutcome(record.id, "applied", action, verdict, reason, after.phase)

    def _record_failure(self, record: RolloutRecord, error: BaseException, now: datetime) -> None:
        """Leave the failure where people look (the rollout's judgement), if the store can."""
        try:
            with self.store.transaction(CONTROLLER_ACTOR) as tx:
                tx.record_judgement(
                    record.id,
                    decision="error",
                    reason=f"the controller could not judge this step: {error}",
                    verdict=None,
                    evidence={"error": error_evidence(error)},
                    at=now,
                )
        except (SQLAlchemyError, RollwiseError):  # the store may be what failed; logged above
            self._logger.warning(
                "rollwise: could not record the failure of rollout %s", record.id, exc_info=True
            )
