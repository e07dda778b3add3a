"""GET /api/v1/rollouts/{id}/evaluations on both databases: the controller's judgements over
time, oldest first, paged by seq, for a read token; and retention of finished rollouts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from rollwise.core.rollout import CONTROLLER_ACTOR
from rollwise.server._retention import purge_once
from rollwise.store import Store

from ._support import ADMIN, SPEC, bearer, error, make_token, seed

ADMIN_H = bearer(ADMIN)
T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def started(client: TestClient) -> dict[str, Any]:
    seed(client)
    response = client.post("/api/v1/rollouts", json={**SPEC, "start": True}, headers=ADMIN_H)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def judge_every_minute(database_url: str, rollout_id: int, minutes: int) -> None:
    """The controller's looks, one a minute (each one kept), the last one a rollback."""
    store = Store(database_url)
    try:
        with store.transaction(CONTROLLER_ACTOR) as tx:
            for minute in range(minutes):
                tx.rollouts.record_judgement(
                    rollout_id,
                    decision="hold",
                    verdict="pass",
                    reason=f"baking, minute {minute}",
                    evidence={"gates": [{"gate": "error_rate", "verdict": "pass"}]},
                    at=T0 + timedelta(minutes=minute),
                )
    finally:
        store.close()


def test_a_read_token_pages_through_the_evaluations_oldest_first(
    client: TestClient, database_url: str
) -> None:
    rollout = started(client)
    judge_every_minute(database_url, rollout["id"], 5)
    reader = bearer(make_token(client, "read"))
    url = f"/api/v1/rollouts/{rollout['id']}/evaluations"

    first = client.get(url, params={"limit": 2}, headers=reader)
    assert first.status_code == 200, first.text
    page = first.json()
    assert [e["seq"] for e in page] == [1, 2]
    assert set(page[0]) == {
        "rollout_id", "seq", "at", "step", "attempt", "rollout_version", "decision",
        "verdict", "reason", "evidence",
    }  # fmt: skip
    assert (page[0]["decision"], page[0]["verdict"], page[0]["reason"]) == (
        "hold",
        "pass",
        "baking, minute 0",
    )
    assert page[0]["evidence"]["gates"][0]["gate"] == "error_rate"
    assert datetime.fromisoformat(page[1]["at"]) == T0 + timedelta(minutes=1)

    rest = client.get(url, params={"since": 2}, headers=reader).json()
    assert [e["seq"] for e in rest] == [3, 4, 5]
    assert client.get(url, params={"since": 5}, headers=reader).json() == []
    assert client.get(url, headers=reader).json() == page + rest


def test_errors_are_json(client: TestClient) -> None:
    rollout = started(client)
    url = f"/api/v1/rollouts/{rollout['id']}/evaluations"
    error(client.get(url), 401, "unauthorized")
    error(client.get("/api/v1/rollouts/999/evaluations", headers=ADMIN_H), 404, "not_found")
    error(client.get(url, params={"limit": 0}, headers=ADMIN_H), 422, "validation_error")
    error(client.get(url, params={"since": -1}, headers=ADMIN_H), 422, "validation_error")
    assert client.get(url, headers=ADMIN_H).json() == []  # not judged yet


def test_retention_drops_the_evaluations_of_rollouts_finished_long_ago(
    client: TestClient, database_url: str
) -> None:
    rollout = started(client)
    judge_every_minute(database_url, rollout["id"], 3)
    url = f"/api/v1/rollouts/{rollout['id']}"
    aborted = client.post(f"{url}/abort", json={"version": rollout["version"]}, headers=ADMIN_H)
    assert aborted.status_code == 200, aborted.text

    today = Store(database_url)
    try:
        assert purge_once(today).deleted["rollout_evaluations"] == 0  # finished just now
    finally:
        today.close()
    finished_at = datetime.fromisoformat(aborted.json()["updated_at"])
    later = finished_at + timedelta(days=91)  # beyond keep_1h (90 days by default)
    much_later = Store(database_url, clock=lambda: later)
    try:
        assert purge_once(much_later).deleted["rollout_evaluations"] == 3
    finally:
        much_later.close()
    assert client.get(f"{url}/evaluations", headers=ADMIN_H).json() == []
