"""One look at every progressing rollout: fetch, judge, decide, record, act.

For each progressing rollout, every tick:

0. when routers outside the processes apply the rollout's split (nginx through ``rollwise
   router nginx``; :mod:`rollwise.core.rollout._routing` says which), the step waits until
   every one of them reports its split's config revision: until then the look holds
   without fetching anything ("waiting for the router(s)"), and pauses once the spec's
   ``router_apply_timeout`` has passed since the step began, naming them (``_routing.py``);
1. the step's window is ``[step_started_at, now]`` — or from when its routers applied the
   split, the step's bake counting from then too — cumulative, as the judge's
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

Before any of this, a rollout whose spec has a ``health_check`` stays pending once started
until its candidate answers healthy (``_health.py``): each tick probes it (at most once
per ``interval``, the probes of all such rollouts side by side), then starts step 1, holds,
or aborts it at the check's deadline.

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
    RoutingCheck,
    StepDecision,
    decide,
    gates_for_step,
    judge_settings,
    routing_decision,
    step_clock,
)
from ..errors import ConflictError, JudgeError, ProviderError, RollwiseError
from ..store import RolloutRecord, Store
from ..store.leases import LeaseLost
from ._evidence import error_evidence, jsonable, no_data_judgement, unjudged
from ._health import HealthVerifier, Prober
from ._routing import ROUTING_EVIDENCE, read_routing

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
        prober: Prober | None = None,
    ) -> None:
        self.store = store
        self.provider = provider
        self._leader = leader
        self._logger = logger or logging.getLogger("rollwise.controller")
        self._failing: set[int] = set()  # rollouts whose failure was logged in full already
        self.health = HealthVerifier(store, prober, logger=self._logger, leader=leader)

    def reconcile(self, now: datetime) -> list[RolloutOutcome]:
        """Look at every progressing rollout once, oldest first; then at every rollout
        verifying its candidate's health (one started now is judged from the next tick)."""
        judged = [self.reconcile_rollout(record, now) for record in self._progressing()]
        verified = [
            RolloutOutcome(
                look.rollout_id, look.status, look.action, reason=look.reason, phase=look.phase
            )
            for look in self.health.verify(now)
        ]
        return judged + verified

    def close(self) -> None:
        """Close the health checks' HTTP client and threads."""
        self.health.close()

    def _progressing(self) -> Iterator[RolloutRecord]:
        before: int | None = None
        pages: list[list[RolloutRecord]] = []
        while True:
            with self.store.transaction(CONTROLLER_ACTOR) as tx:
                page = tx.rollouts.list_rollouts(
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
        if step_clock(spec, state) is None:
            raise ValueError(f"rollout {record.id} is {record.phase.value}, not progressing")
        routing = read_routing(self.store, record, now)
        if routing is not None:
            waiting = routing_decision(spec, state.step, routing, now=now)
            if waiting is not None:
                return self._routing_look(record, routing, waiting)
        in_force_at = routing.judged_from if routing is not None else None
        clock = step_clock(spec, state, in_force_at=in_force_at)
        assert clock is not None
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
        missing = judgement.summary if judgement.verdict is Verdict.NO_DATA else None
        decision = decide(
            spec, state, judgement.verdict, now=now, in_force_at=in_force_at, missing=missing
        )
        evidence: dict[str, Any] = {
            **judgement.to_dict(),
            "action": decision.action.value,
            "step": {
                **_step_evidence(step.percent, step.bake, state.step, state.step_started_at),
                "bake_ends_at": clock.bake_ends_at,
                "expires_at": clock.expires_at,
            },
            "window": {"start": query.start, "end": query.end, "seconds": query.seconds},
            "metrics": metrics.summary() if metrics is not None else None,
            "source": dict(metrics.source) if metrics is not None else None,
        }
        if routing is not None:
            evidence[ROUTING_EVIDENCE] = routing.evidence()
        if failure is not None:
            evidence["provider_error"] = error_evidence(failure)
        return self._finish(Look(judgement, decision, metrics, evidence))

    def _routing_look(
        self, record: RolloutRecord, routing: RoutingCheck, decision: StepDecision
    ) -> Look:
        """The step's split is not applied by its routers yet: nothing of its traffic is
        the step's, so nothing is fetched; hold, or pause at the deadline."""
        spec, state = record.spec, record.state
        gates = gates_for_step(spec, state.step)
        judgement = unjudged(
            gates, decision.reason, code="router_not_applied", min_samples=spec.min_samples
        )
        step = spec.steps[state.step]
        evidence: dict[str, Any] = {
            **judgement.to_dict(),
            "action": decision.action.value,
            "step": _step_evidence(step.percent, step.bake, state.step, state.step_started_at),
            "window": None,
            "metrics": None,
            "source": None,
            ROUTING_EVIDENCE: routing.evidence(),
        }
        return self._finish(Look(judgement, decision, None, evidence))

    def _finish(self, look: Look) -> Look:
        """The look's evidence as stored JSON, with who decided."""
        evidence = dict(look.evidence)
        leader = self._leader() if self._leader is not None else None
        if leader is not None:
            evidence["leader"] = leader  # who decided: the replica and its lease epoch
        return Look(look.judgement, look.decision, look.metrics, jsonable(evidence))

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
                tx.rollouts.record_judgement(
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


def _step_evidence(
    percent: int, bake: float, index: int, started_at: datetime | None
) -> dict[str, Any]:
    """The step a look judged (the bake counts from the window's start, ``started_at``)."""
    return {"index": index, "percent": percent, "bake": bake, "started_at": started_at}
