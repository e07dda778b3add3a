"""A database one migration behind: the doctor says so and still runs its other checks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config

from rollwise.application.doctor import run_doctor
from rollwise.store import Store
from rollwise.store.store import MIGRATIONS

from .._db import fresh_postgres_database


@pytest.fixture(params=["sqlite", "postgresql"])
def one_behind(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A database migrated to the migration before the head, with an environment."""
    if request.param == "sqlite":
        yield from _one_behind(f"sqlite:///{tmp_path / 'old.db'}")
    else:
        with fresh_postgres_database() as url:
            yield from _one_behind(url)


def _one_behind(url: str) -> Iterator[Store]:
    store = Store(url)
    try:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with store.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
            command.downgrade(config, "-1")
        with store.engine.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO environments (key, name, description, version, config_revision,"
                " created_at, updated_at, production) VALUES ('production', '', '', 1, 0,"
                " '2026-01-01 00:00:00', '2026-01-01 00:00:00', false)"
            )
        yield store
    finally:
        store.close()


def test_a_database_one_migration_behind_is_found(one_behind: Store) -> None:
    status = one_behind.status()
    assert not status.is_current
    report = run_doctor(one_behind, "production")
    assert report.status == "problems"
    [behind] = [f for f in report.findings if f.code == "database.migrations_behind"]
    assert behind.details == {"current": status.current_revision, "head": status.head_revision}
    assert f"at migration {status.current_revision}" in behind.message
    assert "rollwise db upgrade" in behind.fix
    # checks that need the newer tables (0009's sdk_instances, say) could not run: they are
    # findings that name the check, never an exception
    for finding in report.findings:
        if finding.code == "doctor.check_failed":
            assert finding.details["check"] in report.checks
    one_behind.upgrade()
    assert run_doctor(one_behind, "production").findings == []
