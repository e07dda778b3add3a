"""Config delivery: strong ETags, 304s, and change events over Server-Sent Events."""

from __future__ import annotations

import json
import queue
import threading
import time

import httpx
from fastapi.testclient import TestClient

import rollwise

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
            time.sleep(0.3)
            assert events.empty()  # the staging change was not announced to production
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
