"""The controller's look at running experiments: guardrails judged, failing ones stopped.

Every tick (leader only) the watcher lists the running experiments and, for each one not
looked at in the last ``interval`` seconds, runs
:func:`~rollwise.application.experiments.check_guardrails` in a transaction of its own
(fenced like every controller write): a failing guardrail stops the experiment with the
evidence and queues the notification; a healthy one keeps running. One experiment that
cannot be judged (a store error, data the engine refuses) is logged, counted and tried
again at its next interval; the others go on.

The interval is kept in memory: a new leader looks at every running experiment at its
first tick, which is harmless (a look that finds nothing wrong writes nothing).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..application.experiments import GuardrailCheck, check_guardrails
from ..core.rollout import CONTROLLER_ACTOR
from ..store import Store
from ..store.leases import LeaseLost

__all__ = ["ExperimentOutcome", "GuardrailWatcher"]


@dataclass(frozen=True, slots=True)
class ExperimentOutcome:
    """What one tick did with one running experiment: ``stopped``, ``running`` (judged,
    nothing failed), ``skipped`` (no longer running, or no guardrails) or ``error``."""

    experiment: str
    status: str
    reason: str = ""
    evidence: dict[str, Any] | None = None


class GuardrailWatcher:
    """Looks at running experiments' guardrails, each at most once per ``interval``."""

    def __init__(
        self,
        store: Store,
        interval: float,
        *,
        logger: logging.Logger | None = None,
        leader: Callable[[], dict[str, Any] | None] | None = None,
    ) -> None:
        self.store = store
        self.interval = interval
        self._leader = leader
        self._logger = logger or logging.getLogger("rollwise.controller")
        self._looked: dict[str, datetime] = {}  # experiment → when it was last judged
        self._failing: set[str] = set()  # experiments whose failure was logged in full
        self.errors = 0
        """Looks that failed since this watcher was made (for status pages and tests)."""

    def check(self, now: datetime) -> list[ExperimentOutcome]:
        """Look at every running experiment that is due, in key order."""
        with self.store.reading() as tx:
            running = [record.key for record in tx.experiments.list_experiments(state="running")]
        self._looked = {key: at for key, at in self._looked.items() if key in running}
        return [self.check_experiment(key, now) for key in sorted(running) if self._due(key, now)]

    def _due(self, key: str, now: datetime) -> bool:
        last = self._looked.get(key)
        return last is None or (now - last).total_seconds() >= self.interval

    def check_experiment(self, key: str, now: datetime) -> ExperimentOutcome:
        """Judge ``key``'s guardrails in one transaction; never raises for one experiment
        (except :class:`LeaseLost`: another process leads, the round ends)."""
        self._looked[key] = now
        leader = self._leader() if self._leader is not None else None
        try:
            with self.store.transaction(CONTROLLER_ACTOR) as tx:
                result: GuardrailCheck = check_guardrails(tx, key, now, leader=leader)
        except LeaseLost:
            raise
        except Exception as error:  # the boundary of one experiment's look: the others go on
            self.errors += 1
            self._logger.warning(
                "rollwise: could not check the guardrails of experiment %r: %s",
                key,
                error,
                exc_info=key not in self._failing,  # the traceback once, not every look
            )
            self._failing.add(key)
            return ExperimentOutcome(key, "error", str(error) or type(error).__name__)
        self._failing.discard(key)
        if result.status == "stopped":
            self._logger.warning(
                "rollwise: experiment %r stopped (keep control): %s", key, result.reason
            )
        return ExperimentOutcome(key, result.status, result.reason, result.evidence or None)
