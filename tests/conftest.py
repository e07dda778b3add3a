"""Fixtures shared by every test that touches storage: each runs on SQLite and PostgreSQL.

``--databases sqlite`` (what ``make check`` passes) keeps the fast tier on SQLite: the
PostgreSQL cases of ``database_url`` are deselected, and reported as such. ``make test`` (CI)
passes nothing and runs every test on both.

``--hypothesis-profile=fast`` (also ``make check``) runs every property test with at most
``FAST_MAX_EXAMPLES`` examples; ``make test`` runs each test's own count.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from rollwise.store import Store

from ._db import (
    PostgresEmptier,
    copy_sqlite_file,
    fresh_postgres_database,
    migrated_sqlite_file,
)

DATABASES = ("sqlite", "postgresql")

FAST_MAX_EXAMPLES = 50
"""The most examples a property test runs in the fast tier (``make check``)."""

settings.register_profile("fast", max_examples=FAST_MAX_EXAMPLES)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--databases",
        default=",".join(DATABASES),
        help="comma-separated databases the database_url tests run on (default: all of "
        f"{', '.join(DATABASES)}; make check: sqlite)",
    )


def _wanted_databases(config: pytest.Config) -> set[str]:
    wanted = {name.strip() for name in str(config.getoption("databases")).split(",")}
    unknown = wanted - set(DATABASES)
    if unknown or not wanted:
        raise pytest.UsageError(f"--databases: {sorted(unknown)} not among {DATABASES}")
    return wanted


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    _cap_examples(items)
    wanted = _wanted_databases(config)
    if wanted == set(DATABASES):
        return
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        database = callspec.params.get("database_url") if callspec is not None else None
        (dropped if database is not None and database not in wanted else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def _cap_examples(items: list[pytest.Item]) -> None:
    """Under the ``fast`` profile, lower an explicit ``@settings(max_examples=...)`` above
    ``FAST_MAX_EXAMPLES`` to it (a profile alone only sets the default a decorator overrides).
    The settings live in Hypothesis's own attribute: should it go, nothing is capped."""
    if settings.get_current_profile_name() != "fast":
        return
    for item in items:
        obj = getattr(item, "obj", None)
        test = getattr(obj, "__func__", obj)
        chosen = getattr(test, "_hypothesis_internal_use_settings", None)
        if (
            test is not None
            and isinstance(chosen, settings)
            and chosen.max_examples > FAST_MAX_EXAMPLES
        ):
            test._hypothesis_internal_use_settings = settings(
                chosen, max_examples=FAST_MAX_EXAMPLES
            )


def pytest_collection_finish(session: pytest.Session) -> None:
    """Move everything imported so far out of the garbage collector's sight (modules,
    classes and functions live for the whole run) and collect less often: full collections
    walked every object again and again, about a tenth of each worker's CPU. Tests that
    need garbage gone call ``gc.collect()`` themselves."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Let the frozen objects go before the interpreter ends: extension types (DataSketches)
    still alive at exit are reported as leaks on stderr."""
    gc.unfreeze()
    gc.collect()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """One migrated PostgreSQL database for the whole run (tables emptied per test)."""
    with fresh_postgres_database() as url:
        store = Store(url)
        store.upgrade()
        store.close()
        yield url


@pytest.fixture(scope="session")
def postgres_emptier(postgres_url: str) -> Iterator[PostgresEmptier]:
    """Empties the session's PostgreSQL database (call ``empty()`` before using it)."""
    emptier = PostgresEmptier(postgres_url)
    try:
        yield emptier
    finally:
        emptier.close()


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file with every migration applied, made once and copied for each test."""
    return migrated_sqlite_file(tmp_path_factory.mktemp("sqlite-template") / "rollwise.db")


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database: a SQLite file, or the session's PostgreSQL database."""
    if request.param == "sqlite":
        path = tmp_path / "rollwise.db"
        copy_sqlite_file(request.getfixturevalue("_sqlite_template"), path)
        yield f"sqlite:///{path}"
    else:
        request.getfixturevalue("postgres_emptier").empty()
        yield request.getfixturevalue("postgres_url")


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    opened = Store(database_url)
    try:
        yield opened
    finally:
        opened.close()
