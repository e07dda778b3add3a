"""/api/v1/releases: the history, recording a release, following it, rolling back."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ..server._support import ADMIN, app_for, bearer, make_token
from ._support import FLAG

ADMIN_HEADERS = bearer(ADMIN)
CANARY = {"strategy": {"type": "canary", "steps": ["10%/1h", "100%"]}}


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    with TestClient(app_for(database_url)) as test_client:
        for key in ("staging", "production"):
            response = test_client.post(
                "/api/v1/environments", json={"key": key}, headers=ADMIN_HEADERS
            )
            assert response.status_code == 201, response.text
        yield test_client


def _deploy(client: TestClient, version: str, **extra: Any) -> dict[str, Any]:
    body = {"environment": "production", "flag": FLAG, "version": version, "rollout": CANARY}
    response = client.post("/api/v1/releases", json={**body, **extra}, headers=ADMIN_HEADERS)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


def test_recording_releases_starts_rollouts_and_the_history_follows(client: TestClient) -> None:
    first = _deploy(client, "v1.4.0", commit="abc123", deployed_by="github-actions")
    assert (first["outcome"], first["rollout"], first["deployed_by"]) == (
        "promoted",
        None,
        "github-actions",
    )
    second = _deploy(client, "v1.5.0")
    assert second["outcome"] == "deploying"
    assert second["rollout"]["phase"] == "progressing"
    assert second["rollout"]["share_percent"] == 10.0
    rollout_id = second["rollout_id"]
    version = second["rollout"]["version"]
    promoted = client.post(
        f"/api/v1/rollouts/{rollout_id}/promote", json={"version": version}, headers=ADMIN_HEADERS
    )
    assert promoted.status_code == 200, promoted.text
    one = client.get(f"/api/v1/releases/{second['id']}", headers=ADMIN_HEADERS).json()
    assert one["outcome"] == "promoted"
    assert one["rollout"]["phase"] == "succeeded"
    history = client.get(
        "/api/v1/releases", params={"environment": "production"}, headers=ADMIN_HEADERS
    ).json()
    assert [(r["version"], r["outcome"]) for r in history] == [
        ("v1.5.0", "promoted"),
        ("v1.4.0", "superseded"),
    ]
    staging = client.get(
        "/api/v1/releases", params={"environment": "staging"}, headers=ADMIN_HEADERS
    )
    assert staging.json() == []


def test_rollback_through_the_api(client: TestClient) -> None:
    _deploy(client, "v1.4.0")
    _deploy(client, "v1.5.0")
    response = client.post(
        "/api/v1/releases/rollback",
        json={"environment": "production", "reason": "latency"},
        headers=ADMIN_HEADERS,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["from_release"]["version"] == "v1.5.0"
    assert body["to_release"]["version"] == "v1.4.0"
    assert body["aborted_rollout_id"] is not None
    path = f"/api/v1/flags/{FLAG}/environments/production"
    split = client.get(path, headers=ADMIN_HEADERS).json()["state"]["split"]
    assert {k: v for k, v in split.items() if v} == {"v1.4.0": 10_000}
    audit = client.get(
        "/api/v1/audit", params={"action": "release.rollback"}, headers=ADMIN_HEADERS
    ).json()
    assert len(audit) == 1
    assert audit[0]["actor"].startswith("token:admin")


def test_errors_are_json_with_the_right_status(client: TestClient) -> None:
    def error(response: Any, status: int) -> str:
        assert response.status_code == status, response.text
        code: str = response.json()["error"]["code"]
        return code

    unknown_env = {"environment": "nowhere", "flag": FLAG, "version": "v1"}
    error(client.post("/api/v1/releases", json=unknown_env, headers=ADMIN_HEADERS), 404)
    bad_version = {"environment": "production", "flag": FLAG, "version": "v 1"}
    error(client.post("/api/v1/releases", json=bad_version, headers=ADMIN_HEADERS), 422)
    error(client.get("/api/v1/releases/99", headers=ADMIN_HEADERS), 404)
    error(client.get("/api/v1/releases", headers=ADMIN_HEADERS), 422)  # environment needed
    rollback = {"environment": "production"}
    error(client.post("/api/v1/releases/rollback", json=rollback, headers=ADMIN_HEADERS), 404)
    _deploy(client, "v1.4.0")
    error(client.post("/api/v1/releases/rollback", json=rollback, headers=ADMIN_HEADERS), 409)
    _deploy(client, "v1.5.0")
    again = {"environment": "production", "flag": FLAG, "version": "v1.6.0"}
    error(client.post("/api/v1/releases", json=again, headers=ADMIN_HEADERS), 409)


def test_changes_need_a_write_token(client: TestClient) -> None:
    reader = bearer(make_token(client, "read"))
    body = {"environment": "production", "flag": FLAG, "version": "v1.4.0"}
    assert client.post("/api/v1/releases", json=body, headers=reader).status_code == 403
    rollback = {"environment": "production"}
    assert (
        client.post("/api/v1/releases/rollback", json=rollback, headers=reader).status_code == 403
    )
    listed = client.get("/api/v1/releases", params={"environment": "production"}, headers=reader)
    assert listed.status_code == 200
    writer = bearer(make_token(client, "write"))
    assert client.post("/api/v1/releases", json=body, headers=writer).status_code == 201
    assert client.get("/api/v1/releases", params={"environment": "production"}).status_code == 401


def test_the_environments_applied_release_defaults_are_the_strategy(client: TestClient) -> None:
    document = {
        "defaults": {
            "production": {
                "rollout": {"strategy": {"type": "canary", "steps": ["5%/1h", "100%"]}},
                "release": {"strategy": {"type": "canary", "steps": ["20%/1h", "100%"]}},
            }
        }
    }
    applied = client.post("/api/v1/state/apply", json={"document": document}, headers=ADMIN_HEADERS)
    assert applied.status_code == 200, applied.text
    body = {"environment": "production", "flag": FLAG}
    for version in ("v1.4.0", "v1.5.0"):
        response = client.post(
            "/api/v1/releases", json={**body, "version": version}, headers=ADMIN_HEADERS
        )
        assert response.status_code == 201, response.text
    rollout = response.json()["rollout"]
    assert (rollout["steps"], rollout["step_percent"]) == (2, 20)
