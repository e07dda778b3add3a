"""Creating a flag costs the same statements with 1 environment as with many.

With 2,000 environments ``POST /flags`` took 3 s: the SDK document of every environment was
rebuilt (four statements each) before the request answered. Documents are now rebuilt when
asked for, or at once only where event streams wait for them.
"""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import event

from rollwise.server import create_app

from ._support import ADMIN, bearer, settings


def _statements_of_creating(client: TestClient, key: str) -> int:
    engine = client.app.state.store.engine  # type: ignore[attr-defined]
    seen: list[str] = []

    def note(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        response = client.post("/api/v1/flags", json={"key": key}, headers=bearer(ADMIN))
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert response.status_code == 201, response.text
    return len(seen)


def _fewest_statements_of_creating(client: TestClient, prefix: str) -> int:
    """Background work (the revision poll, the retention purge) only adds statements: the
    fewest of three requests is the request's own."""
    return min(_statements_of_creating(client, f"{prefix}-{n}") for n in range(3))


def test_creating_a_flag_does_not_touch_each_environment(database_url: str) -> None:
    quiet = settings(database_url, revision_poll_seconds=3600, retention_interval_seconds=3600)
    admin = bearer(ADMIN)
    with TestClient(create_app(quiet)) as client:
        created = client.post("/api/v1/environments", json={"key": "env-0"}, headers=admin)
        assert created.is_success, created.text
        few = _fewest_statements_of_creating(client, "one-environment")
        for i in range(1, 40):
            created = client.post("/api/v1/environments", json={"key": f"env-{i}"}, headers=admin)
            assert created.is_success, created.text
        many = _fewest_statements_of_creating(client, "forty-environments")
    assert many == few


def test_documents_are_still_current_after_the_change(client: TestClient) -> None:
    admin = bearer(ADMIN)
    for key in ("a", "b"):
        assert client.post("/api/v1/environments", json={"key": key}, headers=admin).is_success
    sdk = client.post(
        "/api/v1/tokens", json={"name": "s", "scope": "sdk", "environment": "b"}, headers=admin
    ).json()["secret"]
    before = client.get("/api/v1/sdk/config", headers=bearer(sdk))
    assert before.status_code == 200, before.text
    assert _statements_of_creating(client, "new-flag") > 0
    after = client.get("/api/v1/sdk/config", headers=bearer(sdk))
    assert after.status_code == 200
    assert "new-flag" in {flag["key"] for flag in after.json()["flags"]}
    assert after.headers["ETag"] != before.headers["ETag"]
