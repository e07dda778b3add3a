"""Config delivery: strong ETags, 304s, and change events over Server-Sent Events."""

from __future__ import annotations

import json
import queue
import threading

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

import rollwise
from rollwise.server.config_hub import ConfigHub
from rollwise.store import Store

from .._support.waiting import wait_until
from ._support import ADMIN, app_for, bearer, live_server, make_token, seed


def test_config_document_etag_and_304(client: TestClient) -> None:
    seed(client)
    sdk = bearer(make_token(client, "sdk", "production"))
    first = client.get("/api/v1/sdk/config", headers=sdk)
    assert first.status_code == 200
    etag = first.headers["ETag"]
    assert etag.startswith('"')
    assert not etag.startswith("W/")
    document = first.json()
    assert document["environment"] == "production"
    client_ = rollwise.Client(document)
    assert client_.revision == document["revision"]
    assert client_.evaluate("checkout", {"user_id": "u1"}).reason == "split"
    again = client.get("/api/v1/sdk/config", headers={**sdk, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["ETag"] == etag
    client.post("/api/v1/flags/checkout/environments/production/kill", headers=bearer(ADMIN))
    changed = client.get("/api/v1/sdk/config", headers={**sdk, "If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag
    flag = changed.json()["flags"][0]
    assert flag["environments"]["production"]["enabled"] is False


def test_change_in_another_environment_keeps_the_etag(client: TestClient) -> None:
    seed(client)
    sdk = bearer(make_token(client, "sdk", "production"))
    etag = client.get("/api/v1/sdk/config", headers=sdk).headers["ETag"]
    client.put(
        "/api/v1/flags/checkout/environments/staging",
        headers=bearer(ADMIN),
        json={"default": "domain", "version": 0},
    )
    assert (
        client.get("/api/v1/sdk/config", headers={**sdk, "If-None-Match": etag}).status_code == 304
    )


def _read_events(
    url: str, secret: str, events: queue.Queue[dict[str, str]], stop: threading.Event
) -> None:
    with (
        httpx.Client(timeout=httpx.Timeout(10, read=5)) as http,
        http.stream("GET", f"{url}/api/v1/sdk/stream", headers=bearer(secret)) as response,
    ):
        assert response.headers["content-type"].startswith("text/event-stream")
        fields: dict[str, str] = {}
        for line in response.iter_lines():
            if stop.is_set():
                return
            if line == "":
                if "data" in fields:
                    events.put(fields)
                fields = {}
            elif not line.startswith(":"):
                name, _, value = line.partition(":")
                fields[name] = value.strip()


def test_sse_announces_each_new_version(database_url: str) -> None:
    app = app_for(database_url)
    with TestClient(app) as setup:
        seed(setup)
        secret = make_token(setup, "sdk", "production")
    with live_server(app) as url:
        events: queue.Queue[dict[str, str]] = queue.Queue()
        stop = threading.Event()
        reader = threading.Thread(
            target=_read_events, args=(url, secret, events, stop), daemon=True
        )
        reader.start()
        first = events.get(timeout=10)
        assert first["event"] == "config"
        data = json.loads(first["data"])
        assert data["revision"] == first["id"]
        with httpx.Client(base_url=url, headers=bearer(ADMIN)) as admin:
            admin.post("/api/v1/flags/checkout/environments/production/kill")
            second = events.get(timeout=5)
            assert json.loads(second["data"])["etag"] != data["etag"]
            current = admin.get("/api/v1/sdk/config?environment=production")
            assert current.headers["ETag"] == json.loads(second["data"])["etag"]
            admin.put(
                "/api/v1/flags/checkout/environments/staging",
                json={"default": "domain", "version": 0},
            )
            admin.post("/api/v1/flags/checkout/environments/production/restore")
            third = events.get(timeout=5)
            assert third["id"] != second["id"]
            restored = admin.get("/api/v1/sdk/config?environment=production")
            assert json.loads(third["data"])["etag"] == restored.headers["ETag"]
            # the staging change was not announced to production: the next production change
            # is the very next event, with nothing (a stray announcement) in between
            admin.post("/api/v1/flags/checkout/environments/production/kill")
            fourth = events.get(timeout=5)
            killed = admin.get("/api/v1/sdk/config?environment=production")
            assert json.loads(fourth["data"])["etag"] == killed.headers["ETag"]
            assert fourth["id"] != third["id"]
        stop.set()


def test_changes_made_by_another_replica_are_announced(database_url: str) -> None:
    app = app_for(database_url)
    other_replica = app_for(database_url)
    with TestClient(app) as setup:
        seed(setup)
        secret = make_token(setup, "sdk", "production")
    with live_server(app) as url, TestClient(other_replica) as other:
        events: queue.Queue[dict[str, str]] = queue.Queue()
        stop = threading.Event()
        threading.Thread(target=_read_events, args=(url, secret, events, stop), daemon=True).start()
        events.get(timeout=10)
        other.post("/api/v1/flags/checkout/environments/production/kill", headers=bearer(ADMIN))
        changed = events.get(timeout=5)  # noticed by this replica's revision poll
        assert changed["event"] == "config"
        stop.set()


def _statements_of_one_poll(store: Store, hub: ConfigHub) -> list[str]:
    seen: list[str] = []

    def note(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.split(None, 1)[0].upper() not in ("BEGIN", "COMMIT", "ROLLBACK"):
            seen.append(statement)

    event.listen(store.engine, "before_cursor_execute", note)
    try:
        hub.refresh()
    finally:
        event.remove(store.engine, "before_cursor_execute", note)
    return seen


@pytest.mark.parametrize("environments", [1, 200])
def test_an_idle_revision_poll_is_one_statement(database_url: str, environments: int) -> None:
    store = Store(database_url)
    try:
        with store.transaction("test") as tx:
            for n in range(environments):
                tx.environments.create(f"env-{n}")
        hub = ConfigHub(store)
        hub.refresh()  # builds every document once
        assert len(hub.revisions()) == environments
        assert len(_statements_of_one_poll(store, hub)) == 1
    finally:
        store.close()


def _token(client: TestClient, environment: str) -> tuple[str, str]:
    body = {"name": "sdk-stream", "scope": "sdk", "environment": environment}
    created = client.post("/api/v1/tokens", json=body, headers=bearer(ADMIN))
    assert created.status_code == 201, created.text
    return created.json()["token"]["id"], created.json()["secret"]


def _stream_until_it_ends(url: str, secret: str, ended: threading.Event) -> None:
    """Sets ``ended`` when the server ends the stream cleanly (not when the test's server
    shuts down under it)."""
    try:
        with (
            httpx.Client(timeout=httpx.Timeout(10, read=30)) as http,
            http.stream("GET", f"{url}/api/v1/sdk/stream", headers=bearer(secret)) as response,
        ):
            assert response.status_code == 200
            for _ in response.iter_lines():
                pass
    except httpx.HTTPError:
        return
    ended.set()


@pytest.mark.parametrize("token_cache_seconds", [0.0, 60.0])
def test_revoking_a_token_ends_its_open_streams(
    database_url: str, token_cache_seconds: float
) -> None:
    """Through the route (no token cache) and the fast path (a cached token) alike; the
    stream of another token stays open."""
    app = app_for(database_url, token_cache_seconds=token_cache_seconds)
    with TestClient(app) as setup:
        seed(setup)
        revoked_id, revoked = _token(setup, "production")
        _, kept = _token(setup, "production")
    with live_server(app) as url:
        ends = {secret: threading.Event() for secret in (revoked, kept)}
        for secret, ended in ends.items():
            threading.Thread(
                target=_stream_until_it_ends, args=(url, secret, ended), daemon=True
            ).start()
        assert wait_until(lambda: app.state.hub.streams() == 2, timeout=20)
        with httpx.Client(base_url=url, headers=bearer(ADMIN)) as admin:
            assert admin.post(f"/api/v1/tokens/{revoked_id}/revoke").status_code == 200
        assert ends[revoked].wait(20), "the revoked token's stream is still open"
        assert app.state.hub.streams() == 1
        assert not ends[kept].is_set()
        refused = httpx.get(f"{url}/api/v1/sdk/stream", headers=bearer(revoked))
        assert refused.status_code == 401


def test_a_token_revoked_on_another_replica_ends_the_stream(database_url: str) -> None:
    app = app_for(database_url)
    other_replica = app_for(database_url)
    with TestClient(app) as setup:
        seed(setup)
        token_id, secret = _token(setup, "production")
    with live_server(app) as url, TestClient(other_replica) as other:
        ended = threading.Event()
        threading.Thread(
            target=_stream_until_it_ends, args=(url, secret, ended), daemon=True
        ).start()
        assert wait_until(lambda: app.state.hub.streams() == 1, timeout=20)
        revoke = other.post(f"/api/v1/tokens/{token_id}/revoke", headers=bearer(ADMIN))
        assert revoke.status_code == 200
        assert ended.wait(20), "the stream outlived its token's revocation on another replica"


def test_a_stream_ends_after_its_lifetime(database_url: str) -> None:
    app = app_for(database_url, sse_max_lifetime_seconds=0.5)
    with TestClient(app) as setup:
        seed(setup)
        _, secret = _token(setup, "production")
    with live_server(app) as url:
        ended = threading.Event()
        threading.Thread(
            target=_stream_until_it_ends, args=(url, secret, ended), daemon=True
        ).start()
        assert ended.wait(20), "the stream outlived its maximum lifetime"
        assert wait_until(lambda: app.state.hub.streams() == 0)
