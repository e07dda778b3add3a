"""The state document: every problem by path, the diff, the file form (pure, no I/O)."""

from __future__ import annotations

from typing import Any

import pytest

from rollwise.core.state_document import (
    StateDocument,
    diff_states,
    parse_state_document,
    state_path,
    variable_references,
)
from rollwise.errors import ConfigError

FLAG: dict[str, Any] = {
    "variants": ["legacy", "domain"],
    "environments": {"prod": {"split": {"legacy": 9000, "domain": 1000}}},
}


def _issues(data: Any) -> dict[str, str]:
    with pytest.raises(ConfigError) as caught:
        parse_state_document(data)
    return {issue.path: issue.reason for issue in caught.value.issues}


def test_state_path() -> None:
    assert state_path("flags", "checkout", "rules", 2, "conditions", 0, "op") == (
        "flags.checkout.rules[2].conditions[0].op"
    )


def test_every_problem_is_listed_by_path() -> None:
    issues = _issues(
        {
            "version": 2,
            "extra": 1,
            "environments": {"prod": {"production": "maybe"}, "bad name!": {}},
            "flags": {
                "checkout": {
                    "variants": ["a", "b"],
                    "environments": {
                        "prod": {
                            "split": {"a": 1, "b": 2},
                            "rules": [
                                {"id": "r", "conditions": [{"attribute": "x", "op": "equals"}]},
                                {"id": "s", "variant": "c"},
                            ],
                        }
                    },
                },
                "other": {"variants": []},
            },
            "alerts": {"al": {"environment": "prod", "metric": "error_rate", "threshold": 3}},
            "defaults": {"prod": {"rollout": {"strategy": {"type": "zigzag"}}}},
            "deploy": [{"ref": "main", "environment": "prod"}, {"ref": "refs/x"}],
        }
    )
    assert issues["version"].startswith("unsupported version")
    assert issues["extra"].startswith("unknown section")
    assert "environments.prod.production" in issues
    assert issues["environments.bad name!"] == "invalid name"
    op = "flags.checkout.environments.prod.rules[0].conditions[0].op"
    assert issues[op].startswith("unknown operator 'equals'")
    assert "weights sum to 3" in issues["flags.checkout.environments.prod.split"]
    assert "unknown variant 'c'" in issues["flags.checkout.environments.prod.rules[1].variant"]
    assert "flags.other.variants" in issues
    assert "fraction" in issues["alerts.al.threshold"]
    assert any(path.startswith("defaults.prod.rollout.strategy") for path in issues)
    assert "deploy[0].ref" in issues
    assert "deploy[1].environment" in issues


def test_alert_variants_must_belong_to_the_flag() -> None:
    issues = _issues(
        {
            "flags": {"checkout": FLAG},
            "alerts": {
                "al": {
                    "environment": "prod",
                    "flag": "checkout",
                    "variant": "nope",
                    "metric": "error_rate",
                    "threshold": 0.1,
                }
            },
        }
    )
    assert issues == {"alerts.al.variant": "unknown variant 'nope' of flag 'checkout'"}


def test_diff_creates_updates_and_leaves_the_rest() -> None:
    current = parse_state_document(
        {"environments": {"prod": {}, "other": {}}, "flags": {"checkout": FLAG}}
    )
    changed = {**FLAG, "environments": {"prod": {"split": {"legacy": 5000, "domain": 5000}}}}
    desired = parse_state_document(
        {
            "environments": {"prod": {}, "staging": {"production": False}},
            "flags": {"checkout": changed},
            "deploy": [{"ref": "refs/heads/main", "environment": "staging"}],
        }
    )
    changes = diff_states(current, desired)
    assert [(c.action, c.kind, c.key) for c in changes] == [
        ("create", "environment", "staging"),
        ("update", "flag_state", "checkout"),
        ("update", "deploy", "rules"),
    ]
    split = changes[1].fields
    assert [(f.path, f.before, f.after) for f in split] == [
        ("split.legacy", 9000, 5000),
        ("split.domain", 1000, 5000),
    ]
    assert diff_states(desired, desired) == []
    # one environment only: staging's creation and the deploy rules are out of scope
    assert [c.kind for c in diff_states(current, desired, "prod")] == ["flag_state"]


def test_file_form_round_trips() -> None:
    data = {
        "environments": {"prod": {"production": True}},
        "flags": {"checkout": FLAG},
        "alerts": {
            "al": {"environment": "prod", "metric": "latency_p95", "threshold": 0.5, "for": "2m"}
        },
        "defaults": {
            "prod": {
                "rollout": {"strategy": {"type": "canary", "steps": ["10%/1h", "100%"]}},
                "release": {"strategy": {"type": "blue_green"}},
            }
        },
        "deploy": [{"ref": "refs/tags/v*", "environment": "prod"}],
    }
    document = parse_state_document(data)
    again = parse_state_document(document.to_data())
    assert again == document
    assert diff_states(document, again) == []
    assert document.to_data()["alerts"]["al"]["for"] == 120.0


def test_variable_references() -> None:
    data = {"channels": {"ops": {"url": "${OPS_URL}", "headers": {"A": "Bearer ${TOK}"}}}}
    assert sorted(variable_references(data)) == [
        ("channels.ops.headers.A", "TOK"),
        ("channels.ops.url", "OPS_URL"),
    ]


def test_schema_names_every_section() -> None:
    schema = StateDocument.model_json_schema(by_alias=True)
    assert {"environments", "flags", "channels", "alerts", "defaults", "deploy"} <= set(
        schema["properties"]
    )
