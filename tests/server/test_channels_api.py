"""/api/v1/notification-channels and /api/v1/outbox on both databases: validation by the
notifier registry, secrets never served, masked secrets kept on update, the outbox view."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from rollwise.store import Store

from ._support import ADMIN, SPEC, bearer, error, make_token, seed

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
            stored = tx.channels.get("deploy-hooks").config
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


def _stored(database_url: str, name: str) -> dict[str, Any]:
    store = Store(database_url)
    try:
        with store.transaction("read") as tx:
            return tx.channels.get(name).config
    finally:
        store.close()


def test_a_new_destination_needs_the_secrets_again(client: TestClient, database_url: str) -> None:
    """A write token cannot point a channel at its own receiver and keep the admin's
    secrets by sending their masks back."""
    assert client.post(
        "/api/v1/notification-channels", json={"config": HOOK}, headers=ADMIN_H
    ).is_success
    writer = bearer(make_token(client, "write"))
    url = "/api/v1/notification-channels/deploy-hooks"
    shown = client.get(url, headers=writer).json()["config"]
    stolen = {**shown, "url": "http://127.0.0.1:9/attacker"}
    refused = error(
        client.patch(url, json={"config": stolen, "version": 1}, headers=writer),
        422,
        "invalid_config",
    )
    paths = sorted(issue["path"] for issue in refused["details"]["issues"])
    assert paths == ["config.headers.Authorization", "config.secret"]
    assert "url" in refused["message"]
    assert _stored(database_url, "deploy-hooks")["url"] == HOOK["url"]
    # one secret re-entered is not enough; all of them are
    half = {**stolen, "secret": "another-secret-of-16-chars"}
    refused = error(
        client.patch(url, json={"config": half, "version": 1}, headers=writer),
        422,
        "invalid_config",
    )
    assert [i["path"] for i in refused["details"]["issues"]] == ["config.headers.Authorization"]
    whole = {**half, "headers": {"Authorization": "Bearer new-receiver"}}
    moved = client.patch(url, json={"config": whole, "version": 1}, headers=writer)
    assert moved.status_code == 200, moved.text
    stored = _stored(database_url, "deploy-hooks")
    assert stored["headers"] == {"Authorization": "Bearer new-receiver"}
    assert stored["secret"] == "another-secret-of-16-chars"


def test_same_destination_keeps_masked_secrets_of_every_type(
    client: TestClient, database_url: str
) -> None:
    email = {
        "type": "email",
        "name": "mail",
        "host": "smtp.example.com",
        "from": "rollwise@example.com",
        "to": ["team@example.com"],
        "username": "rollwise",
        "password": "smtp-password",
    }
    slack = {"type": "slack", "name": "chat", "url": "https://hooks.example.com/T0/B0/x"}
    for config in (email, slack):
        created = client.post(
            "/api/v1/notification-channels", json={"config": config}, headers=ADMIN_H
        )
        assert created.status_code == 201, created.text
    mail_url = "/api/v1/notification-channels/mail"
    shown = client.get(mail_url, headers=ADMIN_H).json()["config"]
    assert shown["password"] == "**********"
    cosmetic = {**shown, "subject_prefix": "[deploys]", "timeout": 5}
    kept = client.patch(mail_url, json={"config": cosmetic, "version": 1}, headers=ADMIN_H)
    assert kept.status_code == 200, kept.text
    assert _stored(database_url, "mail")["password"] == "smtp-password"
    for change in ({"host": "smtp.attacker.example"}, {"port": 2525}, {"to": ["me@evil.test"]}):
        refused = error(
            client.patch(
                mail_url, json={"config": {**cosmetic, **change}, "version": 2}, headers=ADMIN_H
            ),
            422,
            "invalid_config",
        )
        assert [i["path"] for i in refused["details"]["issues"]] == ["config.password"]
    chat_url = "/api/v1/notification-channels/chat"
    chat = client.get(chat_url, headers=ADMIN_H).json()["config"]
    assert chat["url"] == "**********"
    restyled = client.patch(
        chat_url, json={"config": {**chat, "style": "blocks"}, "version": 1}, headers=ADMIN_H
    )
    assert restyled.status_code == 200, restyled.text
    elsewhere = {**chat, "channel": "#somewhere-else"}
    refused = error(
        client.patch(chat_url, json={"config": elsewhere, "version": 2}, headers=ADMIN_H),
        422,
        "invalid_config",
    )
    assert [i["path"] for i in refused["details"]["issues"]] == ["config.url"]


def test_a_mask_with_nothing_to_keep_is_refused(client: TestClient) -> None:
    email = {
        "type": "email",
        "name": "mail",
        "host": "smtp.example.com",
        "from": "rollwise@example.com",
        "to": ["team@example.com"],
        "username": "rollwise",
        "password": "**********",
    }
    refused = error(
        client.post("/api/v1/notification-channels", json={"config": email}, headers=ADMIN_H),
        422,
        "invalid_config",
    )
    assert [i["path"] for i in refused["details"]["issues"]] == ["config.password"]
