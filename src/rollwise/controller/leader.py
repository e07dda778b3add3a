"""Leader election: of all controllers on one database, exactly one decides.

Every tick a controller calls :meth:`LeaderElector.check`, which takes the lock when it is
free and verifies it is still held otherwise; only while it returns True does the
controller judge rollouts, evaluate alerts and deliver notifications.

- **PostgreSQL** (:class:`PostgresAdvisoryLock`): a session advisory lock
  (``pg_try_advisory_lock``) on a dedicated connection, outside the store's pool. The
  lock lives exactly as long as that session: when the process dies, the network drops or
  someone runs ``pg_terminate_backend``, PostgreSQL releases it and another replica takes
  it at its next tick; the old leader notices at its own next check (the connection is
  gone or no longer holds the lock) and stops deciding.
- **SQLite** (:class:`FileLock`): an exclusive ``flock`` on ``<database>.controller.lock``
  next to the database file, so two processes on the same file never both lead; the
  operating system releases it when the process exits, however it exits.
- **In-memory SQLite** and tests: :class:`AlwaysLeader`.

Leadership is an optimisation, not the safety net: every transition is version-checked
in its own transaction, so even two controllers that both believe they lead (for the
moment between a lost session and the next check) never apply a transition twice.

Electors are fork-aware: a child process never uses (or closes) the parent's lock
connection or descriptor, and starts as a follower.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

from ..errors import ConfigError
from ..store import Store
from .settings import DEFAULT_LOCK_KEY

__all__ = ["AlwaysLeader", "FileLock", "LeaderElector", "PostgresAdvisoryLock", "elector_for"]

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


def _split(key: int) -> tuple[int, int]:
    """A bigint lock key as pg_locks shows it: (classid, objid), each an unsigned half."""
    unsigned = key & 0xFFFF_FFFF_FFFF_FFFF
    return unsigned >> 32, unsigned & 0xFFFF_FFFF


class PostgresAdvisoryLock:
    """A session advisory lock on a connection of its own (see the module docs)."""

    def __init__(
        self, engine: Engine, key: int = DEFAULT_LOCK_KEY, *, statement_timeout: float = 10.0
    ) -> None:
        self.engine = engine
        self.key = key
        self.statement_timeout = statement_timeout
        self._mutex = threading.Lock()
        self._connection: Connection | None = None
        self._pid = os.getpid()
        self._abandoned: list[Connection] = []  # a fork child's inherited sessions: never closed
        self._backend_pid: int | None = None

    @property
    def backend_pid(self) -> int | None:
        """The PostgreSQL backend holding the lock, while this process leads."""
        return self._backend_pid if self._connection is not None else None

    def describe(self) -> str:
        return f"PostgreSQL advisory lock {self.key}"

    def check(self) -> bool:
        self._forget_if_forked()
        with self._mutex:
            if self._connection is not None:
                if self._still_held(self._connection):
                    return True
                _logger.warning("rollwise: lost the controller lock (%s)", self.describe())
                self._drop()
            return self._acquire()

    def release(self) -> None:
        self._forget_if_forked()
        with self._mutex:
            connection = self._connection
            if connection is None:
                return
            with contextlib.suppress(SQLAlchemyError):  # a lost session has lost the lock too
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
            self._drop()

    def _forget_if_forked(self) -> None:
        """In a fork child (one thread so far): a fresh mutex, and no inherited session."""
        if self._pid != os.getpid():
            self._mutex = threading.Lock()
            if self._connection is not None:
                # Closing would end the parent's session (and its lock): keep it unused.
                self._abandoned.append(self._connection)
            self._connection = None
            self._pid = os.getpid()

    def _acquire(self) -> bool:
        try:
            connection = self._connect()
        except SQLAlchemyError as error:
            _logger.warning("rollwise: cannot reach PostgreSQL for the controller lock: %s", error)
            return False
        try:
            taken = connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}
            ).scalar()
            pid = connection.execute(text("SELECT pg_backend_pid()")).scalar()
        except SQLAlchemyError as error:
            _logger.warning("rollwise: could not try the controller lock: %s", error)
            _close(connection)
            return False
        if not taken:
            _close(connection)
            return False
        self._connection = connection
        self._backend_pid = int(pid) if pid is not None else None
        _logger.info("rollwise: this process leads the controller (%s)", self.describe())
        return True

    def _connect(self) -> Connection:
        connection = self.engine.connect()
        connection.execution_options(isolation_level="AUTOCOMMIT")
        connection.detach()  # out of the pool: closing it ends the session and the lock
        milliseconds = max(1, int(self.statement_timeout * 1000))
        connection.execute(text(f"SET statement_timeout = {milliseconds}"))
        connection.execute(text("SET application_name = 'rollwise-controller-lock'"))
        return connection

    def _still_held(self, connection: Connection) -> bool:
        classid, objid = _split(self.key)
        try:
            held = connection.execute(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                    " AND pid = pg_backend_pid() AND classid = :classid AND objid = :objid"
                    " AND objsubid = 1"
                ),
                {"classid": classid, "objid": objid},
            ).scalar()
        except SQLAlchemyError:
            return False
        return bool(held)

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        self._backend_pid = None
        if connection is not None:
            _close(connection)


def _close(connection: Connection) -> None:
    with contextlib.suppress(SQLAlchemyError):
        connection.close()


class FileLock:
    """An exclusive ``flock`` on a file next to a SQLite database (see the module docs)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._mutex = threading.Lock()
        self._fd: int | None = None
        self._pid = os.getpid()

    def describe(self) -> str:
        return f"file lock {self.path}"

    def check(self) -> bool:
        import fcntl

        self._forget_if_forked()
        with self._mutex:
            if self._fd is not None:
                if self._same_file(self._fd):
                    return True
                _logger.warning("rollwise: the controller lock file %s was replaced", self.path)
                self._drop()
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as error:
                _logger.warning(
                    "rollwise: cannot open the controller lock %s: %s", self.path, error
                )
                return False
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                return False
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            self._fd = fd
            _logger.info("rollwise: this process leads the controller (%s)", self.describe())
            return True

    def release(self) -> None:
        self._forget_if_forked()
        with self._mutex:
            self._drop()

    def _forget_if_forked(self) -> None:
        """In a fork child (one thread so far): a fresh mutex, and no inherited lock."""
        if self._pid != os.getpid():
            self._mutex = threading.Lock()
            # The child shares the parent's lock through this descriptor: closing the child's
            # copy leaves the parent's lock in place, and the child starts as a follower.
            if self._fd is not None:
                os.close(self._fd)
            self._fd = None
            self._pid = os.getpid()

    def _same_file(self, fd: int) -> bool:
        try:
            on_disk, held = os.stat(self.path), os.fstat(fd)
        except OSError:
            return False
        return (on_disk.st_dev, on_disk.st_ino) == (held.st_dev, held.st_ino)

    def _drop(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the last descriptor releases the flock


def elector_for(store: Store, key: int = DEFAULT_LOCK_KEY) -> LeaderElector:
    """The elector that fits the store's database (see the module docs)."""
    url: Any = store.engine.url
    dialect = store.dialect
    if dialect == "postgresql":
        return PostgresAdvisoryLock(store.engine, key)
    if dialect == "sqlite":
        database = url.database
        if not database or database == ":memory:" or url.query.get("mode") == "memory":
            return AlwaysLeader()
        path = database.removeprefix("file:") if url.query.get("uri") else database
        return FileLock(f"{path}.controller.lock")
    raise ConfigError.single(
        None, "database_url", f"the controller supports SQLite and PostgreSQL, not {dialect}"
    )
