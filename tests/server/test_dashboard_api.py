"""What the dashboard (and ``rollwise flags history``) read: who the token is, every flag's
state in one environment in one request, and a flag's history as changed paths."""

from __future__ import annotations

from fastapi.testclient import TestClient

from ._support import ADMIN, bearer, make_token, seed

ADMIN_HEADERS = bearer(ADMIN)


def test_whoami_names_the_tokens_scope_and_what_it_can_do(client: TestClient) -> None:
    seed(client)
    read = make_token(client, "read")
    sdk = make_token(client, "sdk", "production")
    me = client.get("/api/v1/whoami", headers=bearer(read)).json()
    assert (me["name"], me["scope"], me["can"]) == ("read-token", "read", ["read"])
    assert me["actor"] == f"token:read-token:{me['id']}"
    admin = client.get("/api/v1/whoami", headers=ADMIN_HEADERS).json()
    assert admin["can"] == ["read", "write", "admin"]
    bound = client.get("/api/v1/whoami", headers=bearer(sdk)).json()
    assert (bound["scope"], bound["environment"]) == ("sdk", "production")
    refused = client.get("/api/v1/whoami", headers=bearer("nope"))
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "unauthorized"


def test_an_environments_flag_states_come_in_one_list(client: TestClient) -> None:
    seed(client)
    created = client.post("/api/v1/flags", json={"key": "search"}, headers=ADMIN_HEADERS)
    assert created.status_code == 201
    states = client.get("/api/v1/environments/production/flag-states", headers=ADMIN_HEADERS)
    assert states.status_code == 200
    by_flag = {s["flag"]: s for s in states.json()}
    assert set(by_flag) == {"checkout", "search"}
    assert by_flag["checkout"]["state"]["split"] == {"legacy": 9000, "domain": 1000}
    assert by_flag["search"]["version"] == 0  # never set here: listed as it serves (off)
    assert by_flag["search"]["state"]["enabled"] is False
    missing = client.get("/api/v1/environments/nowhere/flag-states", headers=ADMIN_HEADERS)
    assert missing.status_code == 404


def test_a_flags_history_lists_each_change_as_paths_newest_first(client: TestClient) -> None:
    seed(client)
    path = "/api/v1/flags/checkout/environments/production"
    current = client.get(path, headers=ADMIN_HEADERS).json()
    rule = {"id": "beta", "conditions": [{"attribute": "plan", "op": "in", "value": ["pro"]}]}
    state = {**current["state"], "rules": [{**rule, "variant": "domain"}]}
    state["split"] = {"legacy": 7500, "domain": 2500}
    put = client.put(path, json={**state, "version": current["version"]}, headers=ADMIN_HEADERS)
    assert put.status_code == 200, put.text
    patched = client.patch(
        "/api/v1/flags/checkout",
        json={"description": "the new checkout", "version": 1},
        headers=ADMIN_HEADERS,
    )
    assert patched.status_code == 200, patched.text
    client.post("/api/v1/flags/checkout/environments/staging/kill", headers=ADMIN_HEADERS)

    history = client.get(
        "/api/v1/flags/checkout/history?environment=production", headers=ADMIN_HEADERS
    )
    assert history.status_code == 200, history.text
    items = history.json()["items"]
    assert [i["action"] for i in items] == [
        "flag.update",
        "flag_state.update",
        "flag_state.update",
        "flag.create",
    ]  # staging's kill is another environment's
    assert set(items[0]) == {"at", "actor", "action", "environment", "changes"}
    assert items[0]["environment"] is None
    assert items[0]["changes"] == [
        {"path": "description", "before": "", "after": "the new checkout"}
    ]
    assert items[0]["actor"].startswith("token:admin (ROLLWISE_ADMIN_TOKEN):")
    edit = {c["path"]: (c["before"], c["after"]) for c in items[1]["changes"]}
    assert edit["split.legacy"] == (9000, 7500)
    assert edit["split.domain"] == (1000, 2500)
    before, after = edit["rules"]
    assert before == []
    assert [(r["id"], r["variant"], r["conditions"][0]["value"]) for r in after] == [
        ("beta", "domain", ["pro"])
    ]
    assert items[1]["environment"] == "production"
    first = {c["path"]: c for c in items[2]["changes"]}  # set for the first time
    assert first["split"]["before"] is None
    assert first["split"]["after"] == {"legacy": 9000, "domain": 1000}
    assert first["enabled"] == {"path": "enabled", "before": None, "after": True}

    everywhere = client.get("/api/v1/flags/checkout/history", headers=ADMIN_HEADERS).json()
    kill = everywhere["items"][0]
    assert (kill["action"], kill["environment"]) == ("flag.kill", "staging")
    assert {c["path"]: c["after"] for c in kill["changes"]}["enabled"] is False
    assert client.get("/api/v1/flags/nope/history", headers=ADMIN_HEADERS).status_code == 404
    missing_env = client.get(
        "/api/v1/flags/checkout/history?environment=nowhere", headers=ADMIN_HEADERS
    )
    assert missing_env.status_code == 404
    read = make_token(client, "read")
    assert client.get("/api/v1/flags/checkout/history", headers=bearer(read)).status_code == 200
