from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from ..server._support import app_for


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    """The control plane on SQLite and on PostgreSQL, lifespan run (migrated, admin made)."""
    with TestClient(app_for(database_url)) as test_client:
        yield test_client
