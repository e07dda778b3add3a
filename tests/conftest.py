"""Fixtures shared by every test that touches storage: each runs on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rollwise.store import Store

from ._db import empty_tables, fresh_postgres_database


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """One migrated PostgreSQL database for the whole run (tables emptied per test)."""
    with fresh_postgres_database() as url:
        store = Store(url)
        store.upgrade()
        store.close()
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database: a SQLite file, or the session's PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'rollwise.db'}"
        store = Store(url)
        store.upgrade()
        store.close()
        yield url
    else:
        url = request.getfixturevalue("postgres_url")
        store = Store(url)
        empty_tables(store)
        store.close()
        yield url


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    opened = Store(database_url)
    try:
        yield opened
    finally:
        opened.close()
