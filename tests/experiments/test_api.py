"""The experiments API (SQLite and PostgreSQL): round trip, scopes, the locked split (409),
errors as JSON naming the field, and results from the stored sufficient statistics."""

from __future__ import annotations

from fastapi.testclient import TestClient

from ..server._support import bearer, error, make_token
from ._api import ADMIN_HEADERS, seed_api, start
from ._support import DEFINITION, definition

BASE = "/api/v1/experiments"


def test_round_trip_draft_edit_start_stop(client: TestClient) -> None:
    seed_api(client)
    created = client.post(BASE, json=DEFINITION, headers=ADMIN_HEADERS)
    assert created.status_code == 201, created.text
    view = created.json()
    assert (view["state"], view["version"], view["legal_actions"]) == ("draft", 1, ["start"])
    assert view["definition"]["arms"] == DEFINITION["arms"]
    assert created.headers["ETag"] == '"1"'

    patched = client.patch(
        f"{BASE}/checkout-test",
        json={"hypothesis": "faster checkout", "version": 1},
        headers=ADMIN_HEADERS,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["definition"]["hypothesis"] == "faster checkout"
    stale = client.patch(
        f"{BASE}/checkout-test", json={"hypothesis": "x", "version": 1}, headers=ADMIN_HEADERS
    )
    error(stale, 409, "conflict")

    listed = client.get(BASE, params={"state": "draft"}, headers=ADMIN_HEADERS).json()
    assert [item["key"] for item in listed] == ["checkout-test"]

    started = client.post(f"{BASE}/checkout-test/start", headers=ADMIN_HEADERS)
    assert started.status_code == 200, started.text
    assert started.json()["state"] == "running"
    state = client.get(
        "/api/v1/flags/checkout_page/environments/production", headers=ADMIN_HEADERS
    ).json()
    assert state["state"]["split"] == DEFINITION["arms"]
    error(client.patch(f"{BASE}/checkout-test", json={}, headers=ADMIN_HEADERS), 409, "conflict")
    error(client.post(f"{BASE}/checkout-test/start", headers=ADMIN_HEADERS), 409, "conflict")

    bad = client.post(
        f"{BASE}/checkout-test/stop", json={"decision": {"kind": "ship"}}, headers=ADMIN_HEADERS
    )
    assert error(bad, 422, "invalid_config")["details"]["issues"][0]["path"] == "decision.arm"
    stopped = client.post(
        f"{BASE}/checkout-test/stop",
        json={"decision": {"kind": "ship", "arm": "variant_b", "reason": "b wins"}},
        headers=ADMIN_HEADERS,
    )
    assert stopped.status_code == 200, stopped.text
    body = stopped.json()
    assert body["state"] == "stopped"
    assert body["decision"]["arm"] == "variant_b"
    audit = client.get("/api/v1/audit", headers=ADMIN_HEADERS).json()
    items = audit["items"] if isinstance(audit, dict) else audit
    actions = {row["action"] for row in items}
    assert {"experiment.create", "experiment.start", "experiment.stop"} <= actions
    assert "experiment.decision" in actions


def test_a_running_experiment_locks_the_split(client: TestClient) -> None:
    seed_api(client)
    start(client)
    url = "/api/v1/flags/checkout_page/environments/production"
    version = client.get(url, headers=ADMIN_HEADERS).json()["version"]
    changed = client.put(
        url, json={"split": {"control": 10000}, "version": version}, headers=ADMIN_HEADERS
    )
    body = error(changed, 409, "conflict")
    assert body["details"]["experiment"] == "checkout-test"
    assert "checkout-test" in body["message"]
    rollout = {"flag": "checkout_page", "environment": "production", "variant": "variant_a"}
    refused = client.post(
        "/api/v1/rollouts", json={**rollout, "start": True}, headers=ADMIN_HEADERS
    )
    assert refused.status_code == 409, refused.text
    staging = client.put(
        "/api/v1/flags/checkout_page/environments/staging",
        json={"split": {"control": 10000}, "version": 0},
        headers=ADMIN_HEADERS,
    )
    assert staging.status_code == 200, staging.text  # another environment is not locked


def test_errors_name_the_field_and_scopes_are_enforced(client: TestClient) -> None:
    seed_api(client)
    invalid = client.post(
        BASE,
        json=definition(arms={"control": 6000, "variant_a": 2500}),
        headers=ADMIN_HEADERS,
    )
    assert error(invalid, 422, "invalid_config")["details"]["issues"][0]["path"] == "arms"
    missing = client.post(BASE, json=definition(flag="nope"), headers=ADMIN_HEADERS)
    error(missing, 404, "not_found")
    error(client.get(f"{BASE}/nope", headers=ADMIN_HEADERS), 404, "not_found")
    reader = bearer(make_token(client, "read"))
    error(client.post(BASE, json=DEFINITION, headers=reader), 403, "forbidden")
    assert client.get(BASE, headers=reader).status_code == 200
    assert client.get(BASE).status_code == 401
    writer = bearer(make_token(client, "write"))
    assert client.post(BASE, json=DEFINITION, headers=writer).status_code == 201
    error(
        client.post(f"{BASE}/checkout-test/stop", json={}, headers=writer), 422, "validation_error"
    )


def test_the_sdk_document_names_running_experiments_only(client: TestClient) -> None:
    seed_api(client)
    sdk = bearer(make_token(client, "sdk", "production"))
    before = client.get("/api/v1/sdk/config", headers=sdk).json()
    assert "experiments" not in before  # SDKs older than experiments keep accepting it
    start(client)
    during = client.get("/api/v1/sdk/config", headers=sdk).json()
    assert during["experiments"][0]["key"] == "checkout-test"
    assert during["experiments"][0]["arms"] == ["control", "variant_a", "variant_b"]
