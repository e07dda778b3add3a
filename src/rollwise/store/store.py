"""The store: an engine, its migrations, and transactions that audit every change.

SQLite (the embedded default) serialises writers with ``BEGIN IMMEDIATE`` so that a
read-then-write never fails half-way; PostgreSQL runs READ COMMITTED and every update is
guarded by its version column, so two writers never both win.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import SQLAlchemyError

from .audit import AuditOperations
from .config import ConfigOperations
from .flags import FlagOperations
from .records import StoreStatus
from .tokens import TokenOperations

__all__ = ["Store", "Tx", "default_database_url"]

MIGRATIONS = Path(__file__).parent / "migrations"


def default_database_url() -> str:
    return os.environ.get("ROLLWISE_DATABASE_URL", "sqlite:///./rollwise.db")


class Tx(ConfigOperations, FlagOperations, TokenOperations, AuditOperations):
    """Everything one transaction can do; each mutation writes its audit row here too."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Store:
    def __init__(self, url: str, *, clock: Callable[[], datetime] | None = None) -> None:
        self.url = url
        self._clock = clock or _utcnow
        self.engine = _engine(url)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def upgrade(self) -> None:
        """Apply every migration not yet applied (idempotent; run at ``serve`` start)."""
        with self.engine.begin() as connection:
            config = _alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def status(self) -> StoreStatus:
        head = ScriptDirectory.from_config(_alembic_config()).get_current_head() or ""
        try:
            with self.engine.connect() as connection:
                current = MigrationContext.configure(connection).get_current_revision()
        except SQLAlchemyError:
            return StoreStatus(
                reachable=False, current_revision=None, head_revision=head, is_current=False
            )
        return StoreStatus(
            reachable=True, current_revision=current, head_revision=head, is_current=current == head
        )

    @contextmanager
    def transaction(self, actor: str) -> Iterator[Tx]:
        """One database transaction: committed when the block ends, rolled back on error."""
        with self.engine.begin() as connection:
            yield Tx(connection, actor, self._clock)

    def close(self) -> None:
        self.engine.dispose()


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # let "begin" below issue BEGIN
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(connection: Any) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True)
