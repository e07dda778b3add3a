"""/api/v1/state: plan, apply (one transaction), export, settings — on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ._support import ADMIN, app_for, bearer, make_token

DOCUMENT: dict[str, Any] = {
    "environments": {"production": {"production": True}},
    "flags": {
        "checkout": {
            "variants": ["legacy", "domain"],
            "environments": {"production": {"split": {"legacy": 8000, "domain": 2000}}},
        }
    },
    "channels": {"ops": {"type": "slack", "url": "${OPS_SLACK_URL}"}},
    "deploy": [{"ref": "refs/tags/v*", "environment": "production"}],
}
VARIABLES = {"OPS_SLACK_URL": "https://hooks.slack.invalid/services/T0/B0/secret"}


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    with TestClient(app_for(database_url)) as test_client:
        yield test_client


def _post(client: TestClient, action: str, **body: Any) -> Any:
    payload = {"document": DOCUMENT, "variables": VARIABLES, **body}
    return client.post(f"/api/v1/state/{action}", json=payload, headers=bearer(ADMIN))


def test_plan_apply_export(client: TestClient) -> None:
    planned = _post(client, "plan")
    assert planned.status_code == 200, planned.text
    kinds = [(c["action"], c["kind"]) for c in planned.json()["changes"]]
    assert kinds == [
        ("create", "environment"),
        ("create", "flag"),
        ("create", "flag_state"),
        ("create", "channel"),
        ("update", "deploy"),
    ]
    assert VARIABLES["OPS_SLACK_URL"] not in planned.text
    applied = _post(client, "apply")
    assert applied.json()["applied"] is True
    assert _post(client, "plan").json()["changes"] == []
    exported = client.get("/api/v1/state/export", headers=bearer(ADMIN)).json()
    assert exported["channels"]["ops"]["url"] == "${OPS_URL}"
    assert VARIABLES["OPS_SLACK_URL"] not in str(exported)
    again = client.post(
        "/api/v1/state/plan",
        json={"document": exported, "variables": {"OPS_URL": VARIABLES["OPS_SLACK_URL"]}},
        headers=bearer(ADMIN),
    )
    assert again.json()["changes"] == []
    # a new secret is a change, shown masked
    rotated = client.post(
        "/api/v1/state/plan",
        json={"document": exported, "variables": {"OPS_URL": "https://hooks.slack.invalid/new"}},
        headers=bearer(ADMIN),
    ).json()["changes"]
    assert rotated[0]["fields"] == [{"path": "url", "before": "(secret)", "after": "(new secret)"}]
    settings = client.get("/api/v1/state/settings", headers=bearer(ADMIN)).json()
    assert settings["deploy"] == DOCUMENT["deploy"]


def test_problems_are_422_with_every_issue(client: TestClient) -> None:
    document = {
        "flags": {"f": {"environments": {"nowhere": {}}}},
        "channels": {"ops": {"type": "slack", "url": "https://in.clear/secret"}},
    }
    answer = client.post("/api/v1/state/plan", json={"document": document}, headers=bearer(ADMIN))
    assert answer.status_code == 422
    paths = {issue["path"] for issue in answer.json()["error"]["details"]["issues"]}
    assert paths == {"flags.f.environments.nowhere", "channels.ops.url"}


def test_admin_only(client: TestClient) -> None:
    writer = make_token(client, "write")
    answer = client.post("/api/v1/state/apply", json={"document": DOCUMENT}, headers=bearer(writer))
    assert answer.status_code == 403


def test_settings_are_versioned_audited_and_merged_per_environment(client: TestClient) -> None:
    defaults = {
        "production": {"rollout": {"min_samples": 500}},
        "staging": {"rollout": {"min_samples": 50}},
    }
    environments = {"production": {"production": True}, "staging": {}}
    document = {"environments": environments, "defaults": defaults, "deploy": DOCUMENT["deploy"]}
    admin = bearer(ADMIN)
    first = client.post("/api/v1/state/apply", json={"document": document}, headers=admin)
    assert first.status_code == 200, first.text
    again = client.post("/api/v1/state/apply", json={"document": document}, headers=admin)
    assert again.json()["changes"] == []
    # an apply limited to staging changes staging's defaults only, and not the deploy rules
    staging_only = {
        "environments": environments,
        "defaults": {"staging": {"rollout": {"min_samples": 80}}, "production": {}},
        "deploy": [],
    }
    scoped = client.post(
        "/api/v1/state/apply",
        json={"document": staging_only, "environment": "staging"},
        headers=admin,
    )
    assert scoped.status_code == 200, scoped.text
    settings = client.get("/api/v1/state/settings", headers=admin).json()
    assert settings["defaults"]["production"]["rollout"]["min_samples"] == 500
    assert settings["defaults"]["staging"]["rollout"]["min_samples"] == 80
    assert settings["deploy"] == DOCUMENT["deploy"]
    audit = client.get("/api/v1/audit", params={"target_type": "setting"}, headers=admin).json()
    rows = audit["items"] if isinstance(audit, dict) else audit
    assert sorted((row["action"], row["target"]) for row in rows) == [
        ("setting.create", "defaults"),
        ("setting.create", "deploy"),
        ("setting.update", "defaults"),
    ]
