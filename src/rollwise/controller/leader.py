"""Leader election: of all controllers on one database, exactly one decides.

Every tick a controller calls :meth:`LeaderElector.check`, which takes leadership when it
is free and verifies it is still held otherwise; only while it returns True does the
controller judge rollouts, evaluate alerts and deliver notifications.

- **The lease** (:class:`LeaseElector`, the default on PostgreSQL and on a SQLite file): a
  row in ``controller_lease`` that the leader renews every ``renew_seconds``; a leader that
  stops renewing (it died, froze, or lost its network) loses it ``lease_seconds`` later, on
  the database's clock, and a follower takes it with the next epoch. The leader also
  holds a *liveness lock* (the advisory lock or the file lock below) that its death
  releases at once: a follower that can take it knows the leader is gone and takes the
  lease without waiting for it to expire. The leader stops
  deciding on its own once it has not renewed for ``lease_seconds`` (its monotonic clock),
  and every transaction of the controller is **fenced**: :meth:`LeaseElector.fence` checks
  inside it that this process still holds the lease at its epoch, so a deposed leader that
  wakes up writes nothing (``rollwise.store.leases`` says why no write of an old epoch can
  commit after the new one began).
- **The liveness locks** (``locks.py``): the PostgreSQL advisory lock and, next to a
  SQLite database, a file lock; released at once when their holder dies, but held by a
  frozen one, and alone they fence nothing.
- **In-memory SQLite** and tests: :class:`AlwaysLeader`.

Electors are fork-aware: a child process never uses (or closes) the parent's lock
connection, descriptor or lease, and starts as a follower.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.exc import SQLAlchemyError

from ..errors import ConfigError
from ..store import Store
from ..store.leases import Lease, LeaseLost, check_fence, claim, read_lease
from ..store.leases import release as release_lease
from .locks import FileLock, PostgresAdvisoryLock, keepalive_args
from .settings import DEFAULT_LOCK_KEY, ControllerSettings

__all__ = [
    "AlwaysLeader",
    "LeaderElector",
    "LeaseElector",
    "LeaseLost",
    "elector_for",
]

_logger = logging.getLogger("rollwise.controller")


class LeaderElector(Protocol):
    """Decides whether this process leads. Implementations must be thread-safe."""

    def check(self) -> bool:
        """Take the lock if it is free, or verify it is still held: True while leading."""
        ...

    def release(self) -> None:
        """Give the lock up (another process may lead from its next check)."""
        ...

    def describe(self) -> str:
        """What is locked, for logs."""
        ...


class AlwaysLeader:
    """The only controller there is: in-memory SQLite, tests, or a single process by design."""

    def check(self) -> bool:
        return True

    def release(self) -> None:
        pass

    def describe(self) -> str:
        return "no lock (always leader)"


def _default_replica() -> str:
    """``<hostname>:<pid>:<random>``: two controllers of one process are two replicas."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(2)}"


class LeaseElector:
    """Leadership as a renewed lease with an epoch that fences writes (see the module docs).

    ``liveness`` is a lock its holder's death releases at once (:func:`elector_for`: the
    advisory lock, the file lock): the leader holds it too, and a follower that can take
    it while the lease names a hinted holder takes the lease without waiting for expiry.
    ``clock`` replaces the database's clock (seconds since the epoch) and ``monotonic``
    the local one: tests drive expiry with them. Without ``replica``, the process is
    ``<hostname>:<pid>:<random>`` (a fork child gets its own).
    """

    def __init__(
        self,
        store: Store,
        *,
        replica: str | None = None,
        name: str = "controller",
        lease_seconds: float = 10.0,
        renew_seconds: float = 2.0,
        clock: Callable[[], float] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        liveness: LeaderElector | None = None,
    ) -> None:
        if not 0 < renew_seconds < lease_seconds:
            raise ValueError("renew_seconds must be positive and below lease_seconds")
        self.store = store
        self.name = name
        self.lease_seconds = lease_seconds
        self.renew_seconds = renew_seconds
        self._named = replica
        self.replica = replica or _default_replica()
        self._clock = clock
        self._monotonic = monotonic
        self._mutex = threading.Lock()
        self._pid = os.getpid()
        self._engine: Engine | None = None
        self._epoch: int | None = None
        self._valid_until = 0.0
        self._next_renewal = 0.0
        self._failing = False
        self._seen: Lease | None = None
        self.liveness = liveness
        self._alive_lock = False  # whether this process holds the liveness lock

    def describe(self) -> str:
        return f"lease {self.name!r} as {self.replica}"

    @property
    def epoch(self) -> int | None:
        """The epoch this process leads under, while it leads."""
        return self._epoch if self.leading else None

    @property
    def leading(self) -> bool:
        """Whether the lease was renewed less than ``lease_seconds`` ago (no I/O)."""
        return self._epoch is not None and self._monotonic() < self._valid_until

    @property
    def last_seen(self) -> Lease | None:
        """The lease as this process last read it (whoever held it)."""
        return self._seen

    def check(self) -> bool:
        self._forget_if_forked()
        due = not self.leading or self._monotonic() >= self._next_renewal
        # never wait for a renewal in progress (it may hang on a dead network): its outcome
        # shows in ``leading`` by time alone
        if due and self._mutex.acquire(blocking=False):
            try:
                self._renew()
            finally:
                self._mutex.release()
        return self.leading

    def fence(self, connection: Connection) -> None:
        """Inside a controller transaction: raise :class:`LeaseLost` unless this process
        still holds the lease at its epoch (on the database, right now)."""
        self._forget_if_forked()
        epoch = self._epoch
        if epoch is None or not self.leading:
            raise LeaseLost(f"controller {self.replica} does not hold the lease")
        try:
            check_fence(
                connection,
                self.name,
                self.replica,
                epoch,
                now=self._now(),
                idle_timeout=self.lease_seconds,
            )
        except LeaseLost as error:
            if self._epoch == epoch:
                self._epoch = None
                _logger.warning("rollwise: lost the controller lease: %s", error.message)
            raise

    def release(self) -> None:
        self._forget_if_forked()
        epoch, self._epoch = self._epoch, None
        # a renewal hung on a dead network must not hold up shutting down: the lease then
        # simply expires
        if epoch is None or not self._mutex.acquire(timeout=self.lease_seconds):
            return
        try:
            with contextlib.suppress(SQLAlchemyError), self._lease_engine().begin() as connection:
                release_lease(connection, self.name, self.replica, epoch, now=self._now())
            self._let_go_of_liveness()
        finally:
            self._mutex.release()

    def read(self) -> Lease | None:
        """The lease as the database has it now (for status pages)."""
        with self._lease_engine().connect() as connection:
            connection.execution_options(rollwise_read_only=True)  # SQLite: no write lock
            return read_lease(connection, self.name, now=self._now())

    def _renew(self) -> None:
        started = self._monotonic()
        self._next_renewal = started + self.renew_seconds
        lease = self._claim(force=False)
        if lease is None:
            return
        if lease.holder == self.replica and lease.valid:
            self._lead(lease, started)
            if self._alive_lock and not lease.hinted:
                self._claim(force=False)  # record it now: a crash from here on fails over fast
            return
        if self._epoch is not None:
            _logger.warning(
                "rollwise: lost the controller lease to %s (epoch %d)", lease.holder, lease.epoch
            )
            self._epoch = None
            self._let_go_of_liveness()
            return
        if lease.valid and lease.hinted and self._take_liveness():
            # the leader's liveness lock is free: its process or session is gone
            taken = self._claim(force=True)
            if taken is not None and taken.holder == self.replica and taken.valid:
                _logger.info(
                    "rollwise: the controller leader %s is gone (its liveness lock is free)",
                    lease.holder,
                )
                self._lead(taken, started)
                return
            self._let_go_of_liveness()

    def _claim(self, *, force: bool) -> Lease | None:
        try:
            with self._lease_engine().begin() as connection:
                lease = claim(
                    connection,
                    self.name,
                    self.replica,
                    self._epoch if self.leading else None,
                    self.lease_seconds,
                    now=self._now(),
                    lock_timeout=min(self.renew_seconds, 2.0),
                    hinted=self._alive_lock,
                    force=force,
                )
        except SQLAlchemyError as error:
            if not self._failing:
                _logger.warning("rollwise: could not renew or take the controller lease: %s", error)
            self._failing = True
            return None
        self._failing = False
        self._seen = lease
        return lease

    def _lead(self, lease: Lease, started: float) -> None:
        if lease.epoch != self._epoch:
            _logger.info(
                "rollwise: this process leads the controller (%s, epoch %d)",
                self.describe(),
                lease.epoch,
            )
        self._epoch = lease.epoch
        self._valid_until = started + self.lease_seconds
        self._take_liveness()  # take or verify it: recorded as ``hinted`` at the next renewal

    def _take_liveness(self) -> bool:
        """Take (or verify) the liveness lock; never raises."""
        if self.liveness is None:
            return False
        try:
            self._alive_lock = self.liveness.check()
        except (SQLAlchemyError, OSError):  # a hint only: the lease decides (logged, ignored)
            _logger.warning("rollwise: the controller's liveness lock failed", exc_info=True)
            self._alive_lock = False
        return self._alive_lock

    def _let_go_of_liveness(self) -> None:
        if self.liveness is not None and self._alive_lock:
            with contextlib.suppress(SQLAlchemyError, OSError):  # the lock's own failures
                self.liveness.release()
        self._alive_lock = False

    def _now(self) -> float | None:
        return self._clock() if self._clock is not None else None

    def _lease_engine(self) -> Engine:
        """PostgreSQL: an engine of its own whose connections give up on a silent network
        (keepalives) instead of hanging for hours; SQLite: the store's."""
        if self.store.dialect != "postgresql":
            return self.store.engine
        if self._engine is None:
            self._engine = create_engine(
                self.store.engine.url,
                pool_size=1,
                max_overflow=2,
                pool_pre_ping=True,
                connect_args=keepalive_args(self.lease_seconds),
            )
        return self._engine

    def _forget_if_forked(self) -> None:
        """In a fork child: a fresh mutex and pool, its own name, and no lease."""
        if self._pid != os.getpid():
            self._mutex = threading.Lock()
            if self._engine is not None:
                self._engine.dispose(close=False)
                self._engine = None
            self._epoch = None
            self._alive_lock = False  # the liveness lock forgets itself the same way
            self._pid = os.getpid()
            self.replica = self._named or _default_replica()


def elector_for(
    store: Store, key: int = DEFAULT_LOCK_KEY, settings: ControllerSettings | None = None
) -> LeaderElector:
    """The elector that fits the store's database: a lease, unless the database lives in
    this process alone (in-memory SQLite)."""
    url: Any = store.engine.url
    dialect = store.dialect
    if dialect not in ("postgresql", "sqlite"):
        raise ConfigError.single(
            None, "database_url", f"the controller supports SQLite and PostgreSQL, not {dialect}"
        )
    if dialect == "sqlite":
        database = url.database
        if not database or database == ":memory:" or url.query.get("mode") == "memory":
            return AlwaysLeader()
    settings = settings or ControllerSettings(lock_key=key)
    liveness: LeaderElector
    if dialect == "postgresql":
        liveness = PostgresAdvisoryLock(
            store.engine,
            settings.lock_key,
            statement_timeout=settings.lease_seconds,
            announce=logging.DEBUG,
        )
    else:
        path = database.removeprefix("file:") if url.query.get("uri") else database
        liveness = FileLock(f"{path}.controller.lock", announce=logging.DEBUG)
    return LeaseElector(
        store,
        replica=settings.replica or None,
        lease_seconds=settings.lease_seconds,
        renew_seconds=settings.renew_seconds,
        liveness=liveness,
    )
