"""No part of a token's secret is readable: not in token records, the audit log or any API
answer — also for tokens and audit rows written before, which migration 0008 scrubs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import insert, select

from rollwise.store import Store
from rollwise.store.store import _alembic_config
from rollwise.store.tables import audit_log, tokens

from .._db import fresh_postgres_database
from ._support import ADMIN, bearer, make_token


def test_a_read_token_sees_no_part_of_any_secret(client: TestClient) -> None:
    secret = make_token(client, "write")
    reader = bearer(make_token(client, "read"))
    seen = json.dumps(client.get("/api/v1/audit?limit=1000", headers=reader).json())
    seen += json.dumps(client.get("/api/v1/tokens", headers=bearer(ADMIN)).json())
    for known in (ADMIN, secret):
        assert known[:8] not in seen
        assert known[-8:] not in seen
    assert '"prefix"' not in seen


@pytest.fixture(params=["sqlite", "postgresql"])
def unmigrated_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
    else:
        with fresh_postgres_database() as url:
            yield url


def test_migration_0008_forgets_stored_prefixes(unmigrated_url: str) -> None:
    store = Store(unmigrated_url)
    try:
        config = _alembic_config()
        with store.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0007")
        now = datetime.now(UTC)
        with store.engine.begin() as connection:
            connection.execute(
                insert(tokens).values(
                    id="t1",
                    name="old",
                    scope="admin",
                    environment=None,
                    secret_hash="0" * 64,
                    prefix="custom-a",
                    revoked=False,
                    created_at=now,
                    last_used_at=None,
                )
            )
            row = {"id": "t1", "name": "old", "prefix": "custom-a", "scope": "admin"}
            for action, before in (("token.create", None), ("token.revoke", row)):
                connection.execute(
                    insert(audit_log).values(
                        at=now,
                        actor="system",
                        action=action,
                        target_type="token",
                        target="t1",
                        environment=None,
                        before=before,
                        after=row,
                    )
                )
        store.upgrade()
        with store.engine.connect() as connection:
            assert connection.execute(select(tokens.c.prefix)).scalars().all() == [""]
            rows = connection.execute(select(audit_log.c.before, audit_log.c.after)).all()
        assert "custom-a" not in str(rows)
        assert rows[0].before is None
        assert rows[1].after == {"id": "t1", "name": "old", "scope": "admin"}
    finally:
        store.close()
