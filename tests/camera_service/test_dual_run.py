"""Alert-rule reads run on both implementations and are compared, whichever is selected."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import yaml
from camera_service.settings import Settings

from ._support import serve


def test_reads_are_compared_and_match_on_either_variant(
    settings_for: Callable[..., Settings], variant: str
) -> None:
    with serve(settings_for(), variant) as api:
        assert api.get("/alerts/rules").status_code == 200
        assert api.get("/alerts/rules/stale-heartbeat").status_code == 200
        assert api.get("/alerts/rules/ghost").status_code == 404  # both 404 alike: a match
        api.get("/cameras/lobby/status")  # not an alert-rule read: never run twice
        comparisons = api.stats()["comparisons"]
        samples = api.client.app.state.services.runner.drain()["samples"]  # type: ignore[attr-defined]
    assert comparisons["alerts.list_rules"] == {"match": 1}
    assert comparisons["alerts.get_rule"] == {"match": 2}
    assert "cameras.status" not in comparisons or variant == "domain"
    assert samples == []


def test_a_rule_only_legacy_understands_shows_up_as_a_mismatch(
    settings_for: Callable[..., Settings], config_dir: Path
) -> None:
    with serve(settings_for(), "legacy") as api:
        # a hand-written rule without defaults: legacy returns it raw, the domain fills in
        path = config_dir / "alert_rules.yaml"
        data = yaml.safe_load(path.read_text())
        data["rules"].append({"id": "terse", "metric": "fps", "threshold": 1})
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        answer = api.get("/alerts/rules/terse").json()
        assert answer == {"id": "terse", "metric": "fps", "threshold": 1}
        # then legacy stores a rule the domain model refuses: the domain read now raises
        loose = api.post("/alerts/rules", json={"id": "loose", "metric": "fps", "threshold": "9"})
        assert loose.status_code == 201, loose.text
        assert api.get("/alerts/rules").status_code == 200
        comparisons = api.stats()["comparisons"]
        report = api.client.app.state.services.runner.drain()  # type: ignore[attr-defined]
    assert comparisons["alerts.get_rule"] == {"mismatch": 1}
    assert comparisons["alerts.list_rules"] == {"candidate_error": 1}
    outcomes = sorted(sample["outcome"] for sample in report["samples"])
    assert outcomes == ["candidate_error", "mismatch"]


def test_sampling_zero_runs_only_the_primary(settings_for: Callable[..., Settings]) -> None:
    with serve(settings_for(compare_sample=0.0), "legacy") as api:
        api.get("/alerts/rules")
        assert api.stats()["comparisons"] == {"alerts.list_rules": {"skipped_sampling": 1}}
