"""The controller: leader check, rollouts judged, alerts evaluated, experiments' guardrails
judged, notifications delivered.

:meth:`Controller.tick` does one round synchronously (tests drive it with a fake clock).
:meth:`Controller.start` runs it in the background on three daemon threads — the leader
loop (every ``renew_seconds``: renew the lease, or look whether it expired), the reconcile
loop (every ``tick_seconds``: rollouts, alerts, and each running experiment's guardrails at
most every ``guardrail_seconds``) and the dispatch loop (every
``dispatch_seconds``: the outbox) — until :meth:`close`. The leader loop has a thread of
its own so that a slow round (a metric provider timing out) never costs the lease.
:meth:`Controller.run` is the foreground form for ``rollwise controller``.

With a fencing elector (the lease), everything the controller writes goes through a
:class:`~rollwise.controller.fencing.FencedStore`: a process that lost the lease, even one
that was frozen and does not know it yet, commits nothing.

Nothing starts at construction or import. Stopping lets the round in progress finish its
current transaction (each transition is one transaction: it commits whole or not at all),
then releases the leader lock so another replica takes over at its next tick. After
``fork()`` the child has no controller threads and does not share the parent's lock;
``start()`` in the child starts afresh, as a follower until it takes the lock.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..analysis.providers import MetricProvider
from ..notifiers import NotifierRegistry
from ..store import Store
from .alerts import AlertEvaluator, AlertOutcome
from .dispatch import Delivery, OutboxDispatcher
from .experiments import ExperimentOutcome, GuardrailWatcher
from .fencing import FencedStore
from .leader import LeaderElector, LeaseElector, LeaseLost, elector_for
from .provider import build_provider
from .reconcile import Reconciler, RolloutOutcome
from .settings import ControllerSettings

__all__ = ["Controller", "TickReport"]


@dataclass(frozen=True, slots=True)
class TickReport:
    """What one round did; ``leader`` False means it did nothing (another process leads)."""

    leader: bool
    rollouts: tuple[RolloutOutcome, ...] = ()
    alerts: tuple[AlertOutcome, ...] = ()
    deliveries: tuple[Delivery, ...] = ()
    experiments: tuple[ExperimentOutcome, ...] = ()


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Controller:
    """Drives rollouts, alerts and the outbox for one store (see the module docs).

    ``provider`` defaults to the one ``settings.provider`` describes (builtin reads the
    store); ``elector`` to the one that fits the database (:func:`elector_for`);
    ``notifiers`` to the built-in notifier types. What the controller builds, it closes.
    """

    def __init__(
        self,
        store: Store,
        settings: ControllerSettings | None = None,
        *,
        provider: MetricProvider | None = None,
        elector: LeaderElector | None = None,
        notifiers: NotifierRegistry | None = None,
        clock: Callable[[], datetime] | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        self.store = store
        self.settings = settings or ControllerSettings()
        self._clock = clock or _utcnow
        self._logger = logger or logging.getLogger("rollwise.controller")
        self._owns_provider = provider is None
        self.provider = provider or build_provider(store, self.settings.provider)
        self.elector = elector or elector_for(store, self.settings.lock_key, self.settings)
        fence = getattr(self.elector, "fence", None)
        acting = FencedStore(store, fence) if callable(fence) else store
        self.reconciler = Reconciler(
            acting, self.provider, logger=self._logger, leader=self._leader_evidence
        )
        self.alerts = AlertEvaluator(acting, self.provider, logger=self._logger)
        self.experiments = GuardrailWatcher(
            acting,
            self.settings.guardrail_seconds,
            logger=self._logger,
            leader=self._leader_evidence,
        )
        self.dispatcher = OutboxDispatcher(
            acting,
            notifiers,
            self.settings.delivery,
            clock=self._clock,
            logger=self._logger,
            leading=self._still_leading,
            records=store,
        )
        self._leading = False
        self._round = threading.Lock()  # tick() and the loops never overlap a round
        self._dispatching = threading.Lock()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._pid = os.getpid()
        self._closed = False

    # -- one round -----------------------------------------------------------------------

    @property
    def is_leader(self) -> bool:
        """Whether the last leader check found this process leading."""
        return self._leading

    @property
    def replica(self) -> str | None:
        """This controller's name in the lease (None with another kind of elector)."""
        return self.elector.replica if isinstance(self.elector, LeaseElector) else None

    def leadership(self) -> dict[str, Any]:
        """What this process knows of leadership, without I/O (for status pages)."""
        elector = self.elector
        status: dict[str, Any] = {
            "replica": self.replica,
            "leading": self._still_leading(),
            "elector": elector.describe(),
        }
        if isinstance(elector, LeaseElector):
            status["epoch"] = elector.epoch
            status["lease_seconds"] = elector.lease_seconds
        return status

    def _still_leading(self) -> bool:
        """Leadership as of now without I/O: a lease that was not renewed in time ends."""
        if isinstance(self.elector, LeaseElector):
            return self._leading and self.elector.leading
        return self._leading

    def _leader_evidence(self) -> dict[str, Any] | None:
        """Who decided, for the evidence of each transition."""
        if isinstance(self.elector, LeaseElector):
            return {"replica": self.elector.replica, "epoch": self.elector.epoch}
        return None

    def check_leader(self) -> bool:
        leading = self.elector.check()
        if leading != self._leading:
            self._logger.info(
                "rollwise: controller %s (%s)",
                "leading" if leading else "following: another process leads",
                self.elector.describe(),
            )
        self._leading = leading
        return leading

    def reconcile_tick(self) -> TickReport:
        """Leader check, then every progressing rollout, every enabled alert rule and the
        guardrails of every running experiment that is due."""
        with self._round:
            if not self.check_leader():
                return TickReport(leader=False)
            now = self._clock()
            try:
                rollouts = self.reconciler.reconcile(now)
                alerts = self.alerts.evaluate(now) if self.check_leader() else []
                experiments = self.experiments.check(now) if self.check_leader() else []
            except LeaseLost as error:
                return self._deposed(error)
            return TickReport(True, tuple(rollouts), tuple(alerts), experiments=tuple(experiments))

    def dispatch_tick(self) -> tuple[Delivery, ...]:
        """Deliver due notifications, if this process leads."""
        if not self._leading or not self.check_leader():
            return ()
        with self._dispatching:
            try:
                return tuple(self.dispatcher.dispatch_once())
            except LeaseLost as error:
                self._deposed(error)
                return ()

    def _deposed(self, error: LeaseLost) -> TickReport:
        """Another process leads now: stop this round where it is (nothing was written)."""
        self._logger.warning("rollwise: controller round stopped: %s", error.message)
        self._leading = False
        return TickReport(leader=False)

    def tick(self) -> TickReport:
        """One full round: :meth:`reconcile_tick`, then :meth:`dispatch_tick`."""
        report = self.reconcile_tick()
        if not report.leader:
            return report
        return TickReport(
            True,
            report.rollouts,
            report.alerts,
            self.dispatch_tick(),
            experiments=report.experiments,
        )

    # -- in the background ---------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._pid == os.getpid() and any(t.is_alive() for t in self._threads)

    def start(self) -> Controller:
        """Run the reconcile and dispatch loops on daemon threads (idempotent)."""
        if self._closed:
            raise RuntimeError("the controller is closed")
        if self.running:
            return self
        if self._pid != os.getpid():  # a fork child: the parent's threads do not exist here
            self._pid = os.getpid()
            self._round, self._dispatching = threading.Lock(), threading.Lock()
            self._leading = False
        self._stopping = threading.Event()
        self._threads = [
            threading.Thread(
                target=self._loop,
                args=("leader", self.settings.renew_seconds, self.check_leader),
                name="rollwise-leader",
                daemon=True,
            ),
            threading.Thread(
                target=self._loop,
                args=("reconcile", self.settings.tick_seconds, self.reconcile_tick),
                name="rollwise-controller",
                daemon=True,
            ),
            threading.Thread(
                target=self._loop,
                args=("dispatch", self.settings.dispatch_seconds, self.dispatch_tick),
                name="rollwise-dispatcher",
                daemon=True,
            ),
        ]
        for thread in self._threads:
            thread.start()
        self._logger.info(
            "rollwise: controller started (tick %gs, %s)",
            self.settings.tick_seconds,
            self.elector.describe(),
        )
        return self

    def run(self, stop: threading.Event) -> None:
        """Run in the foreground until ``stop`` is set (``rollwise controller``), then close."""
        self.start()
        try:
            while not stop.wait(0.5):
                if not self.running:
                    raise RuntimeError("the controller's loops stopped unexpectedly")
        finally:
            self.close()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the loops after their current round, and give up leadership."""
        self._stopping.set()
        if self._pid == os.getpid():
            deadline = time.monotonic() + timeout
            for thread in self._threads:
                if thread is not threading.current_thread():
                    thread.join(max(0.0, deadline - time.monotonic()))
            stuck = [t.name for t in self._threads if t.is_alive()]
            if stuck:
                self._logger.warning("rollwise: %s still busy after %gs", stuck, timeout)
        self._threads = []
        self.elector.release()
        self._leading = False

    def close(self, timeout: float = 30.0) -> None:
        """Stop, and close what the controller built (notifiers, its own provider)."""
        if self._closed:
            return
        self.stop(timeout)
        self._closed = True
        self.dispatcher.close()
        self.reconciler.close()
        if self._owns_provider:
            self.provider.close()

    def __enter__(self) -> Controller:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _loop(self, name: str, interval: float, work: Callable[[], object]) -> None:
        stopping = self._stopping
        failing = False
        while not stopping.is_set():
            started = time.monotonic()
            try:
                work()
                failing = False
            except Exception as error:  # the boundary of a tick: the loop outlives one bad round
                self._logger.warning(
                    "rollwise: controller %s round failed; retrying: %s",
                    name,
                    error,
                    exc_info=not failing,  # the traceback once, not every tick of an outage
                )
                failing = True
            stopping.wait(max(0.0, interval - (time.monotonic() - started)))
