"""The environment's explicit ``production`` attribute: stored, audited, sent to SDKs, migrated.

On SQLite and PostgreSQL. Production is what the attribute says, never the key: ``prd`` is
production only when marked so, and an environment created without it is not production.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text

from rollwise.store import Store
from rollwise.store.store import _alembic_config

from .._db import fresh_postgres_database


def test_created_without_the_attribute_an_environment_is_not_production(store: Store) -> None:
    with store.transaction("alice") as tx:
        assert tx.environments.create("production").production is False
        assert tx.environments.create("prd", production=True).production is True
        assert [(e.key, e.production) for e in tx.environments.list_environments()] == [
            ("prd", True),
            ("production", False),
        ]


def test_the_sdk_document_carries_the_attribute(store: Store) -> None:
    with store.transaction("alice") as tx:
        tx.environments.create("live", production=True)
        tx.environments.create("staging")
    with store.transaction("sdk") as tx:
        live = tx.config.document("live")
        staging = tx.config.document("staging")
    assert live.is_production("live")
    assert live.model_dump(mode="json")["environments"] == {"live": {"production": True}}
    assert not staging.is_production("staging")


def test_changing_the_attribute_is_a_new_config_revision_and_audited(store: Store) -> None:
    with store.transaction("alice") as tx:
        tx.environments.create("eu-production")
        first = tx.environments.config_revision("eu-production")
    with store.transaction("alice") as tx:
        renamed = tx.environments.update("eu-production", 1, name="EU")
        assert (
            tx.environments.config_revision("eu-production") == first
        )  # a name is not in the document
        marked = tx.environments.update("eu-production", renamed.version, production=True)
        assert marked.production is True
        assert tx.environments.config_revision("eu-production") == first + 1
        assert tx.config.document("eu-production").is_production("eu-production")
        entries = tx.audit.list_audit(limit=10)
    update = next(e for e in entries if e.action == "environment.update" and e.after)
    assert update.after is not None
    assert update.after["production"] is True


@contextmanager
def _database(kind: str, tmp_path: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrate.db'}"
    else:
        with fresh_postgres_database() as url:
            yield url


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_the_migration_marks_only_the_names_production_used_to_mean(
    kind: str, tmp_path: Path
) -> None:
    with _database(kind, tmp_path) as url:
        store = Store(url)
        try:
            config = _alembic_config()
            with store.engine.begin() as connection:
                config.attributes["connection"] = connection
                command.upgrade(config, "0003")
                for key in ("production", "Prod-EU", "prd", "live", "staging", "products"):
                    connection.execute(
                        text(
                            "INSERT INTO environments (key, name, description, version, "
                            "config_revision, created_at, updated_at) VALUES "
                            "(:key, :key, '', 1, 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                        ),
                        {"key": key},
                    )
                command.upgrade(config, "0004")
            with store.transaction("test") as tx:
                marked = {e.key: e.production for e in tx.environments.list_environments()}
            assert marked == {
                "production": True,
                "Prod-EU": True,
                "prd": False,
                "live": False,
                "staging": False,
                "products": False,
            }
            with store.engine.begin() as connection:
                config.attributes["connection"] = connection
                command.downgrade(config, "0003")
                columns = connection.execute(text("SELECT * FROM environments")).keys()
                assert "production" not in columns
        finally:
            store.close()
