"""/api/v1/notification-channels and /api/v1/outbox on both databases: validation by the
notifier registry, secrets never served, masked secrets kept on update, the outbox view."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from rollwise.store import Store

from ._support import ADMIN, bearer, make_token, seed
from .test_rollouts_api import SPEC, error

ADMIN_H = bearer(ADMIN)
SECRET = "a-shared-secret-of-at-least-16-chars"
HOOK: dict[str, Any] = {
    "type": "webhook",
    "name": "deploy-hooks",
    "url": "http://127.0.0.1:9/hook",
    "secret": SECRET,
    "headers": {"Authorization": "Bearer token-value"},
    "kinds": ["rollout.*"],
}


def test_channels_crud_never_serve_secrets(client: TestClient, database_url: str) -> None:
    created = client.post("/api/v1/notification-channels", json={"config": HOOK}, headers=ADMIN_H)
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["name"], body["type"], body["enabled"], body["version"]) == (
        "deploy-hooks",
        "webhook",
        True,
        1,
    )
    assert body["config"]["secret"] == "**********"
    assert body["config"]["headers"] == {"Authorization": "**********"}
    assert body["config"]["url"] == HOOK["url"]
    url = "/api/v1/notification-channels/deploy-hooks"
    # read-modify-write with the masked values keeps the secrets
    changed = {**body["config"], "timeout": 3}
    updated = client.patch(url, json={"config": changed, "version": 1}, headers=ADMIN_H)
    assert updated.status_code == 200, updated.text
    assert updated.json()["config"]["timeout"] == 3
    off = client.patch(url, json={"enabled": False}, headers={**ADMIN_H, "If-Match": '"2"'})
    assert off.json()["enabled"] is False
    store = Store(database_url)
    try:
        with store.transaction("read") as tx:
            stored = tx.get_channel("deploy-hooks").config
    finally:
        store.close()
    assert stored["secret"] == SECRET
    assert stored["headers"] == {"Authorization": "Bearer token-value"}
    everything = str(client.get("/api/v1/notification-channels", headers=ADMIN_H).json())
    everything += str(client.get("/api/v1/audit?target_type=channel", headers=ADMIN_H).json())
    assert SECRET not in everything
    assert "token-value" not in everything
    assert client.delete(url, headers={**ADMIN_H, "If-Match": '"3"'}).status_code == 204
    error(client.get(url, headers=ADMIN_H), 404, "not_found")


def test_channel_errors(client: TestClient) -> None:
    bad_url = error(
        client.post(
            "/api/v1/notification-channels",
            json={"config": {**HOOK, "url": "ftp://x"}},
            headers=ADMIN_H,
        ),
        422,
        "invalid_config",
    )
    assert bad_url["details"]["issues"][0]["path"] == "config.url"
    assert SECRET not in str(bad_url)
    unknown = error(
        client.post(
            "/api/v1/notification-channels", json={"config": {"type": "pager"}}, headers=ADMIN_H
        ),
        422,
        "invalid_config",
    )
    assert unknown["details"]["issues"][0]["path"] == "config.type"
    nop = {"config": {"type": "nop", "name": "quiet"}}
    assert client.post("/api/v1/notification-channels", json=nop, headers=ADMIN_H).is_success
    error(client.post("/api/v1/notification-channels", json=nop, headers=ADMIN_H), 409, "conflict")
    url = "/api/v1/notification-channels/quiet"
    error(
        client.patch(
            url, json={"config": {"type": "nop", "name": "loud"}, "version": 1}, headers=ADMIN_H
        ),
        400,
        "bad_request",
    )
    error(client.patch(url, json={"enabled": False}, headers=ADMIN_H), 428, "version_required")
    error(
        client.patch(url, json={"enabled": False, "version": 5}, headers=ADMIN_H), 409, "conflict"
    )
    reader = bearer(make_token(client, "read"))
    assert client.get(url, headers=reader).status_code == 200
    error(client.delete(url, headers=reader), 403, "forbidden")


def test_transitions_reach_the_outbox_and_admins_see_it(client: TestClient) -> None:
    seed(client)
    for config in (HOOK, {"type": "nop", "name": "alerts", "kinds": ["alert.*"]}):
        response = client.post(
            "/api/v1/notification-channels", json={"config": config}, headers=ADMIN_H
        )
        assert response.status_code == 201
    started = client.post("/api/v1/rollouts", json={**SPEC, "start": True}, headers=ADMIN_H)
    assert started.status_code == 201
    tested = client.post("/api/v1/notification-channels/alerts/test", headers=ADMIN_H)
    assert tested.status_code == 202
    rows = client.get("/api/v1/outbox?status=pending", headers=ADMIN_H).json()
    assert sorted((r["channel"], r["kind"]) for r in rows) == [
        ("alerts", "rollwise.test"),
        ("deploy-hooks", "rollout.transition"),
    ]
    only = client.get("/api/v1/outbox?channel=deploy-hooks", headers=ADMIN_H).json()
    assert only[0]["notification"]["subject"]["rollout"] == str(started.json()["id"])
    assert client.get("/api/v1/outbox?status=delivered", headers=ADMIN_H).json() == []
    writer = bearer(make_token(client, "write"))
    error(client.get("/api/v1/outbox", headers=writer), 403, "forbidden")
    error(client.get("/api/v1/outbox?status=lost", headers=ADMIN_H), 422, "validation_error")
