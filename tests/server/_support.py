"""Helpers for server tests: an app per database, tokens of each scope, a live server."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from rollwise.server import ServerSettings, create_app

from .._support.net import free_port

ADMIN = "test-admin-token-0123456789"
SPEC: dict[str, Any] = {
    "flag": "checkout",
    "environment": "production",
    "variant": "domain",
    "strategy": {"steps": ["25%/1h", "50%/1h"]},
    "gates": [{"metric": "error_rate", "max": 0.01}],
}
"""A canary of the seeded flag's domain variant in production: 25% then 50%, one gate."""


def settings(database_url: str, **overrides: Any) -> ServerSettings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "admin_token": ADMIN,
        "revision_poll_seconds": 0.2,
        "token_cache_seconds": 0.0,
        "sse_keepalive_seconds": 0.5,
    }
    values.update(overrides)
    return ServerSettings(**values)


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def make_token(client: TestClient, scope: str, environment: str | None = None) -> str:
    body: dict[str, Any] = {"name": f"{scope}-token", "scope": scope}
    if environment is not None:
        body["environment"] = environment
    response = client.post("/api/v1/tokens", json=body, headers=bearer(ADMIN))
    assert response.status_code == 201, response.text
    secret: str = response.json()["secret"]
    return secret


def seed(client: TestClient) -> None:
    """production and staging, and a flag 'checkout' at 10% domain in production."""
    admin = bearer(ADMIN)
    for key in ("production", "staging"):
        assert client.post("/api/v1/environments", json={"key": key}, headers=admin).is_success
    created = client.post(
        "/api/v1/flags", headers=admin, json={"key": "checkout", "variants": ["legacy", "domain"]}
    )
    assert created.status_code == 201, created.text
    state = {"split": {"legacy": 9000, "domain": 1000}, "version": 0}
    put = client.put("/api/v1/flags/checkout/environments/production", json=state, headers=admin)
    assert put.status_code == 200, put.text


def error(response: Any, status: int, code: str) -> dict[str, Any]:
    """Check an API error (status, the JSON shape every error has, its code); return it."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    detail: dict[str, Any] = body["error"]
    return detail


@contextmanager
def live_server(app: FastAPI, port: int | None = None) -> Iterator[str]:
    """Run ``app`` under uvicorn on a loopback port in a thread; yield its base URL."""
    port = port or free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=1
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def app_for(database_url: str, **overrides: Any) -> FastAPI:
    return create_app(settings(database_url, **overrides))
