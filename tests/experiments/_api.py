"""API helpers for experiment tests: seed the flag, create and start the 50/25/25 test."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from ..server._support import ADMIN, bearer
from ._support import DEFINITION

ADMIN_HEADERS = bearer(ADMIN)


def seed_api(client: TestClient) -> None:
    for key in ("production", "staging"):
        response = client.post("/api/v1/environments", json={"key": key}, headers=ADMIN_HEADERS)
        assert response.is_success, response.text
    flag = {"key": "checkout_page", "variants": ["control", "variant_a", "variant_b"]}
    response = client.post("/api/v1/flags", json=flag, headers=ADMIN_HEADERS)
    assert response.status_code == 201, response.text


def start(client: TestClient, definition: dict[str, Any] | None = None) -> dict[str, Any]:
    data = definition or DEFINITION
    created = client.post("/api/v1/experiments", json=data, headers=ADMIN_HEADERS)
    assert created.status_code == 201, created.text
    started = client.post(f"/api/v1/experiments/{data['key']}/start", headers=ADMIN_HEADERS)
    assert started.status_code == 200, started.text
    body: dict[str, Any] = started.json()
    return body
