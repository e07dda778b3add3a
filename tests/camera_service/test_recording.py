"""Every camera and alert-rule request is recorded under the variant that served it.

The invariant a rollout's judge relies on: the variant the middleware recorded for a
request is the one in its ``X-Camera-Variant`` header, whichever path decided it; faults
show up as that variant's errors; a fallback is recorded under ``domain`` (selected) with
legacy's status, and counted as a ``fallback`` comparison that the reporter ships.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from camera_service.faults import FaultSpec
from camera_service.flags import FLAG
from camera_service.settings import Settings
from prometheus_client.parser import text_string_to_metric_families

from rollwise.sdk.override_tokens import OverrideSigner, generate_key

from ._support import Api, recorded, serve

KEY = generate_key()
SIGNER = OverrideSigner([KEY])
Outcomes = Counter[tuple[str, str]]


def _flag_file(directory: Path) -> Path:
    path = directory / "flags.yaml"
    state = {"enabled": True, "unit": "client_id", "split": {"legacy": 5000, "domain": 5000}}
    flag = {"key": FLAG, "variants": ["legacy", "domain"], "environments": {"production": state}}
    path.write_text(yaml.safe_dump({"flags": [flag]}))
    return path


def _outcome(status: int) -> str:
    return "error" if status >= 500 else "client_error" if status >= 400 else "success"


def _traffic(api: Api, clients: int, **request: Any) -> Outcomes:
    """Requests from ``clients`` clients on a mix of endpoints, bypassing the per-request
    check (so the recorder is read once, at the end): (variant, outcome) from responses."""
    served: Outcomes = Counter()
    for number in range(clients):
        headers = {"X-Client-Id": f"client-{number}", **request.get("headers", {})}
        params = request.get("params")
        for method, path in (
            ("GET", "/cameras/lobby/status"),
            ("GET", "/alerts/rules"),
            ("GET", "/alerts/rules/ghost"),
            ("POST", "/cameras/batch-status"),
        ):
            body = {"camera_ids": ["lobby", "nowhere"]} if method == "POST" else None
            response = api.client.request(
                method, "/api/v1" + path, headers=headers, params=params, json=body
            )
            served[(response.headers["x-camera-variant"], _outcome(response.status_code))] += 1
    return served


def _recorded(api: Api) -> Outcomes:
    found: Outcomes = Counter()
    for series in recorded(api.recorder):
        assert series.flag == FLAG
        found[(series.variant, "error")] += series.errors
        found[(series.variant, "client_error")] += series.client_errors
        found[(series.variant, "success")] += series.requests - series.errors - series.client_errors
    return +found  # without zeros


@pytest.mark.parametrize("path", ["flag", "force_domain", "use_domain_false", "percent"])
def test_each_selection_path_records_what_it_served(
    path: str, tmp_path: Path, settings_for: Callable[..., Settings]
) -> None:
    request: dict[str, Any] = {}
    if path == "flag":
        settings = settings_for(flags_file=_flag_file(tmp_path), rollout_percent=100.0)
    elif path == "force_domain":
        settings = settings_for(override_keys=(KEY,))
        # no subject: any client may use it
        token = SIGNER.sign(FLAG, "domain", ttl=600, environment="production")
        request = {"params": {"force_domain": "true", "rollwise_token": token}}
    elif path == "use_domain_false":
        settings = settings_for(
            use_domain_service=False, flags_file=_flag_file(tmp_path), override_keys=(KEY,)
        )
        token = SIGNER.sign(FLAG, "domain", ttl=600, environment="production")
        request = {"params": {"force_domain": "true", "rollwise_token": token}}
    else:
        settings = settings_for(rollout_percent=50.0)
    with serve(settings) as api:
        served = _traffic(api, 24, **request)
        assert _recorded(api) == served
    variants = {variant for variant, _ in served}
    expected = {
        "flag": {"legacy", "domain"},
        "force_domain": {"domain"},
        "use_domain_false": {"legacy"},
        "percent": {"legacy", "domain"},
    }
    assert variants == expected[path]
    assert all(served[(variant, "client_error")] for variant in variants)  # the ghost rule


def test_injected_errors_are_domain_errors(settings_for: Callable[..., Settings]) -> None:
    settings = settings_for(rollout_percent=50.0, fault=FaultSpec(error_rate=0.3))
    with serve(settings, random=random.Random(11).random) as api:
        served = _traffic(api, 30)
        assert _recorded(api) == served
    assert served[("domain", "error")] > 0
    assert served[("legacy", "error")] == 0


def test_a_fallback_is_recorded_under_domain_and_reported_as_a_comparison(
    settings_for: Callable[..., Settings],
) -> None:
    settings = settings_for(fault=FaultSpec(exception_rate=1.0))
    with serve(settings, "domain") as api:
        paths = ("/cameras/lobby/status", "/alerts/rules", "/alerts/rules/ghost")
        for path in paths:
            response = api.get(path)  # checks: recorded under domain, legacy's status
            assert response.headers["x-served-by"] == "legacy"
        stats = api.stats()
        report = api.services.runner.drain()  # what the reporter ships to the control plane
    assert stats["fallbacks"]["total"] == len(paths)
    fallbacks = {
        (row["name"], row["variant"]): row["counts"]["fallback"] for row in report["comparisons"]
    }
    assert fallbacks == {
        ("cameras.status", "domain"): 1,
        ("alerts.list_rules", "domain"): 1,
        ("alerts.get_rule", "domain"): 1,
    }
    assert {row["flag"] for row in report["comparisons"]} == {FLAG}


def test_operations_are_not_recorded(settings_for: Callable[..., Settings]) -> None:
    with serve(settings_for()) as api:
        for path in ("/metrics", "/api/v1/health", "/api/v1/internal/stats", "/openapi.json"):
            assert api.client.get(path).status_code == 200
        assert recorded(api.recorder) == []


def test_metrics_in_prometheus_format(settings_for: Callable[..., Settings]) -> None:
    settings = settings_for(rollout_percent=50.0, fault=FaultSpec(error_rate=0.3))
    with serve(settings, random=random.Random(5).random) as api:
        served = _traffic(api, 20)
        response = api.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    exported: Outcomes = Counter()
    for sample in families["rollwise_requests"].samples:
        assert sample.labels["flag"] == FLAG
        exported[(sample.labels["variant"], sample.labels["outcome"])] += int(sample.value)
    assert +exported == served
    counts = {
        s.labels["variant"]: int(s.value)
        for s in families["rollwise_request_duration_seconds"].samples
        if s.name.endswith("_count")
    }
    for variant in ("legacy", "domain"):
        assert counts[variant] == sum(n for (v, _), n in served.items() if v == variant)


def test_answers_no_handler_made_carry_the_variant_they_are_recorded_under(
    settings_for: Callable[..., Settings], config_dir: Path
) -> None:
    with serve(settings_for(), "legacy") as api:  # each request: header == recorded variant
        assert api.get("/no-such-endpoint").status_code == 404
        assert api.request("DELETE", "/cameras/lobby/status").status_code == 405
        (config_dir / "cameras.yaml").write_text("cameras: [unbalanced\n")
        crashed = api.get("/cameras/lobby/status")  # legacy cannot read its file: a bug
        assert crashed.status_code == 500
        assert crashed.json()["error"]["code"] == "internal_error"
