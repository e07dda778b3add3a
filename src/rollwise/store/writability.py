"""Can the store write right now? The cheap check behind ``/readyz``.

A store that can read but not write looks healthy to a ``SELECT 1`` and fails every
change. So:

- **SQLite** (a file): the filesystem holding the database must be mounted read-write,
  the database file and its directory writable (SQLite creates its ``-wal`` and ``-shm``
  files there), and at least ``min_free_bytes`` free on that disk — SQLite fails a
  commit with "database or disk is full" long before the disk shows 0 bytes free to
  root. In-memory SQLite is always writable.
- **PostgreSQL**: one tiny insert in a transaction that is rolled back (nothing is kept),
  under short timeouts: a read-only server (a standby, ``default_transaction_read_only``)
  refuses it.

The filesystem calls are parameters so that tests inject a full disk or a read-only
mount, which a test cannot make for real without privileges.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.exc import SQLAlchemyError

from .store import Store
from .tables import controller_lease

__all__ = ["MIN_FREE_BYTES", "WriteCheck", "check_writable", "sqlite_path"]

MIN_FREE_BYTES = 64 * 1024 * 1024
"""Below this much free space next to a SQLite database, the store is not ready."""


@dataclass(frozen=True, slots=True)
class WriteCheck:
    """Whether the store can write, and if not, why (one sentence for an operator)."""

    writable: bool
    reason: str | None = None
    free_bytes: int | None = None


def sqlite_path(store: Store) -> Path | None:
    """The database file of a SQLite store (None: in memory, or not SQLite)."""
    if store.dialect != "sqlite":
        return None
    url: Any = store.engine.url
    database = url.database
    if not database or database == ":memory:" or url.query.get("mode") == "memory":
        return None
    return Path(database.removeprefix("file:") if url.query.get("uri") else database)


def check_writable(
    store: Store,
    *,
    min_free_bytes: int = MIN_FREE_BYTES,
    disk_usage: Callable[[Path], Any] = shutil.disk_usage,
    statvfs: Callable[[Path], Any] = os.statvfs,
    writable: Callable[[Path], bool] = lambda path: os.access(path, os.W_OK),
) -> WriteCheck:
    """See the module docs; never raises."""
    if store.dialect == "sqlite":
        path = sqlite_path(store)
        if path is None:
            return WriteCheck(True)
        return _sqlite_file(path, min_free_bytes, disk_usage, statvfs, writable)
    return _rolled_back_write(store)


def _sqlite_file(
    path: Path,
    min_free_bytes: int,
    disk_usage: Callable[[Path], Any],
    statvfs: Callable[[Path], Any],
    writable: Callable[[Path], bool],
) -> WriteCheck:
    folder = path.absolute().parent
    try:
        if statvfs(folder).f_flag & os.ST_RDONLY:
            return WriteCheck(False, f"the filesystem holding {folder} is mounted read-only")
        free = int(disk_usage(folder).free)
        for target in (path, folder):
            if target.exists() and not writable(target):
                return WriteCheck(False, f"{target} is not writable", free)
    except OSError as error:
        return WriteCheck(False, f"cannot inspect {folder}: {error.strerror or error}")
    if free < min_free_bytes:
        return WriteCheck(
            False,
            f"the disk holding {folder} is full: {_mib(free)} free, at least"
            f" {_mib(min_free_bytes)} needed",
            free,
        )
    return WriteCheck(True, None, free)


def _rolled_back_write(store: Store) -> WriteCheck:
    probe = {
        "name": f"readyz-probe-{secrets.token_hex(6)}",
        "holder": "readyz",
        "epoch": 0,
        "acquired_at": 0.0,
        "renewed_at": 0.0,
        "expires_at": 0.0,
    }
    try:
        with store.engine.connect() as connection, connection.begin() as transaction:
            if store.dialect == "postgresql":
                connection.execute(text("SET LOCAL statement_timeout = 2000"))
                connection.execute(text("SET LOCAL lock_timeout = 1000"))
            connection.execute(insert(controller_lease).values(probe))
            transaction.rollback()
    except SQLAlchemyError as error:
        first = str(getattr(error, "orig", None) or error).strip().splitlines()
        return WriteCheck(False, f"the database refuses writes: {first[0] if first else error}")
    return WriteCheck(True)


def _mib(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MiB"
