"""/api/v1/alert-rules on both databases: CRUD, versions, errors, events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from rollwise.application import observe_alert
from rollwise.store import Store

from ._support import ADMIN, bearer, error, make_token, seed

ADMIN_H = bearer(ADMIN)
RULE: dict[str, Any] = {
    "name": "checkout-errors",
    "environment": "production",
    "flag": "checkout",
    "metric": "error_rate",
    "threshold": 0.05,
    "window": "5m",
    "for": "2m",
    "severity": "critical",
}


def test_alert_rules_crud(client: TestClient) -> None:
    seed(client)
    created = client.post("/api/v1/alert-rules", json=RULE, headers=ADMIN_H)
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["window"], body["for"], body["state"], body["version"]) == (
        300.0,
        120.0,
        "inactive",
        1,
    )
    assert created.headers["ETag"] == '"1"'
    url = "/api/v1/alert-rules/checkout-errors"
    patched = client.patch(
        url, json={"threshold": 0.1, "for": "1m"}, headers={**ADMIN_H, "If-Match": '"1"'}
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["threshold"], patched.json()["for"], patched.json()["version"]) == (
        0.1,
        60.0,
        2,
    )
    cleared = client.patch(url, json={"flag": None, "version": 2}, headers=ADMIN_H)
    assert cleared.json()["flag"] is None
    listed = client.get(
        "/api/v1/alert-rules?environment=production&state=inactive", headers=ADMIN_H
    )
    assert [r["name"] for r in listed.json()] == ["checkout-errors"]
    assert client.get("/api/v1/alert-rules?flag=checkout", headers=ADMIN_H).json() == []
    assert client.get(url, headers=ADMIN_H).json()["version"] == 3
    error(client.delete(url, headers={**ADMIN_H, "If-Match": "2"}), 409, "conflict")
    assert client.delete(url, headers={**ADMIN_H, "If-Match": "3"}).status_code == 204
    error(client.get(url, headers=ADMIN_H), 404, "not_found")
    audit = client.get("/api/v1/audit?target_type=alert_rule", headers=ADMIN_H).json()
    assert [a["action"] for a in audit] == [
        "alert_rule.delete",
        "alert_rule.update",
        "alert_rule.update",
        "alert_rule.create",
    ]


def test_alert_rule_errors(client: TestClient) -> None:
    seed(client)
    bad = error(
        client.post("/api/v1/alert-rules", json={**RULE, "threshold": 5}, headers=ADMIN_H),
        422,
        "invalid_config",
    )
    assert bad["details"]["issues"][0]["path"] == "threshold"
    variant = error(
        client.post("/api/v1/alert-rules", json={**RULE, "variant": "domian"}, headers=ADMIN_H),
        422,
        "invalid_config",
    )
    assert variant["details"]["issues"][0]["path"] == "variant"
    error(
        client.post("/api/v1/alert-rules", json={**RULE, "environment": "nope"}, headers=ADMIN_H),
        404,
        "not_found",
    )
    error(
        client.post("/api/v1/alert-rules", json={**RULE, "for": "soon"}, headers=ADMIN_H),
        422,
        "validation_error",
    )
    assert client.post("/api/v1/alert-rules", json=RULE, headers=ADMIN_H).status_code == 201
    error(client.post("/api/v1/alert-rules", json=RULE, headers=ADMIN_H), 409, "conflict")
    url = "/api/v1/alert-rules/checkout-errors"
    error(client.patch(url, json={"threshold": 0.2}, headers=ADMIN_H), 428, "version_required")
    stale = error(
        client.patch(url, json={"threshold": 0.2, "version": 9}, headers=ADMIN_H), 409, "conflict"
    )
    assert stale["details"]["current_version"] == 1
    error(client.get("/api/v1/alert-rules/nope/events", headers=ADMIN_H), 404, "not_found")
    reader = bearer(make_token(client, "read"))
    assert client.get(url, headers=reader).status_code == 200
    error(client.patch(url, json={"version": 1}, headers=reader), 403, "forbidden")


def test_events_are_listed_newest_first(client: TestClient, database_url: str) -> None:
    seed(client)
    assert client.post("/api/v1/alert-rules", json=RULE, headers=ADMIN_H).status_code == 201
    start = datetime.now(UTC)
    store = Store(database_url)
    try:
        with store.transaction("controller") as tx:
            for minutes, breached in ((0, True), (3, True), (4, False)):
                observe_alert(
                    tx,
                    "checkout-errors",
                    breached=breached,
                    at=start + timedelta(minutes=minutes),
                    value=0.07 if breached else 0.01,
                )
    finally:
        store.close()
    events = client.get("/api/v1/alert-rules/checkout-errors/events", headers=ADMIN_H).json()
    assert [(e["from_state"], e["to_state"]) for e in events] == [
        ("firing", "resolved"),
        ("pending", "firing"),
        ("inactive", "pending"),
    ]
    page = client.get(
        f"/api/v1/alert-rules/checkout-errors/events?limit=1&before_id={events[0]['id']}",
        headers=ADMIN_H,
    ).json()
    assert [e["to_state"] for e in page] == ["firing"]
    rule = client.get("/api/v1/alert-rules/checkout-errors", headers=ADMIN_H).json()
    assert (rule["state"], rule["last_value"]) == ("resolved", 0.01)


def test_a_rule_has_a_minimum_sample(client: TestClient) -> None:
    seed(client)
    created = client.post("/api/v1/alert-rules", json=RULE, headers=ADMIN_H)
    assert created.status_code == 201, created.text
    assert created.json()["min_samples"] == 100  # the documented default
    assert created.json()["last_reason"] is None
    url = "/api/v1/alert-rules/checkout-errors"
    patched = client.patch(url, json={"min_samples": 500, "version": 1}, headers=ADMIN_H)
    assert patched.status_code == 200, patched.text
    assert patched.json()["min_samples"] == 500
    kept = client.patch(url, json={"min_samples": None, "version": 2}, headers=ADMIN_H)
    assert kept.json()["min_samples"] == 500  # null does not clear a required field
    refused = client.post(
        "/api/v1/alert-rules", json={**RULE, "name": "zero", "min_samples": 0}, headers=ADMIN_H
    )
    assert refused.status_code == 422, refused.text
    assert "min_samples" in refused.json()["error"]["message"]
