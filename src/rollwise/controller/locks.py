"""Liveness locks: held by a process, released at once by its death.

The lease (``leader.py``) uses one as the hint that its holder is gone; alone, neither
fences anything, and a frozen process holds it as long as it lives.

- :class:`PostgresAdvisoryLock`: a session advisory lock on a connection of its own with
  TCP keepalives and ``tcp_user_timeout`` (:func:`keepalive_args`); released when the
  session ends.
- :class:`FileLock`: an exclusive ``flock`` next to a SQLite database; released when the
  process exits.

Both are fork-aware: a child never uses (or closes) the parent's connection or descriptor.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from .settings import DEFAULT_LOCK_KEY

__all__ = ["FileLock", "PostgresAdvisoryLock", "keepalive_args"]

_logger = logging.getLogger("rollwise.controller")


def _split(key: int) -> tuple[int, int]:
    """A bigint lock key as pg_locks shows it: (classid, objid), each an unsigned half."""
    unsigned = key & 0xFFFF_FFFF_FFFF_FFFF
    return unsigned >> 32, unsigned & 0xFFFF_FFFF


class PostgresAdvisoryLock:
    """A session advisory lock on a connection of its own (see the module docs)."""

    def __init__(
        self,
        engine: Engine,
        key: int = DEFAULT_LOCK_KEY,
        *,
        statement_timeout: float = 10.0,
        announce: int = logging.INFO,
    ) -> None:
        self.announce = announce
        """The level of "this process leads" (DEBUG when it is a lease's liveness lock)."""
        self.engine = engine
        self.key = key
        self.statement_timeout = statement_timeout
        self._mutex = threading.Lock()
        self._connection: Connection | None = None
        self._pid = os.getpid()
        self._abandoned: list[Connection] = []  # a fork child's inherited sessions: never closed
        self._backend_pid: int | None = None
        self._engine: Engine | None = None

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
        _logger.log(
            self.announce, "rollwise: this process leads the controller (%s)", self.describe()
        )
        return True

    def _connect(self) -> Connection:
        connection = self._keepalive_engine().connect()
        connection.execution_options(isolation_level="AUTOCOMMIT")
        connection.detach()  # out of the pool: closing it ends the session and the lock
        milliseconds = max(1, int(self.statement_timeout * 1000))
        connection.execute(text(f"SET statement_timeout = {milliseconds}"))
        connection.execute(text("SET application_name = 'rollwise-controller-lock'"))
        return connection

    def _keepalive_engine(self) -> Engine:
        """An engine like the store's whose connections notice a dead peer within about
        ``statement_timeout`` (the server's default keepalive waits two hours)."""
        if self._engine is None:
            self._engine = create_engine(
                self.engine.url,
                poolclass=NullPool,
                connect_args=keepalive_args(self.statement_timeout),
            )
        return self._engine

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

    def __init__(self, path: str | os.PathLike[str], *, announce: int = logging.INFO) -> None:
        self.announce = announce
        """The level of "this process leads" (DEBUG when it is a lease's liveness lock)."""
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
            _logger.log(
                self.announce, "rollwise: this process leads the controller (%s)", self.describe()
            )
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


def keepalive_args(seconds: float) -> dict[str, Any]:
    """libpq options that make a connection to a silent peer fail within about ``seconds``:
    TCP keepalives and ``tcp_user_timeout`` (unsent data), a bounded connect."""
    whole = max(1, int(seconds))
    return {
        "keepalives": 1,
        "keepalives_idle": max(1, whole // 3),
        "keepalives_interval": 1,
        "keepalives_count": 3,
        "tcp_user_timeout": whole * 1000,
        "connect_timeout": max(2, whole),
    }
