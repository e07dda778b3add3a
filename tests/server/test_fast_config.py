"""The SDK config fast path answers exactly what the routed endpoint answers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from ._support import ADMIN, app_for, bearer, make_token, seed


@pytest.fixture
def cached_client(database_url: str) -> Iterator[TestClient]:
    """A control plane that caches tokens, as in production (the fast path needs it)."""
    with TestClient(app_for(database_url, token_cache_seconds=60.0)) as test_client:
        yield test_client


def _config_requests(client: TestClient) -> dict[str, float]:
    counts: dict[str, float] = {}
    for family in text_string_to_metric_families(client.get("/metrics").text):
        for sample in family.samples:
            if (
                sample.name == "rollwise_http_requests_total"
                and sample.labels["route"] == "/api/v1/sdk/config"
            ):
                counts[sample.labels["status"]] = sample.value
    return counts


def test_fast_path_matches_the_route_and_is_counted(cached_client: TestClient) -> None:
    seed(cached_client)
    sdk = bearer(make_token(cached_client, "sdk", "production"))
    routed = cached_client.get("/api/v1/sdk/config", headers=sdk)  # caches token and document
    fast = cached_client.get("/api/v1/sdk/config", headers=sdk)
    assert fast.status_code == routed.status_code == 200
    assert fast.content == routed.content
    assert fast.headers["ETag"] == routed.headers["ETag"]
    assert fast.headers["content-type"] == "application/json"
    not_modified = cached_client.get(
        "/api/v1/sdk/config", headers={**sdk, "If-None-Match": routed.headers["ETag"]}
    )
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert _config_requests(cached_client) == {"200": 2, "304": 1}


def test_fast_path_sees_changes_and_leaves_errors_to_the_route(
    cached_client: TestClient,
) -> None:
    seed(cached_client)
    sdk = bearer(make_token(cached_client, "sdk", "production"))
    etag = cached_client.get("/api/v1/sdk/config", headers=sdk).headers["ETag"]
    cached_client.post("/api/v1/flags/checkout/environments/production/kill", headers=bearer(ADMIN))
    changed = cached_client.get("/api/v1/sdk/config", headers={**sdk, "If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag
    # another environment than the token's, an unknown token, a bad query: the route's errors
    other = cached_client.get("/api/v1/sdk/config?environment=staging", headers=sdk)
    assert other.status_code == 403
    assert other.json()["error"]["code"]
    unknown = cached_client.get("/api/v1/sdk/config", headers=bearer("not-a-token"))
    assert unknown.status_code == 401
    admin = bearer(ADMIN)
    cached_client.get("/api/v1/sdk/config?environment=production", headers=admin)
    missing = cached_client.get("/api/v1/sdk/config?environment=nowhere", headers=admin)
    assert missing.status_code == 404


def test_revoked_token_is_refused_at_once(cached_client: TestClient) -> None:
    seed(cached_client)
    secret = make_token(cached_client, "sdk", "production")
    assert cached_client.get("/api/v1/sdk/config", headers=bearer(secret)).status_code == 200
    tokens = cached_client.get("/api/v1/tokens", headers=bearer(ADMIN)).json()
    token_id = next(t["id"] for t in tokens if t["scope"] == "sdk")
    revoked = cached_client.post(f"/api/v1/tokens/{token_id}/revoke", headers=bearer(ADMIN))
    assert revoked.is_success, revoked.text
    assert cached_client.get("/api/v1/sdk/config", headers=bearer(secret)).status_code == 401
