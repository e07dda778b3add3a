"""Settings on SQLite and PostgreSQL: versioned JSON values, an audit row per change, checked
writes; and migration 0013 carrying the settings that used to be audit rows into the table."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import insert

from rollwise.errors import ConflictError
from rollwise.store import Store
from rollwise.store.store import _alembic_config
from rollwise.store.tables import audit_log

from .._db import fresh_postgres_database

RULES = [{"ref": "main", "environment": "staging"}]


def test_a_change_is_a_new_version_and_an_audit_row(store: Store) -> None:
    with store.transaction("alice") as tx:
        assert tx.settings.get("deploy") is None
        created = tx.settings.put("deploy", RULES)
    with store.transaction("bob") as tx:
        same = tx.settings.put("deploy", RULES)  # unchanged: nothing written
        changed = tx.settings.put("deploy", [*RULES, {"ref": "v*", "environment": "prod"}])
    assert (created.key, created.value, created.version) == ("deploy", RULES, 1)
    assert same == created
    assert changed.version == 2
    with store.reading() as tx:
        assert tx.settings.get("deploy") == changed
        assert [s.key for s in tx.settings.list_settings()] == ["deploy"]
        audit = tx.audit.list_audit(target_type="setting")
    by_action = {a.action: a for a in audit}
    assert set(by_action) == {"setting.create", "setting.update"}
    assert by_action["setting.create"].actor == "alice"
    assert by_action["setting.create"].after == {"value": RULES, "version": 1}
    update = by_action["setting.update"]
    assert (update.actor, update.target, update.before) == (
        "bob",
        "deploy",
        {"value": RULES, "version": 1},
    )
    assert update.after is not None
    assert update.after["version"] == 2


def test_a_checked_write_on_a_stale_version_is_a_conflict(store: Store) -> None:
    with store.transaction("alice") as tx:
        tx.settings.put("defaults", {"production": {}}, expected_version=0)
    with pytest.raises(ConflictError) as raised, store.transaction("bob") as tx:
        tx.settings.put("defaults", {}, expected_version=0)
    assert raised.value.details["current_version"] == 1
    with store.transaction("bob") as tx:
        assert tx.settings.put("defaults", {}, expected_version=1).version == 2


@contextmanager
def _databases(tmp_path: Path) -> Iterator[list[str]]:
    with fresh_postgres_database() as url:
        yield [f"sqlite:///{tmp_path / 'old.db'}", url]


@pytest.mark.slow
def test_migration_0013_keeps_the_settings_the_audit_log_held(tmp_path: Path) -> None:
    old: dict[str, Any] = {
        "defaults": {"production": {"rollout": {"min_samples": 500}}},
        "deploy": RULES,
    }
    empty: dict[str, Any] = {"defaults": {}, "deploy": []}
    with _databases(tmp_path) as urls:
        for url in urls:
            store = Store(url)
            try:
                with store.engine.begin() as connection:
                    config = _alembic_config()
                    config.attributes["connection"] = connection
                    command.upgrade(config, "0012")
                with store.engine.begin() as connection:
                    for after in (empty, old):  # the newest is current
                        connection.execute(
                            insert(audit_log).values(
                                at=store.now(),
                                actor="alice",
                                action="state.settings",
                                target_type="state",
                                target="settings",
                                after=after,
                            )
                        )
                store.upgrade()
                with store.reading() as tx:
                    settings = {s.key: (s.value, s.version) for s in tx.settings.list_settings()}
            finally:
                store.close()
            assert settings == {"defaults": (old["defaults"], 1), "deploy": (RULES, 1)}, url
