"""``GET /api/v1/monitoring/doctor`` through the app: read tokens, the report, errors."""

from __future__ import annotations

from fastapi.testclient import TestClient

from rollwise.store import Store

from ..server._support import ADMIN, app_for, bearer, make_token, seed
from ._plant import dead_notification

PATH = "/api/v1/monitoring/doctor"


def test_the_doctor_endpoint_reports_findings_to_a_read_token(database_url: str) -> None:
    app = app_for(database_url)
    with TestClient(app) as client:
        seed(client)
        reader = bearer(make_token(client, "read"))
        healthy = client.get(PATH, params={"environment": "production"}, headers=reader)
        assert healthy.status_code == 200, healthy.text
        body = healthy.json()
        assert body["status"] == "healthy"
        assert body["findings"] == []
        assert body["environments"] == ["production"]
        assert "stale_revision" in body["checks"]
        every = client.get(PATH, headers=reader).json()
        assert sorted(every["environments"]) == ["production", "staging"]

        store: Store = app.state.store
        dead_notification(store)
        problems = client.get(PATH, headers=reader).json()
        assert problems["status"] == "problems"
        [finding] = problems["findings"]
        assert finding["code"] == "outbox.dead"
        assert finding["severity"] == "error"
        assert finding["environment"] is None
        assert set(finding) >= {"code", "severity", "subject", "message", "fix", "details"}


def test_the_doctor_endpoint_answers_errors_as_json(database_url: str) -> None:
    with TestClient(app_for(database_url)) as client:
        seed(client)
        unknown = client.get(PATH, params={"environment": "nope"}, headers=bearer(ADMIN))
        assert unknown.status_code == 404
        assert unknown.json()["error"]["code"] == "not_found"
        assert client.get(PATH).status_code == 401
        sdk = bearer(make_token(client, "sdk", "production"))
        assert client.get(PATH, headers=sdk).status_code == 403
