"""Databases for tests: a SQLite file, or a fresh database on the machine's PostgreSQL.

PostgreSQL is not optional: when it cannot be reached, the tests that use it fail (make test
starts it first, see scripts/ensure-postgres.sh).

Migrations run once per session and database kind, never per test: a SQLite test gets a copy
of a migrated file, a PostgreSQL test gets the session's migrated database with every table
emptied by ``DELETE`` (in foreign-key order, sequences restarted). ``TRUNCATE`` would do the
same but rewrites every table's files: ten times slower on 20-odd tables, per test.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from sqlalchemy import Connection, MetaData, text
from sqlalchemy.engine import make_url

from rollwise.store import Store

POSTGRES_URL = os.environ.get(
    "ROLLWISE_TEST_POSTGRES_URL",
    "postgresql+psycopg://postgres@/rollwise_test?host=/var/run/postgresql",
)


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """Create an empty database on the test server, yield its URL, drop it afterwards."""
    name = f"rollwise_t_{secrets.token_hex(6)}"
    with psycopg.connect(_libpq(POSTGRES_URL), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(_libpq(POSTGRES_URL), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def migrated_sqlite_file(path: Path) -> Path:
    """Create a SQLite database at ``path`` with every migration applied (once a session)."""
    store = Store(f"sqlite:///{path}")
    try:
        store.upgrade()
    finally:
        store.close()
    return path


def copy_sqlite_file(source: Path, target: Path) -> None:
    """Copy a SQLite database consistently (the backup API, never a half-written file)."""
    reading, writing = sqlite3.connect(source), sqlite3.connect(target)
    try:
        reading.backup(writing)
    finally:
        writing.close()
        reading.close()


def emptying_statements(connection: Connection) -> list[str]:
    """The statements that empty every table the migrations made, whatever they are.

    The tables are read from the database itself (so a new migration's table is emptied
    without a list to keep up to date), children before parents.
    """
    reflected = MetaData()
    reflected.reflect(connection)
    tables = [t.name for t in reversed(reflected.sorted_tables) if t.name != "alembic_version"]
    statements = [f'DELETE FROM "{name}"' for name in tables]
    if connection.dialect.name == "postgresql":
        sequences = connection.execute(
            text("SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema()")
        ).scalars()
        statements += [f"SELECT setval('\"{name}\"', 1, false)" for name in sequences]
    elif "sqlite_sequence" in _sqlite_tables(connection):
        statements.append("DELETE FROM sqlite_sequence")
    return statements


def _sqlite_tables(connection: Connection) -> set[str]:
    rows = connection.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'"))
    return set(rows.scalars())


class PostgresEmptier:
    """Empties one PostgreSQL database between tests over one kept connection (fast)."""

    def __init__(self, url: str) -> None:
        store = Store(url)
        try:
            with store.engine.connect() as connection:
                self._script = "; ".join(emptying_statements(connection))
        finally:
            store.close()
        self._connection = psycopg.connect(_libpq(url), autocommit=True)

    def empty(self) -> None:
        with self._connection.transaction():
            self._connection.execute(self._script)

    def close(self) -> None:
        self._connection.close()
