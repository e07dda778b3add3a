"""The /api/v1 resources: results, versions, errors and the audit trail they leave."""

from __future__ import annotations

from fastapi.testclient import TestClient

from ._support import ADMIN, bearer, make_token, seed

ADMIN_H = bearer(ADMIN)


def _error(response: object, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    detail: dict[str, object] = body["error"]
    return detail


def test_environments_crud(client: TestClient) -> None:
    created = client.post(
        "/api/v1/environments", json={"key": "production", "name": "Prod"}, headers=ADMIN_H
    )
    assert created.status_code == 201
    assert created.headers["ETag"] == '"1"'
    assert created.json()["name"] == "Prod"
    assert [e["key"] for e in client.get("/api/v1/environments", headers=ADMIN_H).json()] == [
        "production"
    ]
    updated = client.patch(
        "/api/v1/environments/production",
        json={"description": "live"},
        headers={**ADMIN_H, "If-Match": '"1"'},
    )
    assert updated.json()["version"] == 2
    assert updated.json()["description"] == "live"
    _error(
        client.post("/api/v1/environments", json={"key": "production"}, headers=ADMIN_H),
        409,
        "conflict",
    )
    _error(client.get("/api/v1/environments/nope", headers=ADMIN_H), 404, "not_found")


def test_flags_crud_filters_and_archive(client: TestClient) -> None:
    seed(client)
    flag = client.get("/api/v1/flags/checkout", headers=ADMIN_H).json()
    assert flag["variants"] == ["legacy", "domain"]
    assert flag["off_variant"] == "legacy"
    client.post("/api/v1/flags", json={"key": "search", "tags": ["ux"]}, headers=ADMIN_H)
    assert [f["key"] for f in client.get("/api/v1/flags?tag=ux", headers=ADMIN_H).json()] == [
        "search"
    ]
    assert [f["key"] for f in client.get("/api/v1/flags?search=CHECK", headers=ADMIN_H).json()] == [
        "checkout"
    ]
    patched = client.patch(
        "/api/v1/flags/search", json={"description": "new", "version": 1}, headers=ADMIN_H
    )
    assert patched.json()["version"] == 2
    archived = client.post("/api/v1/flags/search/archive", headers=ADMIN_H)
    assert archived.json()["archived"] is True
    assert [f["key"] for f in client.get("/api/v1/flags", headers=ADMIN_H).json()] == ["checkout"]
    listed = client.get("/api/v1/flags?archived=true", headers=ADMIN_H).json()
    assert [f["key"] for f in listed] == ["search"]
    restored = client.post("/api/v1/flags/search/unarchive", headers={**ADMIN_H, "If-Match": "3"})
    assert restored.json()["archived"] is False


def test_flag_state_versions_kill_and_restore(client: TestClient) -> None:
    seed(client)
    url = "/api/v1/flags/checkout/environments/production"
    state = client.get(url, headers=ADMIN_H)
    assert state.json()["version"] == 1
    assert state.json()["state"]["split"] == {"legacy": 9000, "domain": 1000}
    unset = client.get("/api/v1/flags/checkout/environments/staging", headers=ADMIN_H).json()
    assert (unset["version"], unset["state"]["enabled"]) == (0, False)
    raised = client.put(
        url,
        json={"split": {"legacy": 7500, "domain": 2500}},
        headers={**ADMIN_H, "If-Match": '"1"'},
    )
    assert raised.status_code == 200
    assert raised.headers["ETag"] == '"2"'
    stale = _error(
        client.put(
            url, json={"split": {"legacy": 5000, "domain": 5000}, "version": 1}, headers=ADMIN_H
        ),
        409,
        "conflict",
    )
    assert stale["details"]["current_version"] == 2  # type: ignore[index]
    _error(
        client.put(url, json={"split": {"legacy": 5000, "domain": 5000}}, headers=ADMIN_H),
        428,
        "version_required",
    )
    _error(
        client.put(
            url,
            json={"split": {"legacy": 1, "domain": 5000}, "version": 2},
            headers={**ADMIN_H, "If-Match": '"3"'},
        ),
        400,
        "bad_request",
    )
    killed = client.post(f"{url}/kill", headers=ADMIN_H).json()
    assert (killed["state"]["enabled"], killed["state"]["split"]["domain"]) == (False, 2500)
    restored = client.post(f"{url}/restore", headers={**ADMIN_H, "If-Match": '"3"'}).json()
    assert restored["state"]["enabled"] is True
    assert [
        s["environment"]
        for s in client.get("/api/v1/flags/checkout/environments", headers=ADMIN_H).json()
    ] == ["production"]


def test_validation_errors_name_the_field(client: TestClient) -> None:
    seed(client)
    bad_split = _error(
        client.put(
            "/api/v1/flags/checkout/environments/production",
            json={"split": {"legacy": 1}, "version": 1},
            headers=ADMIN_H,
        ),
        422,
        "invalid_config",
    )
    assert bad_split["details"]["issues"][0]["path"] == "environments.production.split"  # type: ignore[index]
    unknown_field = _error(
        client.post("/api/v1/flags", json={"key": "x", "variant": ["a"]}, headers=ADMIN_H),
        422,
        "validation_error",
    )
    assert unknown_field["details"]["errors"][0]["path"] == "body.variant"  # type: ignore[index]
    bad_key = _error(
        client.post("/api/v1/flags", json={"key": "has space"}, headers=ADMIN_H),
        422,
        "validation_error",
    )
    assert "body.key" in str(bad_key["message"])
    _error(
        client.post(
            "/api/v1/flags",
            content=b"{not json",
            headers={**ADMIN_H, "Content-Type": "application/json"},
        ),
        422,
        "validation_error",
    )
    _error(
        client.post("/api/v1/flags", json={"key": "dup", "variants": ["a", "a"]}, headers=ADMIN_H),
        422,
        "invalid_config",
    )
    _error(
        client.patch(
            "/api/v1/flags/checkout",
            json={"description": "x"},
            headers={**ADMIN_H, "If-Match": "abc"},
        ),
        400,
        "bad_request",
    )


def test_versions_beyond_what_the_store_holds_are_client_errors(client: TestClient) -> None:
    seed(client)
    too_big = 2**63
    for method, url, body in [
        ("PATCH", "/api/v1/flags/checkout", {"description": "x", "version": too_big}),
        ("PUT", "/api/v1/flags/checkout/environments/production", {"version": too_big}),
        ("PATCH", "/api/v1/environments/production", {"name": "x", "version": too_big}),
    ]:
        _error(client.request(method, url, json=body, headers=ADMIN_H), 422, "validation_error")
    for header in (f'"{too_big}"', '"2147483648"', "9" * 400):
        _error(
            client.post(
                "/api/v1/flags/checkout/environments/production/kill",
                headers={**ADMIN_H, "If-Match": header},
            ),
            400,
            "bad_request",
        )


def test_non_finite_numbers_in_a_condition_are_refused_and_sdk_config_stays_valid(
    client: TestClient,
) -> None:
    import rollwise

    seed(client)
    for literal in ("NaN", "Infinity", "1e400", "1" + "0" * 400):
        body = (
            '{"rules": [{"id": "r", "conditions": [{"attribute": "age", "op": "gt", '
            f'"value": {literal}}}], "variant": "domain"}}], "version": 1}}'
        )
        error = _error(
            client.put(
                "/api/v1/flags/checkout/environments/production",
                content=body,
                headers={**ADMIN_H, "Content-Type": "application/json"},
            ),
            422,
            "invalid_config",
        )
        assert "finite number" in str(error["message"]), literal
    sdk = make_token(client, "sdk", environment="production")
    config = client.get("/api/v1/sdk/config", headers=bearer(sdk))
    assert config.status_code == 200
    rollwise.parse_document(config.json())


def test_unknown_routes_and_methods_are_json(client: TestClient) -> None:
    _error(client.get("/api/v1/nothing-here", headers=ADMIN_H), 404, "not_found")
    _error(client.delete("/api/v1/environments", headers=ADMIN_H), 405, "method_not_allowed")


def test_unauthenticated_and_revoked(client: TestClient) -> None:
    missing = client.get("/api/v1/flags")
    _error(missing, 401, "unauthorized")
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    _error(client.get("/api/v1/flags", headers=bearer("not-a-token")), 401, "unauthorized")
    secret = make_token(client, "read")
    assert client.get("/api/v1/flags", headers=bearer(secret)).status_code == 200
    token_id = next(
        t for t in client.get("/api/v1/tokens", headers=ADMIN_H).json() if t["name"] == "read-token"
    )["id"]
    assert client.post(f"/api/v1/tokens/{token_id}/revoke", headers=ADMIN_H).json()["revoked"]
    _error(client.get("/api/v1/flags", headers=bearer(secret)), 401, "unauthorized")


def test_tokens_secret_shown_once_and_validated(client: TestClient) -> None:
    seed(client)
    created = client.post(
        "/api/v1/tokens",
        headers=ADMIN_H,
        json={"name": "app", "scope": "sdk", "environment": "production"},
    )
    assert created.status_code == 201
    assert created.json()["secret"].startswith("rw_sdk_")
    assert all("secret" not in t for t in client.get("/api/v1/tokens", headers=ADMIN_H).json())
    _error(
        client.post("/api/v1/tokens", json={"name": "x", "scope": "sdk"}, headers=ADMIN_H),
        422,
        "invalid_config",
    )
    _error(
        client.post("/api/v1/tokens", json={"name": "x", "scope": "root"}, headers=ADMIN_H),
        422,
        "validation_error",
    )
    _error(
        client.post(
            "/api/v1/tokens",
            json={"name": "x", "scope": "sdk", "environment": "no"},
            headers=ADMIN_H,
        ),
        404,
        "not_found",
    )


def test_every_mutating_endpoint_leaves_an_audit_row(client: TestClient) -> None:
    writer = make_token(client, "write")
    w = bearer(writer)
    calls = [
        ("post", "/api/v1/environments", {"json": {"key": "production"}}, "environment.create"),
        (
            "patch",
            "/api/v1/environments/production",
            {"json": {"name": "P", "version": 1}},
            "environment.update",
        ),
        ("post", "/api/v1/flags", {"json": {"key": "f"}}, "flag.create"),
        ("patch", "/api/v1/flags/f", {"json": {"description": "d", "version": 1}}, "flag.update"),
        (
            "put",
            "/api/v1/flags/f/environments/production",
            {"json": {"default": "on", "version": 0}},
            "flag_state.update",
        ),
        ("post", "/api/v1/flags/f/environments/production/kill", {}, "flag.kill"),
        ("post", "/api/v1/flags/f/environments/production/restore", {}, "flag.restore"),
        ("post", "/api/v1/flags/f/archive", {}, "flag.archive"),
        ("post", "/api/v1/flags/f/unarchive", {}, "flag.unarchive"),
    ]
    for method, url, kwargs, action in calls:
        response = getattr(client, method)(url, headers=w, **kwargs)
        assert response.is_success, (url, response.text)
        newest = client.get("/api/v1/audit?limit=1", headers=w).json()[0]
        assert newest["action"] == action
        assert newest["actor"].startswith("token:write-token:")
        assert newest["after"] is not None
    created = client.post("/api/v1/tokens", headers=ADMIN_H, json={"name": "t", "scope": "read"})
    token_id = created.json()["token"]["id"]
    client.post(f"/api/v1/tokens/{token_id}/revoke", headers=ADMIN_H)
    actions = [
        r["action"] for r in client.get("/api/v1/audit?target_type=token", headers=ADMIN_H).json()
    ]
    assert actions[:2] == ["token.revoke", "token.create"]
    kill = client.get("/api/v1/audit?action=flag.kill", headers=ADMIN_H).json()[0]
    assert kill["before"]["state"]["enabled"] is True
    assert kill["after"]["state"]["enabled"] is False
    assert kill["environment"] == "production"
