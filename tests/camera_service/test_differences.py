"""Where the implementations differ: input legacy accepts and the domain service refuses.

Each case is the README's table row: the request, what legacy answers (2xx, and what it did)
and the domain service's 4xx JSON error. A refused request changes nothing (the YAML files
are byte for byte the same afterwards).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from camera_service.settings import Settings

from ._support import Api, alive, serve


@dataclass(frozen=True)
class Case:
    id: str
    method: str
    path: str
    body: Any = None
    params: dict[str, str] | None = None
    legacy_status: int = 200
    legacy_check: Callable[[Any], bool] = lambda body: True
    domain_status: int = 422
    domain_code: str = "invalid_input"


def _rule(**fields: Any) -> dict[str, Any]:
    return {"id": "new-rule", "metric": "fps", "threshold": 10, **fields}


CASES = [
    Case(
        "start-inactive-camera",
        "POST",
        "/cameras/server-room/start",
        legacy_check=lambda b: b["started"] is True and b["status"]["state"] == "running",
        domain_status=409,
        domain_code="camera_inactive",
    ),
    Case(
        "restart-inactive-camera",
        "POST",
        "/cameras/server-room/restart",
        legacy_check=lambda b: b["status"]["state"] == "running",
        domain_status=409,
        domain_code="camera_inactive",
    ),
    Case(
        "auto-start-on-inactive-camera",
        "PUT",
        "/cameras/server-room/auto-start",
        {"auto_start": True},
        legacy_check=lambda b: b["camera"] == {**b["camera"], "active": False, "auto_start": True},
        domain_status=409,
        domain_code="camera_inactive",
    ),
    Case(
        "auto-start-not-a-boolean",
        "PUT",
        "/cameras/parking-north/auto-start",
        {"auto_start": "false"},
        legacy_check=lambda b: b["camera"]["auto_start"] is True,  # bool("false")
    ),
    Case(
        "auto-start-missing",
        "PUT",
        "/cameras/parking-north/auto-start",
        {},
        legacy_check=lambda b: b["camera"]["auto_start"] is True,
    ),
    Case(
        "batch-status-unknown-ids",
        "POST",
        "/cameras/batch-status",
        {"camera_ids": ["lobby", "ghost"]},
        legacy_check=lambda b: b["cameras"][1] == {"camera_id": "ghost", "state": "unknown"},
        domain_status=404,
        domain_code="unknown_cameras",
    ),
    Case(
        "batch-status-without-ids",
        "POST",
        "/cameras/batch-status",
        {},
        legacy_check=lambda b: len(b["cameras"]) == 4,
    ),
    Case(
        "batch-status-duplicate-ids",
        "POST",
        "/cameras/batch-status",
        {"camera_ids": ["lobby", "lobby"]},
        legacy_check=lambda b: len(b["cameras"]) == 2,
        domain_code="duplicate_camera_ids",
    ),
    Case("logs-zero-lines", "GET", "/cameras/lobby/logs", params={"lines": "0"}),
    Case("logs-negative-lines", "GET", "/cameras/lobby/logs", params={"lines": "-3"}),
    Case("logs-too-many-lines", "GET", "/cameras/lobby/logs", params={"lines": "5000"}),
    Case(
        "rule-threshold-out-of-range",
        "POST",
        "/alerts/rules",
        _rule(metric="cpu_percent", threshold=250),
        legacy_status=201,
        legacy_check=lambda b: b["threshold"] == 250,
    ),
    Case(
        "rule-threshold-not-a-number",
        "POST",
        "/alerts/rules",
        _rule(threshold="90"),
        legacy_status=201,
        legacy_check=lambda b: b["threshold"] == "90",
    ),
    Case(
        "rule-unknown-metric",
        "POST",
        "/alerts/rules",
        _rule(metric="temperature"),
        legacy_status=201,
    ),
    Case(
        "rule-unknown-severity",
        "POST",
        "/alerts/rules",
        _rule(severity="urgent"),
        legacy_status=201,
    ),
    Case(
        "rule-unknown-camera",
        "POST",
        "/alerts/rules",
        _rule(camera_id="ghost"),
        legacy_status=201,
        domain_code="unknown_camera",
    ),
    Case(
        "rule-unknown-field",
        "POST",
        "/alerts/rules",
        _rule(escalate_to="ops"),
        legacy_status=201,
        legacy_check=lambda b: "escalate_to" not in b,  # silently dropped
    ),
    Case(
        "rule-duplicate-id",
        "POST",
        "/alerts/rules",
        _rule(id="lobby-low-fps"),
        legacy_status=201,
        legacy_check=lambda b: b["threshold"] == 10,  # the old rule is silently replaced
        domain_status=409,
        domain_code="duplicate_rule",
    ),
    Case(
        "rule-update-creates-a-missing-rule",
        "PUT",
        "/alerts/rules/ghost-rule",
        {"metric": "fps", "threshold": 3},
        legacy_check=lambda b: b["id"] == "ghost-rule",
        domain_status=404,
        domain_code="alert_rule_not_found",
    ),
    Case(
        "rule-update-renames",
        "PUT",
        "/alerts/rules/lobby-low-fps",
        {"id": "renamed"},
        legacy_check=lambda b: b["id"] == "renamed",
        domain_code="rule_id_mismatch",
    ),
    Case(
        "rule-update-out-of-range",
        "PUT",
        "/alerts/rules/lobby-low-fps",
        {"threshold": 1000},
        legacy_check=lambda b: b["threshold"] == 1000,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_legacy_accepts(case: Case, settings_for: Callable[..., Settings]) -> None:
    with serve(settings_for(), "legacy") as api:
        response = _send(api, case)
        assert response.status_code == case.legacy_status, response.text
        assert case.legacy_check(response.json()), response.json()


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_domain_refuses_and_changes_nothing(
    case: Case, settings_for: Callable[..., Settings], config_dir: Path
) -> None:
    before = {path.name: path.read_bytes() for path in config_dir.glob("*.yaml")}
    with serve(settings_for(), "domain") as api:
        response = _send(api, case)
        assert response.status_code == case.domain_status, response.text
        error = response.json()["error"]
        assert error["code"] == case.domain_code
        assert error["message"]
        assert isinstance(error["details"], dict)
        statuses = api.post("/cameras/batch-status", json={"camera_ids": ["server-room"]})
        assert statuses.json()["cameras"][0]["state"] == "stopped"
    assert {path.name: path.read_bytes() for path in config_dir.glob("*.yaml")} == before


def test_a_validation_error_names_the_field(settings_for: Callable[..., Settings]) -> None:
    with serve(settings_for(), "domain") as api:
        response = api.post("/alerts/rules", json=_rule(threshold=250, metric="cpu_percent"))
    assert response.status_code == 422
    problems = response.json()["error"]["details"]["problems"]
    assert problems == [
        {"field": "threshold", "reason": "Value error, out of range for cpu_percent (0 to 100)"}
    ]


def test_legacy_started_inactive_camera_is_visible_and_stoppable_through_domain(
    settings_for: Callable[..., Settings],
) -> None:
    settings = settings_for(rollout_percent=50.0)
    with serve(settings) as api:
        legacy_client, domain_client = _one_client_per_variant(api)
        started = api.post("/cameras/server-room/start", headers=legacy_client)
        assert started.headers["x-camera-variant"] == "legacy"
        pid = started.json()["status"]["pid"]
        seen = api.get("/cameras/server-room/status", headers=domain_client)
        assert seen.headers["x-camera-variant"] == "domain"
        assert seen.json()["state"] == "running"
        assert seen.json()["pid"] == pid
        stopped = api.post("/cameras/server-room/stop", headers=domain_client)
        assert stopped.json()["stopped"] is True
        assert not alive(pid)


BOTH_REFUSE = [
    ("GET", "/cameras/lobby/logs", None, {"lines": "abc"}),
    ("POST", "/cameras/batch-status", [1], None),
    ("PUT", "/cameras/lobby/auto-start", [1], None),
    ("POST", "/alerts/rules", {"metric": "fps", "threshold": 3}, None),
    ("POST", "/alerts/rules", {"id": "no-metric", "threshold": 3}, None),
]


@pytest.mark.parametrize(("variant", "status", "code"), [
    ("legacy", 400, "bad_request"),
    ("domain", 422, "invalid_input"),
])  # fmt: skip
def test_input_both_refuse_is_a_400_on_legacy_and_a_422_on_domain(
    variant: str, status: int, code: str, settings_for: Callable[..., Settings]
) -> None:
    with serve(settings_for(), variant) as api:
        for method, path, body, params in BOTH_REFUSE:
            response = api.request(method, path, json=body, params=params)
            assert response.status_code == status, (path, response.text)
            assert response.json()["error"]["code"] == code


def test_rules_legacy_stored_that_domain_refuses_make_domain_fall_back_counted(
    settings_for: Callable[..., Settings],
) -> None:
    with serve(settings_for(rollout_percent=50.0)) as api:
        legacy_client, domain_client = _one_client_per_variant(api)
        stored = api.post(
            "/alerts/rules", json=_rule(metric="cpu_percent", threshold=500), headers=legacy_client
        )
        assert stored.status_code == 201
        listed = api.get("/alerts/rules", headers=domain_client)
        assert (listed.headers["x-camera-variant"], listed.headers["x-served-by"]) == (
            "domain",
            "legacy",
        )
        assert "new-rule" in [rule["id"] for rule in listed.json()["rules"]]
        updated = api.put(
            "/alerts/rules/lobby-low-fps", json={"threshold": 4}, headers=domain_client
        )
        assert updated.headers["x-served-by"] == "legacy"
        fallbacks = api.get("/internal/stats").json()["fallbacks"]["by_operation"]
        assert fallbacks == {"alerts.list_rules": 1, "alerts.update_rule": 1}


def _one_client_per_variant(api: Api) -> tuple[dict[str, str], dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    for number in range(200):
        headers = {"X-Client-Id": f"client-{number}"}
        variant = api.get("/alerts/rules", headers=headers).headers["x-camera-variant"]
        found.setdefault(variant, headers)
        if len(found) == 2:
            return found["legacy"], found["domain"]
    raise AssertionError("no client id for each variant among 200")


def _send(api: Api, case: Case) -> Any:
    return api.request(case.method, case.path, json=case.body, params=case.params)
