"""The controller's side of the health-check gate: probe candidates, keep the count, act.

A rollout whose spec has a ``health_check`` stays pending after ``start`` until its
candidate is healthy (:mod:`rollwise.core.rollout._health` holds the rule). Each tick,
for every such rollout whose ``interval`` has passed since its last probe, one HTTP GET is
sent to the check's URL; the probes of a tick run side by side, so a tick waits at most
one probe timeout however many rollouts verify. The count lives in the rollout's latest
judgement (at the rollout's version, as the routing check keeps its ``applied_at``), so a
new leader carries on where the last stopped; each look is committed through
:func:`~rollwise.application.rollouts.record_health_check` at the version that was read.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from ..application.rollouts import record_health_check
from ..core.rollout import (
    CONTROLLER_ACTOR,
    HEALTH_EVIDENCE,
    HealthCheck,
    HealthProbe,
    HealthProgress,
    RolloutAction,
    RolloutPhase,
    health_decision,
    is_verifying,
    probe_due,
)
from ..errors import ConflictError
from ..store import RolloutRecord, Store
from ..store.leases import LeaseLost
from ._evidence import jsonable

__all__ = ["HealthLook", "HealthVerifier", "HttpProber", "Prober"]

Prober = Callable[[HealthCheck, datetime], HealthProbe]
"""Sends one probe for a check at a moment and says what came back; never raises."""

_PAGE = 1000
_MAX_PARALLEL = 8


class HttpProber:
    """Probes with one shared httpx client: a GET, the check's timeout, no redirects
    followed (a redirect is healthy only when ``expect_status`` names it).

    The client is made on the first probe: every controller has a prober, few rollouts
    check health, and a client costs its TLS context (the CA bundle read, ~30 ms of CPU)."""

    def __init__(self) -> None:
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()

    def _http(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(
                    follow_redirects=False, headers={"User-Agent": "rollwise"}
                )
            return self._client

    def __call__(self, check: HealthCheck, at: datetime) -> HealthProbe:
        client = self._http()
        began = time.monotonic()
        try:
            response = client.get(check.url, timeout=httpx.Timeout(check.timeout))
        except httpx.TimeoutException:
            return HealthProbe(
                at, False, error=f"no answer within {check.timeout:g}s", seconds=_since(began)
            )
        except httpx.HTTPError as error:
            text = str(error) or type(error).__name__
            return HealthProbe(at, False, error=text[:300], seconds=_since(began))
        status = response.status_code
        return HealthProbe(at, check.healthy(status), status=status, seconds=_since(began))

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None


def _since(began: float) -> float:
    return round(time.monotonic() - began, 4)


@dataclass(frozen=True, slots=True)
class HealthLook:
    """What one tick did with one verifying rollout (see ``RolloutOutcome``)."""

    rollout_id: int
    status: str
    action: RolloutAction | None = None
    reason: str = ""
    phase: RolloutPhase | None = None


class HealthVerifier:
    """Probes the candidates of rollouts that verify their health, and starts or aborts them."""

    def __init__(
        self,
        store: Store,
        prober: Prober | None = None,
        *,
        logger: logging.Logger | None = None,
        leader: Callable[[], dict[str, Any] | None] | None = None,
    ) -> None:
        self.store = store
        self._own = HttpProber() if prober is None else None
        self._prober: Prober = prober if prober is not None else self._own  # type: ignore[assignment]
        self._logger = logger or logging.getLogger("rollwise.controller")
        self._leader = leader
        self._pool: ThreadPoolExecutor | None = None

    def verify(self, now: datetime) -> list[HealthLook]:
        """One look at every rollout verifying its candidate: probe those due, act."""
        records = self.verifying()
        if not records:
            return []
        progress = {record.id: self._progress(record) for record in records}
        due = [record for record in records if probe_due(_check(record), progress[record.id], now)]
        probes = self._probe(due, now)
        return [
            self._act(record, progress[record.id], probes.get(record.id), now) for record in records
        ]

    def verifying(self) -> list[RolloutRecord]:
        """The pending rollouts whose start waits on a health check, oldest first."""
        found: list[RolloutRecord] = []
        before: int | None = None
        while True:
            with self.store.reading() as tx:
                page = tx.rollouts.list_rollouts(
                    phases=[RolloutPhase.PENDING], limit=_PAGE, before_id=before
                )
            found.extend(r for r in page if is_verifying(r.spec, r.state))
            if len(page) < _PAGE:
                break
            before = page[-1].id
        return sorted(found, key=lambda r: r.id)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        if self._own is not None:
            self._own.close()

    def _progress(self, record: RolloutRecord) -> HealthProgress:
        """The count an earlier look of this very attempt (same version) kept."""
        with self.store.reading() as tx:
            judgement = tx.rollouts.get_judgement(record.id)
        if judgement is None or judgement.rollout_version != record.version:
            return HealthProgress()
        return HealthProgress.from_evidence(judgement.evidence)

    def _probe(self, records: Sequence[RolloutRecord], now: datetime) -> dict[int, HealthProbe]:
        """One probe per record, side by side: the tick waits for the slowest, bounded by
        its timeout."""
        if not records:
            return {}
        if len(records) == 1:
            return {records[0].id: self._safe_probe(_check(records[0]), now)}
        if self._pool is None:
            self._pool = ThreadPoolExecutor(_MAX_PARALLEL, thread_name_prefix="rollwise-health")
        futures = {r.id: self._pool.submit(self._safe_probe, _check(r), now) for r in records}
        return {rollout_id: future.result() for rollout_id, future in futures.items()}

    def _safe_probe(self, check: HealthCheck, now: datetime) -> HealthProbe:
        try:
            return self._prober(check, now)
        except Exception as error:  # noqa: BLE001 - a prober's bug: an unhealthy probe
            self._logger.warning("rollwise: health probe of %s failed: %r", check.url, error)
            return HealthProbe(now, False, error=f"the probe failed: {error!r}"[:300])

    def _act(
        self,
        record: RolloutRecord,
        progress: HealthProgress,
        probe: HealthProbe | None,
        now: datetime,
    ) -> HealthLook:
        check = _check(record)
        started = record.state.step_started_at
        assert started is not None  # is_verifying
        decision = health_decision(check, progress, probe, started_at=started, now=now)
        evidence: dict[str, Any] = {
            HEALTH_EVIDENCE: decision.progress.evidence(check, started),
            "gates": [
                {"gate": "health_check", "verdict": decision.verdict, "reason": decision.reason}
            ],
            "action": decision.action.value,
        }
        leader = self._leader() if self._leader is not None else None
        if leader is not None:
            evidence["leader"] = leader
        try:
            with self.store.transaction(CONTROLLER_ACTOR) as tx:
                _, after = record_health_check(
                    tx,
                    record,
                    decision.action,
                    at=now,
                    reason=decision.reason,
                    verdict=decision.verdict,
                    evidence=jsonable(evidence),
                )
        except LeaseLost:  # another process leads: this round ends here
            raise
        except ConflictError as error:  # a person acted meanwhile: their state wins
            return HealthLook(record.id, "conflict", reason=error.message)
        except Exception as error:  # the boundary of one rollout's look: the others go on
            self._logger.warning(
                "rollwise: could not act on the health check of rollout %s: %s",
                record.id,
                error,
                exc_info=True,
            )
            return HealthLook(record.id, "error", reason=str(error) or type(error).__name__)
        if decision.action is RolloutAction.HOLD:
            return HealthLook(record.id, "held", decision.action, decision.reason)
        self._logger.info(
            "rollwise: rollout %s (%s in %s): %s -> %s: %s",
            record.id,
            record.flag,
            record.environment,
            decision.action.value,
            after.phase.value,
            decision.reason,
        )
        return HealthLook(record.id, "applied", decision.action, decision.reason, after.phase)


def _check(record: RolloutRecord) -> HealthCheck:
    check = record.spec.health_check
    assert check is not None  # only verifying rollouts get here
    return check
