"""/api/v1/rollouts on both databases: create, read, act, history, and every error."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from ._support import ADMIN, SPEC, bearer, error, make_token, seed

ADMIN_H = bearer(ADMIN)


def create(client: TestClient, **extra: Any) -> dict[str, Any]:
    response = client.post("/api/v1/rollouts", json={**SPEC, **extra}, headers=ADMIN_H)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_create_start_and_read_a_rollout(client: TestClient) -> None:
    seed(client)  # checkout at legacy 90% / domain 10% in production
    pending = create(client)
    assert (pending["phase"], pending["version"], pending["share"]) == ("pending", 1, 0)
    assert pending["baseline"] == "legacy"
    assert pending["legal_manual_actions"] == ["start", "abort"]
    assert pending["step_clock"] is None
    url = f"/api/v1/rollouts/{pending['id']}"
    started = client.post(f"{url}/start", json={"version": 1}, headers=ADMIN_H)
    assert started.status_code == 200, started.text
    assert started.headers["ETag"] == '"2"'
    view = client.get(url, headers=ADMIN_H).json()
    assert (view["phase"], view["step"], view["steps"], view["step_percent"]) == (
        "progressing",
        0,
        3,
        25,
    )
    assert (view["share"], view["share_percent"]) == (2500, 25.0)
    assert view["spec"]["strategy"]["steps"][2] == {"percent": 100, "bake": 0.0}
    assert view["step_clock"]["bake_ends_at"] > view["step_clock"]["started_at"]
    assert view["legal_manual_actions"] == ["pause", "promote", "abort"]
    assert view["judgement"] is None
    state = client.get("/api/v1/flags/checkout/environments/production", headers=ADMIN_H)
    # the pool is legacy + domain = 100%; the canary has 25% of it
    assert state.json()["state"]["split"] == {"legacy": 7500, "domain": 2500}


def test_every_manual_action_and_the_history(client: TestClient) -> None:
    seed(client)
    rollout = create(client, start=True)
    url = f"/api/v1/rollouts/{rollout['id']}"
    version = rollout["version"]
    for action, phase in [
        ("pause", "paused"),
        ("resume", "progressing"),
        ("abort", "aborted"),
        ("retry", "progressing"),
        ("promote", "succeeded"),
    ]:
        response = client.post(
            f"{url}/{action}",
            json={"reason": f"by hand: {action}"},
            headers={**ADMIN_H, "If-Match": f'"{version}"'},
        )
        assert response.status_code == 200, response.text
        assert response.json()["phase"] == phase
        version = response.json()["version"]
    history = client.get(f"{url}/history", headers=ADMIN_H).json()
    assert [h["action"] for h in history] == [
        "start",
        "pause",
        "resume",
        "abort",
        "retry",
        "promote",
    ]
    assert history[-1]["reason"] == "by hand: promote"
    assert history[-1]["to_share"] == 10000
    assert all(h["actor"].startswith("token:") for h in history)
    audit = client.get(f"/api/v1/audit?target_type=rollout&target={rollout['id']}", headers=ADMIN_H)
    assert len(audit.json()) == 7  # created, and six transitions


def test_conflicts_name_the_version_or_the_legal_actions(client: TestClient) -> None:
    seed(client)
    rollout = create(client, start=True)
    url = f"/api/v1/rollouts/{rollout['id']}"
    illegal = error(
        client.post(f"{url}/resume", json={"version": 2}, headers=ADMIN_H), 409, "conflict"
    )
    assert illegal["details"]["legal_manual_actions"] == ["pause", "promote", "abort"]
    assert "legal now" in illegal["message"]
    stale = error(
        client.post(f"{url}/pause", json={"version": 1}, headers=ADMIN_H), 409, "conflict"
    )
    assert stale["details"]["current_version"] == 2
    error(client.post(f"{url}/pause", headers=ADMIN_H), 428, "version_required")
    error(
        client.post(f"{url}/pause", json={"version": 1}, headers={**ADMIN_H, "If-Match": "2"}),
        400,
        "bad_request",
    )
    error(
        client.post(f"{url}/advance", json={"version": 2}, headers=ADMIN_H), 422, "validation_error"
    )
    error(
        client.post("/api/v1/rollouts/999/pause", json={"version": 1}, headers=ADMIN_H),
        404,
        "not_found",
    )
    error(client.get("/api/v1/rollouts/999", headers=ADMIN_H), 404, "not_found")
    error(client.get("/api/v1/rollouts/999/history", headers=ADMIN_H), 404, "not_found")
    taken = error(client.post("/api/v1/rollouts", json=SPEC, headers=ADMIN_H), 409, "conflict")
    assert taken["details"]["rollout_id"] == rollout["id"]


def test_invalid_specs_are_422_naming_the_field(client: TestClient) -> None:
    seed(client)
    unknown = error(
        client.post("/api/v1/rollouts", json={**SPEC, "variant": "domian"}, headers=ADMIN_H),
        422,
        "invalid_config",
    )
    assert unknown["details"]["issues"][0]["path"] == "variant"
    steps = error(
        client.post(
            "/api/v1/rollouts",
            json={**SPEC, "strategy": {"steps": ["50%", "10%"]}},
            headers=ADMIN_H,
        ),
        422,
        "validation_error",
    )
    assert "strategy" in steps["message"]
    assert "10%" in steps["message"]
    error(
        client.post("/api/v1/rollouts", json={**SPEC, "flag": "nope"}, headers=ADMIN_H),
        404,
        "not_found",
    )
    for literal in ("NaN", "Infinity", "1e400"):  # the same answer on SQLite and PostgreSQL
        body = (
            '{"flag": "checkout", "environment": "production", "variant": "domain", '
            f'"gates": [{{"metric": "latency_p95", "max": {literal}}}]}}'
        )
        not_finite = error(
            client.post(
                "/api/v1/rollouts",
                content=body,
                headers={**ADMIN_H, "Content-Type": "application/json"},
            ),
            422,
            "validation_error",
        )
        assert "finite" in not_finite["message"], literal
    assert client.get("/api/v1/rollouts", headers=ADMIN_H).json() == []


def test_gates_the_running_controllers_provider_cannot_serve_are_refused(
    database_url: str,
) -> None:
    from rollwise.controller import ControllerSettings

    from ._support import app_for

    controller = ControllerSettings(tick_seconds=3600, provider={"type": "builtin"})
    with TestClient(app_for(database_url, controller=controller)) as client:
        seed(client)
        custom = {"metric": "custom", "query": "rate(x[1m])", "max": 1}
        refused = error(
            client.post("/api/v1/rollouts", json={**SPEC, "gates": [custom]}, headers=ADMIN_H),
            422,
            "invalid_config",
        )
        assert refused["details"]["issues"][0]["path"] == "gates.0.metric"
        assert "builtin" in refused["message"]
        create(client)  # the same spec with gates builtin serves is accepted


def test_list_filters(client: TestClient) -> None:
    seed(client)
    done = create(client, start=True)
    client.post(f"/api/v1/rollouts/{done['id']}/promote", json={"version": 2}, headers=ADMIN_H)
    active = create(client)

    def ids(query: str) -> list[int]:
        response = client.get(f"/api/v1/rollouts{query}", headers=ADMIN_H)
        assert response.status_code == 200, response.text
        return [r["id"] for r in response.json()]

    assert ids("") == [active["id"], done["id"]]
    assert ids("?active=true") == [active["id"]]
    assert ids("?phase=succeeded") == [done["id"]]
    assert ids("?flag=checkout&environment=production&limit=1") == [active["id"]]
    assert ids(f"?before_id={active['id']}") == [done["id"]]
    assert ids("?environment=staging") == []


def test_a_manual_split_edit_is_refused_while_a_rollout_runs(client: TestClient) -> None:
    seed(client)
    rollout = create(client, start=True)
    url = "/api/v1/flags/checkout/environments/production"
    current = client.get(url, headers=ADMIN_H).json()
    refused = error(
        client.put(
            url,
            json={"split": {"legacy": 5000, "domain": 5000}, "version": current["version"]},
            headers=ADMIN_H,
        ),
        409,
        "conflict",
    )
    assert refused["details"]["rollout_id"] == rollout["id"]
    assert client.post(f"{url}/kill", headers=ADMIN_H).status_code == 200


def test_read_tokens_read_and_write_tokens_act(client: TestClient) -> None:
    seed(client)
    rollout = create(client)
    reader = bearer(make_token(client, "read"))
    writer = bearer(make_token(client, "write"))
    url = f"/api/v1/rollouts/{rollout['id']}"
    assert client.get(url, headers=reader).status_code == 200
    assert client.get(f"{url}/history", headers=reader).status_code == 200
    error(client.post(f"{url}/start", json={"version": 1}, headers=reader), 403, "forbidden")
    error(client.post("/api/v1/rollouts", json=SPEC, headers=reader), 403, "forbidden")
    started = client.post(f"{url}/start", json={"version": 1}, headers=writer)
    assert started.status_code == 200
    history = client.get(f"{url}/history", headers=reader).json()
    assert history[0]["actor"].startswith("token:write-token:")
    error(client.get(url), 401, "unauthorized")
