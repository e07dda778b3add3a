"""Each scope against each endpoint group: 401 without a token, 403 out of scope, else 2xx."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from ._support import ADMIN, app_for, bearer, make_token, seed

ROLLOUT = {"flag": "checkout", "environment": "production", "variant": "domain"}
ALERT_RULE = {"name": "r", "environment": "production", "metric": "error_rate", "threshold": 0.1}

# (group, method, url, body): one representative call per endpoint group
CALLS: list[tuple[str, str, str, dict[str, Any] | None]] = [
    ("read", "get", "/api/v1/environments", None),
    ("read", "get", "/api/v1/flags", None),
    ("read", "get", "/api/v1/flags/checkout/environments/production", None),
    ("read", "get", "/api/v1/audit", None),
    ("read", "get", "/api/v1/rollouts", None),
    ("read", "get", "/api/v1/alert-rules", None),
    ("read", "get", "/api/v1/notification-channels", None),
    ("write", "post", "/api/v1/flags", {"key": "new-flag"}),
    ("write", "post", "/api/v1/flags/checkout/environments/production/kill", None),
    ("write", "post", "/api/v1/rollouts", ROLLOUT),
    ("write", "post", "/api/v1/rollouts/1/abort", {"version": 1}),
    ("read", "get", "/api/v1/rollouts/1/history", None),
    ("write", "post", "/api/v1/alert-rules", ALERT_RULE),
    ("write", "post", "/api/v1/notification-channels", {"config": {"type": "nop", "name": "q"}}),
    ("admin", "get", "/api/v1/tokens", None),
    ("admin", "post", "/api/v1/tokens", {"name": "n", "scope": "read"}),
    ("admin", "get", "/api/v1/outbox", None),
    ("sdk", "get", "/api/v1/sdk/config?environment=production", None),
]
ALLOWED = {
    "admin": {"read", "write", "admin", "sdk"},
    "write": {"read", "write", "sdk"},
    "read": {"read", "sdk"},
    "sdk": {"sdk"},
}


@pytest.mark.parametrize("scope", ["admin", "write", "read", "sdk"])
def test_scope_matrix(client: TestClient, scope: str) -> None:
    seed(client)
    staged = {**ROLLOUT, "environment": "staging"}  # rollout 1, for the calls that name it
    assert client.post("/api/v1/rollouts", json=staged, headers=bearer(ADMIN)).status_code == 201
    secret = (
        ADMIN
        if scope == "admin"
        else make_token(client, scope, "production" if scope == "sdk" else None)
    )
    for group, method, url, body in CALLS:
        kwargs: dict[str, Any] = {"json": body} if body is not None else {}
        anonymous = getattr(client, method)(url, **kwargs)
        assert anonymous.status_code == 401, (url, anonymous.text)
        response = getattr(client, method)(url, headers=bearer(secret), **kwargs)
        if group in ALLOWED[scope]:
            assert response.is_success, (scope, url, response.text)
        else:
            assert response.status_code == 403, (scope, url, response.text)
            assert response.json()["error"]["code"] == "forbidden"


def test_sdk_token_is_bound_to_its_environment(client: TestClient) -> None:
    seed(client)
    production = bearer(make_token(client, "sdk", "production"))
    assert client.get("/api/v1/sdk/config", headers=production).json()["environment"] == (
        "production"
    )
    other = client.get("/api/v1/sdk/config?environment=staging", headers=production)
    assert other.status_code == 403
    reader = bearer(make_token(client, "read"))
    assert client.get("/api/v1/sdk/config", headers=reader).status_code == 400
    assert client.get("/api/v1/sdk/config?environment=nope", headers=reader).status_code == 404


def test_wrong_and_revoked_tokens_are_401_on_every_call(database_url: str) -> None:
    """Checked by the request guard before any body is read; the same answer everywhere
    (the failed-authentication limit raised: this test fails 36 times on purpose)."""
    with TestClient(app_for(database_url, auth_failure_burst=1000)) as client:
        _every_call_refuses_wrong_tokens(client)


def _every_call_refuses_wrong_tokens(client: TestClient) -> None:
    seed(client)
    created = client.post(
        "/api/v1/tokens", json={"name": "soon-gone", "scope": "write"}, headers=bearer(ADMIN)
    ).json()
    revoke = f"/api/v1/tokens/{created['token']['id']}/revoke"
    assert client.post(revoke, headers=bearer(ADMIN)).status_code == 200
    for secret in ("rw_write_not-a-real-token-at-all", created["secret"]):
        for _, method, url, body in CALLS:
            kwargs: dict[str, Any] = {"json": body} if body is not None else {}
            response = getattr(client, method)(url, headers=bearer(secret), **kwargs)
            assert response.status_code == 401, (url, response.text)
            assert response.json()["error"]["code"] == "unauthorized"
            assert response.headers["WWW-Authenticate"] == "Bearer"
