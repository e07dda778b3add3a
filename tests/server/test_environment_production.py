"""``production`` on /api/v1/environments: explicit, strict, and in the SDK's document.

An environment is production because it is marked so, never because of its key; SDKs of a
marked environment receive ``environments: {<key>: {production: true}}`` and refuse
unsigned per-request overrides there.
"""

from __future__ import annotations

from fastapi.testclient import TestClient

import rollwise

from ._support import ADMIN, bearer, make_token

ADMIN_H = bearer(ADMIN)


def test_production_is_false_unless_given_and_strictly_a_boolean(client: TestClient) -> None:
    plain = client.post("/api/v1/environments", json={"key": "production"}, headers=ADMIN_H)
    assert plain.status_code == 201
    assert plain.json()["production"] is False
    marked = client.post(
        "/api/v1/environments", json={"key": "prd", "production": True}, headers=ADMIN_H
    )
    assert marked.json()["production"] is True
    for bad in ("yes", 1, None):
        refused = client.post(
            "/api/v1/environments", json={"key": "live", "production": bad}, headers=ADMIN_H
        )
        assert refused.status_code == 422, bad
        assert refused.json()["error"]["code"]
    listed = client.get("/api/v1/environments", headers=ADMIN_H).json()
    assert {e["key"]: e["production"] for e in listed} == {"prd": True, "production": False}


def test_marking_an_environment_reaches_its_sdks(client: TestClient) -> None:
    client.post("/api/v1/environments", json={"key": "live"}, headers=ADMIN_H)
    sdk = bearer(make_token(client, "sdk", "live"))
    before = client.get("/api/v1/sdk/config", headers=sdk)
    assert before.json()["environments"] == {"live": {"production": False}}
    patched = client.patch(
        "/api/v1/environments/live",
        json={"production": True},
        headers={**ADMIN_H, "If-Match": '"1"'},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["production"] is True
    after = client.get("/api/v1/sdk/config", headers=sdk)
    assert after.headers["ETag"] != before.headers["ETag"]
    document = after.json()
    assert document["environments"] == {"live": {"production": True}}
    assert rollwise.Client(document).production
